import { opendir } from 'node:fs/promises';
import type { LoadedPack } from '../packs/pack.js';
import type { EncoderRuntime } from '../encoders/runtime.js';
import {
  relativeToRoot,
  underRoot,
  type CatalogueStore,
  type JobOutcome,
  type LeasedJob,
  type RootMount,
  type WorkerRef,
} from '../catalogue/store.js';
import { isConnectionLoss } from '../catalogue/postgres/connect.js';
import { encodeBatch, type Encoded } from './encode.js';
import { prepareFile } from './prepare.js';
import { walk, type WalkReport } from './scan.js';

/**
 * One worker of a shared catalogue (docs/architecture.md §13): scan the roots this machine mounts,
 * then lease jobs, read and encode them with this machine's accelerator, and write each outcome
 * under its lease, until no job is left. Any number run at once on any machines; a lease is kept
 * alive by heartbeats, and a worker that dies gives its jobs back when its lease expires. A server
 * that goes away pauses the worker with a clear message; it goes on when the server is back.
 */
export interface SharedWorkerOptions {
  store: CatalogueStore;
  pack: LoadedPack;
  runtime: EncoderRuntime;
  worker: WorkerRef;
  /** Scan the mounted roots first (default true). */
  scan?: boolean;
  /** How long a lease lasts without a heartbeat (default 60 s; heartbeats every third of it). */
  leaseMs?: number;
  /** Jobs leased and encoded together (default 16). */
  batch?: number;
  signal?: AbortSignal;
  onEvent?: (e: WorkerEvent) => void;
}

export type WorkerEvent =
  | { type: 'scanned'; root: number; new: number; changed: number; unchanged: number; missing: number }
  | { type: 'done'; rel: string; rootId: number; outcome: JobOutcome['type'] }
  /** The lease had expired and another worker took the job: this outcome was not written. */
  | { type: 'lost'; rel: string; rootId: number }
  | { type: 'offline'; error: string }
  | { type: 'online' };

export interface WorkerSummary {
  indexed: number;
  /** Segments this worker encoded (none for a content another worker or pack had embedded). */
  segments: number;
  reused: number;
  failed: number;
  lost: number;
}

/** A worker's identity: unique per process and start, so leases and heartbeats are its own. */
export function workerRef(machine: string): WorkerRef {
  return { id: `${machine}:${process.pid}:${Date.now()}`, machine };
}

const RETRY_MS = [500, 1000, 2000, 5000, 10_000];

export async function runSharedWorker(opts: SharedWorkerOptions): Promise<WorkerSummary> {
  const { store, pack, worker } = opts;
  const leaseMs = opts.leaseMs ?? 60_000;
  const call = retrying(opts);
  await call(() => store.ensurePack({ dir: pack.dir, manifest: pack.manifest }));
  if (opts.scan ?? true)
    for (const m of await call(() => store.mounts(worker.machine))) await scanMount(opts, m, call);
  const beat = setInterval(
    () => void store.heartbeat(worker.id, leaseMs).catch(() => undefined),
    Math.max(50, leaseMs / 3),
  );
  const summary: WorkerSummary = { indexed: 0, segments: 0, reused: 0, failed: 0, lost: 0 };
  try {
    while (!opts.signal?.aborted) {
      // Read at each lease: a share mounted, unmounted or moved meanwhile counts from the next batch.
      const folders = await reachableMounts(await call(() => store.mounts(worker.machine)));
      const jobs = await call(() => store.lease(worker, [...folders.keys()], opts.batch ?? 16, leaseMs));
      if (jobs.length === 0) {
        // Others may hold the rest of this machine's roots: wait for them to finish or for their
        // leases to expire. Jobs of roots this machine cannot reach are not its to wait for.
        if ((await call(() => store.queuedFor([...folders.keys()]))) === 0) break;
        await sleep(Math.min(1000, leaseMs / 4), opts.signal);
        continue;
      }
      await processBatch(opts, jobs, folders, summary, call);
    }
  } finally {
    clearInterval(beat);
  }
  return summary;
}

