import { librarySettings } from '../catalogue/settings.js';
import { stat } from 'node:fs/promises';
import { emptySummary, type IndexProgress, type IndexSummary } from '../../../app/indexing.js';
import { collectGarbage } from '../catalogue/contents.js';
import {
  keepUnreachable,
  markUnseenMissing,
  nextJobs,
  queuedCount,
  recordSeen,
  requeueFailed,
  type QueuedJob,
  missingCount,
  liveFileCount,
} from '../catalogue/files.js';
import { listRoots, recordScanProblems, setRootStatus, type RootRow } from '../catalogue/roots.js';
import type { IngestPorts } from './ports.js';
import { encodeBatch } from './encode.js';
import { prepareJob, type Prepared } from './prepare.js';
import { PreviewQueue } from './previews.js';
import { walk, type WalkReport } from './scan.js';
import { addSummary, writeBatch } from './write.js';

export interface IndexOptions {
  signal?: AbortSignal;
  onProgress?: (p: IndexProgress) => void;
  /** Most files per decode → encode → write batch (also the commit size). */
  batchFiles?: number;
  /** Batches are sized so a commit lands about this often (default 2000 ms), whatever the files cost. */
  commitEveryMs?: number;
  /** Files decoded at once (ffmpeg and sharp run in their own threads and processes). */
  decodeConcurrency?: number;
  retryFailed?: boolean;
  /** Skip the scan and only drain the queue (resuming after a crash, a watcher's events). */
  skipScan?: boolean;
  /** Scan only these library folders (a drive that came back); default all. */
  roots?: readonly number[];
  /** Missing files stay this long before the garbage pass drops them (a watcher's moves); default 0. */
  missingGraceMs?: number;
}

export interface IndexResult {
  summary: IndexSummary;
  /** What the scans could not read, and what they passed over on purpose. */
  report: WalkReport;
  cancelled: boolean;
}

const SCAN_COMMIT = 500;
const EMPTY_ROOT =
  'the folder is empty but its files are in the catalogue: treated as not connected (an empty mount point?); remove the folder from the library if its files are really gone';

/** scan → sniff → hash → decode → batch → encode → write, resumable from the job queue at any point. */
export async function indexLibrary(ports: IngestPorts, opts: IndexOptions = {}): Promise<IndexResult> {
  const summary = emptySummary();
  const report: WalkReport = { unreadable: [], skipped: [] };
  const progress = new ProgressTracker(summary, opts.onProgress);
  if (opts.retryFailed) requeueFailed(ports.db);
  if (!opts.skipScan) {
    for (const root of listRoots(ports.db)) {
      if (opts.signal?.aborted) break;
      if (opts.roots && !opts.roots.includes(root.id)) continue;
      await scanRoot(ports, root, summary, report, progress);
    }
  }
  const cancelled = await drainQueue(ports, summary, progress, opts);
  if (!cancelled) {
    progress.phase('cleanup');
    summary.removed += cleanup(ports, opts.missingGraceMs ?? 0);
    ports.caughtUp();
  }
  progress.phase(cancelled ? 'cancelled' : 'done');
  return { summary, report, cancelled };
}

