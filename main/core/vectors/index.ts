import { assertDim, assertName, IndexMeta } from './common.js';
import { availableBackends, loadVectorExtensions } from './extensions.js';
import { QuantIndex } from './quant/backend.js';
import type { BackendName, Db, OpenVectorIndexOptions, VectorIndex } from './types.js';
import { VecIndex } from './vec/backend.js';
import { VssIndex } from './vss/backend.js';

/**
 * The vector index (docs/architecture.md §3): one interface, three backends whose tables live in the
 * catalogue file. The index is derived from the canonical embeddings and can always be rebuilt.
 *  - 'quant': 1-bit codes in memory, a SIMD Hamming cut (two threads from 256k codes), an
 *    asymmetric estimate, re-ranking from int8 sketches and exact float cosines for the top
 *    (quant/backend.ts). Pure JavaScript and WebAssembly, so it runs everywhere;
 *    recall@10 ≥ 0.95 by default, the fastest at 100k and the only backend within the 1M
 *    budgets (docs/vector-index.md).
 *  - 'vec' (sqlite-vec): exact brute force, runs everywhere (Windows included), cheap writes.
 *  - 'vss' (sqlite-vss): Faiss; faster Flat scans, expensive commits, Linux/macOS x64 only.
 * All return cosine similarities, best first; vec and vss Flat agree on the exact top-k.
 */

export type {
  BackendName,
  FloatLoader,
  OpenVectorIndexOptions,
  SearchOptions,
  VectorHit,
  VectorIndex,
  VectorIndexStats,
} from './types.js';
export { availableBackends, loadVectorExtensions } from './extensions.js';
export { embeddingFloats } from './floats.js';

const VSS_ONLY = ['factory', 'shardRows'] as const;
const QUANT_ONLY = ['floats', 'rerank', 'seed'] as const;

function refuseOptions(opts: OpenVectorIndexOptions, keys: readonly (keyof OpenVectorIndexOptions)[]) {
  const given = keys.filter((key) => opts[key] !== undefined);
  if (given.length > 0)
    throw new Error(`${given.join('/')} are not options of the '${opts.backend}' backend`);
}

/**
 * Opens (creating if needed) the index `name`, loading its extension into `db` first. Reopening
 * with another backend, dimension, factory, seed or float source throws: drop it
 * (dropVectorIndex) and rebuild.
 */
export function openVectorIndex(db: Db, opts: OpenVectorIndexOptions): VectorIndex {
  assertName(opts.name);
  assertDim(opts.dim);
  loadVectorExtensions(db, [opts.backend]);
  switch (opts.backend) {
    case 'vec':
      refuseOptions(opts, [...VSS_ONLY, ...QUANT_ONLY]);
      return new VecIndex(db, opts.name, opts.dim);
    case 'vss':
      refuseOptions(opts, QUANT_ONLY);
      return new VssIndex(db, opts.name, opts.dim, opts.factory, opts.shardRows);
    case 'quant':
      refuseOptions(opts, VSS_ONLY);
      return new QuantIndex(db, opts.name, opts.dim, opts);
    default:
      throw new Error(`unknown vector backend '${String(opts.backend)}'`);
  }
}

/** Drops whatever index is stored under `name`, whichever backend built it (no-op when none). */
export function dropVectorIndex(db: Db, name: string): void {
  assertName(name);
  const meta = new IndexMeta(db, name);
  const backend = meta.get('backend') as BackendName | undefined;
  if (!backend) return;
  const dim = Number(meta.get('dim'));
  if (backend === 'quant') {
    // Dropping reads no floats; a stand-in loader satisfies an index built with external ones.
    const floats = meta.get('floats') === 'external' ? () => [] : undefined;
    openVectorIndex(db, { backend, name, dim, seed: Number(meta.get('seed')), floats }).drop();
    return;
  }
  openVectorIndex(db, { backend, name, dim, factory: meta.get('factory') }).drop();
}

/**
 * The backend a new catalogue gets on this platform, from the measurements in
 * docs/vector-index.md (bench/vectors.ts): 'quant' wherever WebAssembly SIMD runs (every
 * platform Bindery ships for). With recall@10 ≥ 0.95 it was the fastest at 100k (p95 3–5 ms;
 * sqlite-vss Flat 22 ms, sqlite-vec 113 ms), within 1 ms of sqlite-vss Flat at 10k, and at 1M the
 * only backend within 300 MB, 20k inserts/s and 2 s per 10k deletes (p95 22–40 ms). 'vec'
 * (exact, slower) where it cannot run. sqlite-vss is never the default: no Windows or Linux
 * arm64 build, quadratic commits, a 1 GB BLOB cap per shard, 15 minutes to build a trained 1M
 * index, and it is no longer developed.
 */
export function defaultBackend(platform = process.platform, arch = process.arch): BackendName {
  return availableBackends(platform, arch).includes('quant') ? 'quant' : 'vec';
}
