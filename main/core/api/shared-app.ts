import path from 'node:path';
import type {
  AddRootRequestSchema,
  IndexRequestSchema,
  RemoveRootRequestSchema,
  RootInfo,
  Status,
  StatusRequestSchema,
} from '../../../app/api.js';
import { ApiError } from '../../../app/errors.js';
import { emptySummary, type IndexProgress, type IndexSummary } from '../../../app/indexing.js';
import { rootFileTotal } from '../catalogue/files.js';
import { isConnectionLoss } from '../catalogue/postgres/connect.js';
import { getRoot, overlapOf } from '../catalogue/roots.js';
import type { Engine, SharedLink } from '../engine/engine.js';
import { checkLibraryFolder } from '../ingest/folders.js';
import { syncReplica, type ReplicaSummary } from '../ingest/replica-sync.js';
import { runSharedWorker, workerRef, type WorkerEvent, type WorkerSummary } from '../ingest/shared-worker.js';
import { indexRunner } from './indexing.js';
import type { Req } from './parsed.js';

/**
 * The app on a shared catalogue (docs/architecture.md §13). The engine's catalogue is a replica of
 * the server's (catalogue/replica.ts): search, the timeline, file details and previews read it as
 * they read any library, at local speed and with the server away. What would change the library
 * goes to the server instead: a folder added here becomes a root mounted on this machine, indexing
 * is a worker run from this machine (its own accelerator) and then a pull, and watching is a pull
 * every few seconds plus a worker run now and then. The pack is the one the workers embed with.
 */

/** How often a watching app pulls the server's changes, and takes queued jobs of its mounts. */
const PULL_MS = 15_000;
const WORKER_MS = 10 * 60_000;

/** The indexing group (api/indexing.ts's shape) for a replica: worker runs and pulls. */
export function sharedIndexingApi(engine: Engine, link: SharedLink) {
  let watching = false;
  // Pulls run one after another: one asked for after a change starts after that change.
  let pulls: Promise<unknown> = Promise.resolve();
  const state: PullState = { pulledAt: null, error: null, queued: 0 };
  const pullOnce = async (): Promise<ReplicaSummary> => {
    try {
      const store = await link.connect();
      const summary = await syncReplica(engine.ingestPorts(), store, link.machine);
      state.queued = (await store.counts()).queued;
      Object.assign(state, { pulledAt: Date.now(), error: null });
      return summary;
    } catch (e) {
      state.error = e instanceof Error ? e.message.split('\n')[0] : String(e);
      throw e;
    }
  };
  const pull = (): Promise<ReplicaSummary> => {
    const next = pulls.then(pullOnce);
    pulls = next.catch(() => undefined);
    return next;
  };

  // A server lost mid-run pauses the worker until it is back: the status says so meanwhile.
  const onServer = (e: WorkerEvent) => {
    if (e.type === 'offline') state.error = e.error;
    else if (e.type === 'online') state.error = null;
  };
  const runner = indexRunner((opts: Req<typeof IndexRequestSchema>, signal, emit) =>
    indexFromHere(engine, link, opts, signal, emit, onServer)
      .then(async (summary) => {
        await pull();
        emit(progressOf(signal.aborted ? 'cancelled' : 'done', summary, null, 0, 0, 0));
        return summary;
      })
      .catch((e: unknown) => {
        if (isConnectionLoss(e)) state.error = (e as Error).message.split('\n')[0];
        throw unreachable(e, link);
      }),
  );
  const { api, run, isRunning } = runner;

  return {
    api,
    pull,
    state: (): Readonly<PullState> => state,
    isRunning,
    isWatching: (): boolean => watching,
    /** Pulls the server's changes every PULL_MS, and takes queued jobs every WORKER_MS, until stopped. */
    async watch(): Promise<() => Promise<void>> {
      watching = true;
      let stopped = false;
      let lastRun = 0;
      let timer: NodeJS.Timeout | undefined;
      const tick = async () => {
        // Jobs only: scanning shared roots is left to a user's Index and to the workers (a laptop's
        // view of a share through SMB is not always the whole of it).
        if (Date.now() - lastRun >= WORKER_MS && !isRunning()) {
          lastRun = Date.now();
          void run({ retryFailed: false, skipScan: true }).catch(() => undefined);
        }
        // A server away leaves the replica as it was: search goes on, the next tick tries again.
        await pull().catch(() => undefined);
        if (!stopped) timer = setTimeout(() => void tick(), PULL_MS);
      };
      await tick();
      return async () => {
        stopped = true;
        watching = false;
        clearTimeout(timer);
        await pulls;
      };
    },
    /** A replica is never re-embedded here (the workers embed with the catalogue's pack). */
    reembedInBackground(): void {},
  };
}

/** A lost server is the user's to know about, in plain words (and never a 500): what else failed is passed on. */
function unreachable(e: unknown, link: SharedLink): unknown {
  if (!isConnectionLoss(e)) return e;
  return new ApiError(
    'offline',
    `the shared catalogue ${link.label} cannot be reached (${(e as Error).message.split('\n')[0]}); search goes on over the last copy`,
  );
}