async function scanRoot(
  ports: IngestPorts,
  root: RootRow,
  summary: IndexSummary,
  report: WalkReport,
  progress: ProgressTracker,
): Promise<void> {
  const { db } = ports;
  const online = await stat(root.path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  // An unplugged drive is offline, not deleted: its files keep their embeddings.
  setRootStatus(db, root.id, online ? 'online' : 'offline');
  if (!online)
    return recordScanProblems(db, root.id, {
      unreadable: [{ path: root.path, error: 'not reachable (unplugged or unmounted?)' }],
      skipped: [],
    });
  const scanId = Date.now();
  let pending: Parameters<typeof recordSeen>[3][] = [];
  const flush = () => {
    db.transaction(() => {
      for (const f of pending) if (recordSeen(db, root.id, scanId, f) === 'unchanged') summary.skipped++;
    })();
    progress.scanned(pending.length, pending.at(-1)?.path ?? null);
    pending = [];
  };
  const mine: WalkReport = { unreadable: [], skipped: [] };
  let seen = 0;
  for await (const f of walk(root.path, mine, librarySettings(db))) {
    pending.push(f);
    seen++;
    if (pending.length >= SCAN_COMMIT) flush();
  }
  flush();
  // An empty folder where the catalogue knows files is an empty mount point (a drive not plugged
  // in under /mnt or /media), not a library emptied by hand: offline, nothing retired.
  if (seen === 0 && liveFileCount(db, root.id) > 0)
    mine.unreadable.push({ path: root.path, error: EMPTY_ROOT });
  report.unreadable.push(...mine.unreadable);
  report.skipped.push(...mine.skipped);
  // A root that cannot be listed at all is like an unplugged drive: offline, nothing retired.
  const rootUnreadable = mine.unreadable.some((p) => p.path === root.path);
  db.transaction(() => {
    recordScanProblems(db, root.id, mine);
    if (rootUnreadable) return setRootStatus(db, root.id, 'offline');
    keepUnreachable(
      db,
      root.id,
      scanId,
      mine.unreadable.map((p) => p.path),
    );
    markUnseenMissing(db, root.id, scanId);
    setRootStatus(db, root.id, 'online', scanId);
  })();
}

/**
 * Two stages overlap: while batch i is encoded and written, batch i+1 is decoded. Memory stays
 * bounded by two batches of tensors.
 */
async function drainQueue(
  ports: IngestPorts,
  summary: IndexSummary,
  progress: ProgressTracker,
  opts: IndexOptions,
) {
  const sizer = new BatchSizer(opts.batchFiles ?? 16, opts.commitEveryMs ?? 2000);
  const concurrency = opts.decodeConcurrency ?? 2;
  progress.startEmbedding(queuedCount(ports.db));
  let lastJob = 0;
  const take = () => {
    const jobs = nextJobs(ports.db, lastJob, sizer.size);
    if (jobs.length > 0) lastJob = jobs[jobs.length - 1].jobId;
    return jobs;
  };
  const decodeNext = () => prepareAll(ports, take(), concurrency, sizer.targetMs);
  const previews = new PreviewQueue(ports.db);
  let next = decodeNext();
  for (;;) {
    const { batch, unstarted } = await next;
    if (batch.length === 0) return previews.drained().then(() => false);
    if (opts.signal?.aborted) return previews.stop().then(() => true);
    // Jobs left when the batch's time ran out are taken again by the next batch.
    if (unstarted.length > 0) lastJob = unstarted[0].jobId - 1;
    next = decodeNext();
    const encoded = await encodeBatch(ports.writer, batch);
    const delta = writeBatch(ports, encoded);
    previews.addBatch(encoded);
    sizer.committed(batch.length);
    addSummary(summary, delta);
    progress.embedded(batch.length, batch.at(-1)!.job.file.path);
  }
}

/**
 * Commits by time as well as by count (docs/architecture.md §7): the first batch is one file, so a
 * run killed again and again still commits something each time; later batches hold as many files
 * as the recent pace fits into `targetMs` (a smoothed estimate, at most doubling per commit, as
 * photos and videos cost very different times), up to `max`.
 */
class BatchSizer {
  size = 1;
  private msPerFile: number | null = null;
  private last = performance.now();

  constructor(
    private readonly max: number,
    readonly targetMs: number,
  ) {}

  committed(files: number): void {
    const now = performance.now();
    const pace = Math.max((now - this.last) / files, 1);
    this.last = now;
    this.msPerFile = this.msPerFile === null ? pace : (this.msPerFile + pace) / 2;
    const fits = Math.max(1, Math.floor(this.targetMs / this.msPerFile));
    this.size = Math.min(this.max, 2 * this.size, fits);
  }
}

/**
 * Decodes a batch's jobs, `concurrency` at a time, starting no new one once `budgetMs` has passed
 * (after the first), so slow files shorten a batch rather than delay its commit.
 */
async function prepareAll(
  ports: IngestPorts,
  jobs: QueuedJob[],
  concurrency: number,
  budgetMs: number,
): Promise<{ batch: Prepared[]; unstarted: QueuedJob[] }> {
  const out: Prepared[] = [];
  const started = performance.now();
  let at = 0;
  const worker = async () => {
    while (at < jobs.length && (at === 0 || performance.now() - started < budgetMs)) {
      const i = at++;
      out[i] = await prepareJob(ports, jobs[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  return { batch: out.slice(0, at), unstarted: jobs.slice(at) };
}

function cleanup(ports: IngestPorts, missingGraceMs: number): number {
  const { db } = ports;
  const missing = missingCount(db);
  db.transaction(() => ports.forgetSegments(collectGarbage(db, missingGraceMs)))();
  return missing - missingCount(db);
}

/** Turns counts into throttled progress events with a rate and an ETA. */
class ProgressTracker {
  private done = 0;
  private total = 0;
  private started = Date.now();
  private lastEmit = 0;
  private current: string | null = null;
  private stage: IndexProgress['phase'] = 'scan';

  constructor(
    private readonly summary: IndexSummary,
    private readonly listener?: (p: IndexProgress) => void,
  ) {}

  scanned(n: number, current: string | null) {
    this.done += n;
    this.current = current;
    this.emit(false);
  }

  startEmbedding(total: number) {
    this.stage = 'embed';
    this.done = 0;
    this.total = total;
    this.started = Date.now();
    this.emit(true);
  }

  embedded(n: number, current: string) {
    this.done += n;
    this.current = current;
    this.emit(false);
  }

  phase(p: IndexProgress['phase']) {
    this.stage = p;
    this.emit(true);
  }

  private emit(force: boolean) {
    const now = Date.now();
    if (!this.listener || (!force && now - this.lastEmit < 100)) return;
    this.lastEmit = now;
    const secs = Math.max((now - this.started) / 1000, 1e-3);
    const rate = this.stage === 'embed' ? this.done / secs : 0;
    const left = Math.max(this.total - this.done, 0);
    this.listener({
      phase: this.stage,
      filesDone: this.done,
      filesTotal: this.stage === 'scan' ? this.done : this.total,
      filesPerSec: Math.round(rate * 100) / 100,
      etaS: rate > 0 ? Math.round(left / rate) : null,
      current: this.current,
      summary: { ...this.summary },
    });
  }
}
