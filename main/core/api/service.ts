import type { AppApi } from '../../../app/api.js';
import type { Engine } from '../engine/engine.js';
import type { WatchOptions } from '../ingest/watch.js';
import { indexingApi } from './indexing.js';
import { libraryApi } from './library.js';
import { mediaApi } from './media.js';
import { packsApi } from './packs.js';
import { searchApi } from './search.js';
import { sharedIndexingApi, sharedLibraryApi, sharedPacksApi, sharedStatusApi } from './shared-app.js';
import { statusApi } from './status.js';

/** AppApi as the core implements it, plus what its hosts call once at start. */
export interface CoreService extends AppApi {
  warmUp(): Promise<void>;
  /** Watches the library folders and indexes changes by itself; resolves to a stop function. */
  watch(opts?: WatchOptions): Promise<() => Promise<void>>;
}

/**
 * The core's AppApi, composed from one group per concern (docs/architecture.md §1): library,
 * indexing, search, packs, status and media. Each group is a plain object of methods, so the
 * composition is their union, and TypeScript checks here that together they are all of AppApi.
 * On a shared catalogue's replica, shared-app.ts replaces what would change the library.
 * Reached only through app/dispatch.ts, which parses every request once.
 */
export function coreService(engine: Engine): CoreService {
  const library = libraryApi(engine);
  const shared = engine.shared;
  const replica = shared ? sharedIndexingApi(engine, shared) : null;
  const indexing = replica ?? indexingApi(engine);
  const packs = packsApi(engine, indexing.reembedInBackground);
  const status = statusApi(engine, {
    listRoots: library.listRoots,
    failures: library.failures,
    isRunning: indexing.isRunning,
    isWatching: indexing.isWatching,
    verification: packs.verification,
  });
  const service: CoreService = {
    ...library,
    ...indexing.api,
    ...searchApi(engine),
    ...packs.api,
    ...status,
    ...mediaApi(engine),
    // On a shared catalogue's replica, what changes the library goes to the server (shared-app.ts).
    ...(shared && replica
      ? {
          ...sharedLibraryApi(engine, shared, { pull: replica.pull, listRoots: library.listRoots }),
          ...sharedPacksApi(engine, shared),
          ...sharedStatusApi(shared, status.status, replica.state),
        }
      : {}),
    watch: indexing.watch,
  };
  indexing.reembedInBackground();
  // A replica catches up with its server once at start, watching or not.
  void replica?.pull().catch(() => undefined);
  return service;
}
