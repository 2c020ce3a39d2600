import { stat } from 'node:fs/promises';
import type { MediaKind } from '../../../app/modality.js';
import type { PackManifest } from '../../../app/pack.js';
import { contentByHash, isEmbedded } from '../catalogue/contents.js';
import type { QueuedJob } from '../catalogue/files.js';
import type { IngestPorts } from './ports.js';
import { decodeFile, type Decoded } from '../modalities/segments.js';
import { contentHash } from './hash.js';
import { errorText } from './scan.js';
import { sniffFile } from './sniff.js';

/** A file read for encoding; `J` is the job it came from (the local queue's, or a shared catalogue's lease). */
export type Prepared<J = QueuedJob> =
  | { job: J; type: 'failed'; error: string; kind: MediaKind | null }
  | { job: J; type: 'reuse'; hash: string; contentId: number; kind: MediaKind }
  | { job: J; type: 'new'; hash: string; size: number; decoded: Decoded };

/** Content a catalogue already has vectors for, by hash: id and kind, or undefined. */
export type KnownContent = (hash: string) => Promise<{ id: number; kind: MediaKind } | undefined>;

/**
 * sniff → hash → decode for one queued file. Content already embedded by the writer pack is not
 * decoded again (a rename, a move, a copy). Any failure becomes a recorded reason, never a throw.
 */
export async function prepareJob(ports: IngestPorts, job: QueuedJob): Promise<Prepared> {
  const known: KnownContent = async (hash) => {
    const row = contentByHash(ports.db, hash);
    return row && isEmbedded(ports.db, row.id, ports.writer.id) ? row : undefined;
  };
  return prepareFile(job, job.file.path, ports.writer.pack.manifest, known);
}

/** The steps of prepareJob for any job and catalogue (docs/architecture.md §7, §13). */
export async function prepareFile<J>(
  job: J,
  file: string,
  manifest: PackManifest,
  known: KnownContent,
): Promise<Prepared<J>> {
  let kind: MediaKind | null = null;
  try {
    const size = await regularFileSize(file);
    kind = (await sniffFile(file)).kind;
    const hash = await contentHash(file);
    const reuse = await known(hash);
    if (reuse) return { job, type: 'reuse', hash, contentId: reuse.id, kind: reuse.kind };
    const decoded = await decodeFile(file, kind, manifest);
    return { job, type: 'new', hash, size, decoded };
  } catch (e) {
    return { job, type: 'failed', error: errorText(e), kind };
  }
}

/** Named pipes, sockets and devices would block or mislead a reader: refuse them up front. */
async function regularFileSize(file: string): Promise<number> {
  const s = await stat(file);
  if (!s.isFile()) throw new Error(`not a regular file (${describeSpecial(s)})`);
  if (s.size === 0) throw new Error('empty file (0 bytes)');
  return s.size;
}

function describeSpecial(s: Awaited<ReturnType<typeof stat>>): string {
  if (s.isFIFO()) return 'named pipe';
  if (s.isSocket()) return 'socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'device';
  if (s.isDirectory()) return 'directory';
  return 'special file';
}
