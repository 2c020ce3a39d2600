import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  availableBackends,
  type BackendName,
  openVectorIndex,
  type VectorHit,
  type VectorIndex,
} from '../main/core/vectors/index.js';
import { mulberry32 } from '../app/random.js';
export { mulberry32 };

/**
 * Vector-index benchmark (DESIGN.md §3, §10): seeded synthetic 1024-d unit vectors with clustered
 * structure, held-out queries, exact ground truth by brute force in JS, and for each backend and
 * size the build time, query latency percentiles, recall@10, file size and RSS.
 */

export interface VectorBenchEntry {
  backend: BackendName;
  n: number;
  dim: number;
  k: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  recallAt10: number;
  /** One add() of all n vectors (the backend batches and commits internally). */
  buildMs: number;
  insertPerSec: number;
  /** Catalogue file size after the build, WAL checkpointed. */
  diskMB: number;
  /** Process RSS after the queries; it includes the shared synthetic data set (n·dim·4 bytes). */
  rssMB: number;
  notes?: string;
}

export interface VectorBenchOptions {
  quick: boolean;
  sizes?: number[];
  dim?: number;
  seed?: number;
  backends?: BackendName[];
  /** sqlite-vss Faiss factory (default 'Flat,IDMap2'), e.g. to compare 'PQ64,IDMap2' at 1M. */
  vssFactory?: string;
}

const K = 10;
const CLUSTERS = 1000;
/** Member = normalize(centre + SPREAD·e) with |e| ≈ 1: cos(member, centre) ≈ 0.8, as for related photos. */
const SPREAD = 0.75;
/** Query = normalize(member + QUERY_NOISE·e): near a member, never equal to one. */
const QUERY_NOISE = 0.35;

/** Standard normal samples (Box–Muller, both values used). */
export function gaussian(rand: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const th = 2 * Math.PI * rand();
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
}

export function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}

/** Writes normalize(base + scale·e), e ~ N(0, I/dim), into `out`. */
function perturb(out: Float32Array, base: Float32Array, scale: number, gauss: () => number): Float32Array {
  const s = scale / Math.sqrt(out.length);
  for (let i = 0; i < out.length; i++) out[i] = base[i] + s * gauss();
  return normalize(out);
}

/** n independent uniformly random unit vectors. */
export function randomUnitVectors(n: number, dim: number, seed: number): Float32Array[] {
  const gauss = gaussian(mulberry32(seed));
  const zero = new Float32Array(dim);
  return Array.from({ length: n }, () => perturb(new Float32Array(dim), zero, Math.sqrt(dim), gauss));
}

/** n·dim floats, row i = vector i: members of `clusters` Gaussian clusters, uniformly assigned. */
export function clusteredVectors(n: number, dim: number, seed: number, clusters = CLUSTERS): Float32Array {
  const rand = mulberry32(seed);
  const gauss = gaussian(rand);
  const centres = randomUnitVectors(clusters, dim, seed ^ 0x5eed);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    perturb(data.subarray(i * dim, (i + 1) * dim), centres[Math.floor(rand() * clusters)], SPREAD, gauss);
  }
  return data;
}

/** Held-out queries: perturbed copies of random members among the first n rows. */
export function heldOutQueries(
  data: Float32Array,
  n: number,
  dim: number,
  count: number,
  seed: number,
): Float32Array[] {
  const rand = mulberry32(seed);
  const gauss = gaussian(rand);
  return Array.from({ length: count }, () => {
    const i = Math.floor(rand() * n);
    return perturb(new Float32Array(dim), data.subarray(i * dim, (i + 1) * dim), QUERY_NOISE, gauss);
  });
}

/** Exact top-k by cosine (dot product of unit vectors) over the first n rows; ties by id (row index). */
export function exactTopK(
  data: Float32Array,
  n: number,
  q: Float32Array,
  k: number,
  allow?: (id: number) => boolean,
) {
  const dim = q.length;
  const top: VectorHit[] = [];
  for (let id = 0; id < n; id++) {
    if (allow && !allow(id)) continue;
    let s = 0;
    for (let j = 0, o = id * dim; j < dim; j++) s += data[o + j] * q[j];
    if (top.length === k && s <= top[k - 1].score) continue;
    let at = top.length;
    while (at > 0 && top[at - 1].score < s) at--;
    top.splice(at, 0, { id, score: s });
    if (top.length > k) top.pop();
  }
  return top;
}

