import { assertDim, assertName, IndexMeta } from './common.js';
import { loadVectorExtensions } from './extensions.js';
import type { BackendName, Db, OpenVectorIndexOptions, VectorIndex } from './types.js';
import { VecIndex } from './vec-backend.js';
import { VssIndex } from './vss-backend.js';

/**
 * The vector index (DESIGN.md §3): one interface, two real backends whose tables live in the
 * catalogue file. The index is derived from the canonical embeddings and can always be rebuilt.
 *  - 'vec' (sqlite-vec): exact brute force, runs everywhere (Windows included), cheap writes.
 *  - 'vss' (sqlite-vss): Faiss; faster Flat scans, expensive commits, Linux/macOS x64 only.
 * Both return cosine similarities, best first, and agree on the exact top-k for Flat indexes.
 */

export type {
  BackendName,
  OpenVectorIndexOptions,
  SearchOptions,
  VectorHit,
  VectorIndex,
  VectorIndexStats,
} from './types.js';
export { availableBackends, loadVectorExtensions } from './extensions.js';

/**
 * Opens (creating if needed) the index `name`, loading its extension into `db` first. Reopening
 * with another backend, dimension or factory throws: drop it (dropVectorIndex) and rebuild.
 */
export function openVectorIndex(db: Db, opts: OpenVectorIndexOptions): VectorIndex {
  assertName(opts.name);
  assertDim(opts.dim);
  loadVectorExtensions(db, [opts.backend]);
  if (opts.backend === 'vec') {
    if (opts.factory !== undefined || opts.shardRows !== undefined)
      throw new Error('factory/shardRows are sqlite-vss options');
    return new VecIndex(db, opts.name, opts.dim);
  }
  if (opts.backend === 'vss') return new VssIndex(db, opts.name, opts.dim, opts.factory, opts.shardRows);
  throw new Error(`unknown vector backend '${String(opts.backend)}'`);
}

/** Drops whatever index is stored under `name`, whichever backend built it (no-op when none). */
export function dropVectorIndex(db: Db, name: string): void {
  assertName(name);
  const meta = new IndexMeta(db, name);
  const backend = meta.get('backend') as BackendName | undefined;
  if (!backend) return;
  openVectorIndex(db, { backend, name, dim: Number(meta.get('dim')), factory: meta.get('factory') }).drop();
}
