/**
 * What hosts may use of a shared catalogue (docs/architecture.md §13): open one by its
 * `--catalogue` value, and run a worker on it. The CLI reaches the catalogue and ingest only
 * through here, as it reaches the engine through AppApi.
 */
export { openStore } from '../catalogue/open-store.js';
export type { CatalogueStore, StoreHit } from '../catalogue/store.js';
export { runSharedWorker, workerRef, type WorkerEvent, type WorkerSummary } from '../ingest/shared-worker.js';