async function processBatch(
  opts: SharedWorkerOptions,
  jobs: LeasedJob[],
  folders: Map<number, string>,
  summary: WorkerSummary,
  call: Retrying,
): Promise<void> {
  const { store, pack, worker } = opts;
  const known = (hash: string) => call(() => store.embeddedContent(hash, pack.manifest.id));
  const prepared = await Promise.all(
    jobs.map((j) => prepareFile(j, underRoot(folders.get(j.rootId)!, j.rel), pack.manifest, known)),
  );
  for (const e of await encodeBatch(opts, prepared)) {
    const job = e.prepared.job;
    const outcome = outcomeOf(e);
    const written = await call(() => store.complete(worker.id, pack.manifest.id, job, outcome));
    if (!written) summary.lost++;
    else if (outcome.type === 'failed') summary.failed++;
    else if (outcome.type === 'reuse') summary.reused++;
    else {
      summary.indexed++;
      summary.segments += outcome.segments.length;
    }
    opts.onEvent?.(
      written
        ? { type: 'done', rel: job.rel, rootId: job.rootId, outcome: outcome.type }
        : { type: 'lost', rel: job.rel, rootId: job.rootId },
    );
  }
}

function outcomeOf(e: Encoded<LeasedJob>): JobOutcome {
  const p = e.prepared;
  if (p.type === 'failed') return { type: 'failed', error: p.error, kind: p.kind };
  if (p.type === 'reuse') return { type: 'reuse', hash: p.hash };
  if (!('vectors' in e)) throw new Error('a new content without vectors');
  const { kind, durationS, capture } = p.decoded;
  return {
    type: 'new',
    content: { hash: p.hash, size: p.size, kind, durationS, capture },
    segments: e.vectors,
  };
}

/**
 * The mounts this machine can read now, by root: a folder that is missing, unreadable or empty (a
 * share not mounted over its mount point) is left out, so its files wait for another machine
 * instead of failing here.
 */
export async function reachableMounts(mounts: readonly RootMount[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const m of mounts) {
    const dir = await opendir(m.folder).catch(() => null);
    if (!dir) continue;
    const first = await dir.read().catch(() => null);
    await dir.close().catch(() => undefined);
    if (first) out.set(m.rootId, m.folder);
  }
  return out;
}

/** Scans one mounted root into the catalogue, like the local scan (ingest/pipeline.ts) does. */
async function scanMount(opts: SharedWorkerOptions, m: RootMount, call: Retrying): Promise<void> {
  const report: WalkReport = { unreadable: [], skipped: [] };
  const scanId = await call(() => opts.store.beginScan());
  const totals = { new: 0, changed: 0, unchanged: 0 };
  let page: { rel: string; size: number; mtimeMs: number }[] = [];
  const flush = async () => {
    const counts = await call(() => opts.store.recordScan(m.rootId, scanId, page));
    for (const k of ['new', 'changed', 'unchanged'] as const) totals[k] += counts[k];
    page = [];
  };
  for await (const f of walk(m.folder, report)) {
    page.push({ rel: relativeToRoot(m.folder, f.path), size: f.size, mtimeMs: f.mtimeMs });
    if (page.length >= 500) await flush();
  }
  await flush();
  // An empty mount point (a share not mounted) or an unreadable root retires nothing; a file under
  // an unreadable folder (permissions, a share's hiccup) is out of reach, not gone, so only the
  // rest of the root retires what it did not see, as the local scan does (ingest/pipeline.ts).
  const seen = totals.new + totals.changed + totals.unchanged;
  const unreachable = report.unreadable.map((p) => relativeToRoot(m.folder, p.path));
  const offline = seen === 0 || unreachable.includes(''); // '': the root itself
  const missing = offline ? 0 : await call(() => opts.store.finishScan(m.rootId, scanId, unreachable));
  opts.onEvent?.({ type: 'scanned', root: m.rootId, ...totals, missing });
}

type Retrying = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * Runs catalogue calls so that a lost server pauses the worker instead of ending it: one
 * 'offline' event with the reason, retries with growing pauses, one 'online' event when it answers.
 */
function retrying(opts: SharedWorkerOptions): Retrying {
  let offline = false;
  return async (fn) => {
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await fn();
        if (offline) opts.onEvent?.({ type: 'online' });
        offline = false;
        return out;
      } catch (e) {
        if (!isConnectionLoss(e) || opts.signal?.aborted) throw e;
        if (!offline) opts.onEvent?.({ type: 'offline', error: (e as Error).message });
        offline = true;
        await sleep(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)], opts.signal);
      }
    }
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}
