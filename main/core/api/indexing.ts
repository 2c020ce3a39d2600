import type { IndexRequestSchema } from '../../../app/api.js';
import type { IndexProgress, IndexSummary } from '../../../app/indexing.js';
import type { Engine } from '../engine/engine.js';
import { indexLibrary, type IndexOptions } from '../ingest/pipeline.js';
import { LibraryWatcher, type WatchOptions } from '../ingest/watch.js';
import type { Req } from './parsed.js';

/**
 * One indexing run at a time (a second caller joins the running one), cancellable, with progress
 * to every listener: the AppApi half both the local pipeline and a shared catalogue's replica use.
 */
export function indexRunner<O extends { retryFailed?: boolean; skipScan?: boolean }>(
  start: (opts: O, signal: AbortSignal, emit: (p: IndexProgress) => void) => Promise<IndexSummary>,
) {
  const listeners = new Set<(p: IndexProgress) => void>();
  const emit = (p: IndexProgress) => listeners.forEach((l) => l(p));
  let running: { promise: Promise<IndexSummary>; abort: AbortController } | null = null;

  function run(opts: O): Promise<IndexSummary> {
    if (running) return running.promise;
    const abort = new AbortController();
    const promise = start(opts, abort.signal, emit).finally(() => {
      running = null;
    });
    running = { promise, abort };
    return promise;
  }

  return {
    run,
    isRunning: (): boolean => running !== null,
    api: {
      async index(opts: Req<typeof IndexRequestSchema>): Promise<IndexSummary> {
        // The request's fields are O's (O only adds optional ones a host passes, like a watcher's roots).
        return run(opts as O);
      },

      async cancelIndex(): Promise<{ cancelled: boolean }> {
        if (!running) return { cancelled: false };
        running.abort.abort();
        await running.promise.catch(() => undefined);
        return { cancelled: true };
      },

      onIndexProgress(listener: (p: IndexProgress) => void): () => void {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
  };
}

/**
 * The indexing half of AppApi (docs/architecture.md §7) on the engine's own catalogue: the local
 * pipeline, and a watcher of the library folders.
 */
export function indexingApi(engine: Engine) {
  const runner = indexRunner((opts: Omit<IndexOptions, 'signal' | 'onProgress'>, signal, emit) =>
    indexLibrary(engine.ingestPorts(), { ...opts, signal, onProgress: emit }).then((r) => r.summary),
  );
  let watcher: LibraryWatcher | null = null;
  const { api, run } = runner;
  return {
    api,
    isRunning: runner.isRunning,
    isWatching: (): boolean => watcher !== null,
    /** Watches the library folders until stopped (serve, the app, `bindery watch`). */
    async watch(opts: WatchOptions = {}): Promise<() => Promise<void>> {
      const w = new LibraryWatcher(engine.db, run, opts);
      watcher = w;
      await w.start();
      return async () => {
        if (watcher === w) watcher = null;
        await w.stop();
      };
    },
    /** While a newly chosen pack catches up, the library is re-embedded without blocking anyone. */
    reembedInBackground(): void {
      if (!engine.backgroundReembed || engine.serving === engine.active) return;
      api.index({ retryFailed: false, skipScan: true }).catch(() => undefined);
    },
  };
}