export function recallAt(k: number, got: VectorHit[], truth: VectorHit[]): number {
  const want = new Set(truth.slice(0, k).map((h) => h.id));
  return got.slice(0, k).filter((h) => want.has(h.id)).length / Math.max(1, Math.min(k, want.size));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Queries per size: enough for stable p95 while keeping the quick run near a minute on 2 cores. */
function queryCount(n: number, quick: boolean): number {
  if (quick) return n <= 20_000 ? 100 : 30;
  return n <= 20_000 ? 500 : n <= 200_000 ? 200 : 50;
}

interface Workload {
  data: Float32Array;
  n: number;
  dim: number;
  queries: Float32Array[];
  truth: VectorHit[][];
}

function openBenchDb(dir: string, backend: BackendName) {
  const file = path.join(dir, `${backend}.db`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL'); // as the catalogue is opened (main/core/db/open.ts)
  db.pragma('synchronous = NORMAL');
  return { db, file };
}

function fileMB(file: string): number {
  const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);
  return round((size(file) + size(`${file}-wal`)) / 2 ** 20, 1);
}

function build(index: VectorIndex, w: Workload): number {
  const items = Array.from({ length: w.n }, (_, id) => ({
    id,
    vector: w.data.subarray(id * w.dim, (id + 1) * w.dim),
  }));
  const t0 = performance.now();
  index.add(items);
  return performance.now() - t0;
}

function timeQueries(index: VectorIndex, w: Workload) {
  for (const q of w.queries.slice(0, 3)) index.search(q, { k: K }); // warm caches and lazily loaded shards
  const ms: number[] = [];
  let recall = 0;
  w.queries.forEach((q, i) => {
    const t0 = performance.now();
    const hits = index.search(q, { k: K });
    ms.push(performance.now() - t0);
    recall += recallAt(K, hits, w.truth[i]);
  });
  return { ms: ms.sort((a, b) => a - b), recall: recall / w.queries.length };
}

function benchOne(backend: BackendName, w: Workload, dir: string, factory?: string): VectorBenchEntry {
  const { db, file } = openBenchDb(dir, backend);
  try {
    const index = openVectorIndex(db, {
      backend,
      name: 'bench',
      dim: w.dim,
      ...(backend === 'vss' && { factory }),
    });
    const buildMs = build(index, w);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const diskMB = fileMB(file);
    const { ms, recall } = timeQueries(index, w);
    const stats = index.stats();
    return {
      backend,
      n: w.n,
      dim: w.dim,
      k: K,
      p50Ms: round(percentile(ms, 50)),
      p95Ms: round(percentile(ms, 95)),
      p99Ms: round(percentile(ms, 99)),
      recallAt10: round(recall, 4),
      buildMs: Math.round(buildMs),
      insertPerSec: Math.round(w.n / (buildMs / 1000)),
      diskMB,
      rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
      notes:
        `${w.queries.length} queries` +
        (stats.factory ? `; ${stats.factory}, ${stats.shards} shard${stats.shards === 1 ? '' : 's'}` : ''),
    };
  } finally {
    db.close();
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  }
}

/**
 * Runs every backend available here at each size (default 10k and 100k; pass 1M explicitly).
 * The data set is generated once at the largest size; smaller sizes use its first n rows.
 */
export async function benchVectors(opts: VectorBenchOptions): Promise<VectorBenchEntry[]> {
  const dim = opts.dim ?? 1024;
  const seed = opts.seed ?? 1;
  const sizes = [...(opts.sizes ?? [10_000, 100_000])].sort((a, b) => a - b);
  const backends = opts.backends ?? availableBackends();
  const data = clusteredVectors(sizes[sizes.length - 1], dim, seed);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bindery-bench-vectors-'));
  const out: VectorBenchEntry[] = [];
  try {
    for (const n of sizes) {
      const queries = heldOutQueries(data, n, dim, queryCount(n, opts.quick), seed + n);
      const w: Workload = { data, n, dim, queries, truth: queries.map((q) => exactTopK(data, n, q, K)) };
      for (const backend of backends) {
        out.push(benchOne(backend, w, dir, opts.vssFactory));
        await new Promise((r) => setImmediate(r)); // let the caller's progress output through
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
