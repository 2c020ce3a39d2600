import { momentOfVariant, momentVariant } from '../../../app/api.js';
import type { Db } from '../catalogue/open.js';
import { makePreviews, type PreviewSource } from '../media/previews.js';
import type { Encoded } from './encode.js';

/**
 * Tile previews of what a run embedded (docs/architecture.md §7): thumbnails, posters at each
 * matched moment, waveforms. They are made one file at a time beside the encoder (ffmpeg and sharp
 * run outside the JS thread) and the run waits for the last of them, so results shown after a run
 * never start as grey tiles. A cancelled run drops what was not started; views make those lazily.
 */
export class PreviewQueue {
  private readonly waiting: PreviewSource[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly db: Db) {}

  /** Queues the previews of a written batch's new contents. */
  addBatch(batch: readonly Encoded[]): void {
    for (const e of batch) if ('vectors' in e) this.waiting.push(previewSource(e));
    this.kick();
  }

  /** Resolves when every queued preview is made. */
  async drained(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Drops what has not started; resolves when the one being made is done. */
  async stop(): Promise<void> {
    this.waiting.length = 0;
    await this.drained();
  }

  /** Starts working through the queue unless it is already, or there is nothing to do. */
  private kick(): void {
    if (this.running || this.waiting.length === 0) return;
    this.running = this.work().finally(() => {
      this.running = null;
      this.kick();
    });
  }

  private async work(): Promise<void> {
    for (let src = this.waiting.shift(); src; src = this.waiting.shift()) await makePreviews(this.db, src);
  }
}

/** A content's previews: a video's posters are taken at its clips' middles, as the grid asks for them. */
function previewSource(e: Extract<Encoded, { vectors: unknown }>): PreviewSource {
  const { hash, decoded, job } = e.prepared;
  if (decoded.kind !== 'video') return { hash, path: job.file.path, kind: decoded.kind };
  const momentsMs = e.vectors
    .filter((v) => v.segment.level === 'clip')
    .map((v) => momentOfVariant(momentVariant((v.segment.tStart + v.segment.tEnd) / 2))!);
  return { hash, path: job.file.path, kind: decoded.kind, momentsMs };
}