/** One worker run from this machine over the roots it mounts, as progress events. */
async function indexFromHere(
  engine: Engine,
  link: SharedLink,
  opts: Req<typeof IndexRequestSchema>,
  signal: AbortSignal,
  emit: (p: IndexProgress) => void,
  onServer: (e: WorkerEvent) => void,
): Promise<IndexSummary> {
  const { machine } = link;
  const store = await link.connect();
  const roots = (await store.mounts(machine)).map((m) => m.rootId);
  if (opts.retryFailed) await store.requeueFailed(roots);
  const t0 = performance.now();
  const summary = emptySummary();
  const counts = { done: 0, total: await store.queuedFor(roots) };
  // Each scan queues more: the total is asked for again, without holding the run up.
  const recount = () =>
    void store.queuedFor(roots).then(
      (n) => (counts.total = counts.done + n),
      () => undefined,
    );
  const onEvent = (e: WorkerEvent) => {
    if (e.type === 'offline' || e.type === 'online') return onServer(e);
    if (e.type === 'scanned') {
      summary.skipped += e.unchanged;
      summary.removed += e.missing;
      recount();
    } else if (e.type === 'done') {
      counts.done++;
      if (e.outcome === 'failed') summary.failed++;
      else summary.indexed++;
    }
    const phase = e.type === 'scanned' ? 'scan' : 'embed';
    const current = e.type === 'done' || e.type === 'lost' ? e.rel : null;
    emit(progressOf(phase, summary, current, counts.done, counts.total, (performance.now() - t0) / 1000));
  };
  emit(progressOf(opts.skipScan ? 'embed' : 'scan', summary, null, 0, counts.total, 0));
  const { pack, runtime } = engine.active;
  const ran: WorkerSummary = await runSharedWorker({
    store,
    pack,
    runtime,
    worker: workerRef(machine),
    scan: !opts.skipScan,
    signal,
    onEvent,
  });
  summary.embedded = ran.segments;
  return summary;
}

function progressOf(
  phase: IndexProgress['phase'],
  summary: IndexSummary,
  current: string | null,
  done: number,
  total: number,
  seconds: number,
): IndexProgress {
  const rate = seconds > 0 ? done / seconds : 0;
  return {
    phase,
    filesDone: done,
    filesTotal: Math.max(done, total),
    filesPerSec: Math.round(rate * 100) / 100,
    etaS: rate > 0 ? Math.round(Math.max(0, total - done) / rate) : null,
    current,
    summary: { ...summary },
  };
}

/**
 * The library group's changes on a replica: folders are roots of the shared catalogue mounted on
 * this machine. Adding one never joins another machine's root by its name (a scan of a different
 * folder would retire that root's files): `bindery shared mount` says explicitly that a folder here
 * is the same share.
 */
export function sharedLibraryApi(
  engine: Engine,
  link: SharedLink,
  deps: { pull: () => Promise<unknown>; listRoots: () => Promise<RootInfo[]> },
) {
  const { machine } = link;
  const infoOf = async (id: number): Promise<RootInfo> => {
    const info = (await deps.listRoots()).find((r) => r.id === id);
    if (!info)
      throw new ApiError('conflict', 'another library folder is already mounted at that folder here');
    return info;
  };
  const onServer = <T>(fn: () => Promise<T>): Promise<T> =>
    fn().catch((e: unknown) => {
      throw unreachable(e, link);
    });
  return {
    addRoot: (req: Req<typeof AddRootRequestSchema>) => onServer(() => addRoot(req)),
    removeRoot: (req: Req<typeof RemoveRootRequestSchema>) => onServer(() => removeRoot(req)),
  };

  async function addRoot({ path: asked }: Req<typeof AddRootRequestSchema>): Promise<RootInfo> {
    const folder = await checkLibraryFolder(asked);
    const store = await link.connect();
    const here = await store.mounts(machine);
    const same = here.find((m) => path.resolve(m.folder) === folder);
    if (same) return infoOf(same.rootId);
    const overlap = overlapOf(
      here.map((m) => path.resolve(m.folder)),
      folder,
    );
    if (overlap) throw new ApiError('conflict', overlap);
    const names = new Set((await store.listRoots()).map((r) => r.name));
    const root = await store.addRoot(freeName(path.basename(folder) || folder, machine, names), {
      machine,
      folder,
    });
    await deps.pull();
    return infoOf(root.id);
  }

  /** This machine stops reading the folder; its files stay in the shared catalogue for the others. */
  async function removeRoot({ id }: Req<typeof RemoveRootRequestSchema>): Promise<{ removed: number }> {
    if (!getRoot(engine.db, id)) throw new ApiError('not_found', `no library folder with id ${id}`);
    const removed = rootFileTotal(engine.db, id);
    await (await link.connect()).unmount(id, machine);
    await deps.pull();
    return { removed };
  }
}

/** `photos`, else `photos (laptop)`, else `photos (laptop 2)`…: a name no root has yet. */
function freeName(base: string, machine: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 1; ; i++) {
    const name = i === 1 ? `${base} (${machine})` : `${base} (${machine} ${i})`;
    if (!taken.has(name)) return name;
  }
}

/** What the last pulls said: status reads it, so polling status never waits on the server. */
interface PullState {
  pulledAt: number | null;
  error: string | null;
  queued: number;
}

/** Status says which server this mirrors, how fresh the mirror is, and the server's queue. */
export function sharedStatusApi(
  link: SharedLink,
  base: (req?: Req<typeof StatusRequestSchema>) => Promise<Status>,
  pulls: () => Readonly<PullState>,
) {
  return {
    async status(req: Req<typeof StatusRequestSchema> = {}): Promise<Status> {
      const s = await base(req);
      const p = pulls();
      return { ...s, queued: p.queued, shared: { label: link.label, machine: link.machine, ...p } };
    },
  };
}

/** Pack changes are refused on a replica: its vectors are the workers', embedded with the catalogue's pack. */
export function sharedPacksApi(engine: Engine, link: SharedLink) {
  const refuse = (): never => {
    throw new ApiError(
      'conflict',
      `this Bindery mirrors the shared catalogue ${link.label}, embedded with ${engine.active.id}: install and choose packs with Bindery on its own catalogue`,
    );
  };
  return { useModel: async () => refuse(), installModel: async () => refuse() };
}
