import type { IndexRequestSchema } from '../../../app/api.js';
import type { IndexProgress, IndexSummary } from '../../../app/indexing.js';
import type { Engine } from '../engine/engine.js';
import { indexLibrary, type IndexOptions } from '../ingest/pipeline.js';
import { LibraryWatcher, type WatchOptions } from '../ingest/watch.js';
import type { Req } from './parsed.js';

/**
 * The indexing half of AppApi (docs/architecture.md §7): one run at a time (a second caller joins
 * the running one), cancellable, with progress to every listener.
 */
export function indexingApi(engine: Engine) {
  const listeners = new Set<(p: IndexProgress) => void>();
  let running: { promise: Promise<IndexSummary>; abort: AbortController } | null = null;
  let watcher: LibraryWatcher | null = null;

  function run(opts: Omit<IndexOptions, 'signal' | 'onProgress'>): Promise<IndexSummary> {
    if (running) return running.promise;
    const abort = new AbortController();
    const promise = indexLibrary(engine.ingestPorts(), {
      ...opts,
      signal: abort.signal,
      onProgress: (p) => listeners.forEach((l) => l(p)),
    })
      .then((r) => r.summary)
      .finally(() => {
        running = null;
      });
    running = { promise, abort };
    return promise;
  }

  const api = {
    async index(opts: Req<typeof IndexRequestSchema>): Promise<IndexSummary> {
      return run(opts);
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
  };
  return {
    api,
    isRunning: (): boolean => running !== null,
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
