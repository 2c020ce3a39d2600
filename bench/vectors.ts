// Size: the vector benchmark's workloads, configurations and report.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  availableBackends,
  type BackendName,
  embeddingFloats,
  openVectorIndex,
  type OpenVectorIndexOptions,
  type VectorHit,
  type VectorIndex,
} from '../main/core/vectors/index.js';
import { mulberry32 } from '../app/random.js';
import { collectGarbage, residentMB } from './process-memory.js';
import {
  groundTruth,
  perturbQueries,
  querySources,
  recallAt,
  VectorFile,
} from '../tests/support/vector-data.js';

/**
 * Vector-index benchmark (docs/architecture.md §3, §10): seeded synthetic 1024-d unit vectors with clustered
 * structure (tests/support/vector-data.ts), held-out queries, exact ground truth, and for each backend
 * configuration and size: build (ingest) rate, query latency percentiles at k = 10 and 100,
 * recall@10 and @100, the index's bytes on disk, the memory it holds, and the cost of deleting
 * and re-adding 10k vectors. Catalogues are opened as main/core/catalogue/open.ts opens them.
 */

export interface LatencyMs {
  k: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export interface VectorBenchEntry {
  backend: BackendName;
  /** The configuration: sqlite-vss's factory, or where 'quant' reads float vectors from. */
  config: string;
  n: number;
  dim: number;
  /** k of p50Ms/p95Ms/p99Ms; kValues has every k measured. */
  k: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  kValues: LatencyMs[];
  recallAt10: number;
  recallAt100: number;
  /** add() of all n vectors from empty, in batches of BUILD_BATCH. */
  buildMs: number;
  insertPerSec: number;
  /** Bytes of the index's own tables in the catalogue (dbstat), in MiB. */
  diskMB: number;
  /** Anonymous RSS the process gained by opening and building the index, after GC. */
  rssMB: number;
  /** Pages of the memory-mapped catalogue resident after the queries (file-backed, reclaimable). */
  rssFileMB: number;
  /** One remove() of DELTA random ids of the built index. */
  deleteMs: number;
  /** One add() of DELTA vectors to the built index (the removed ones, back). */
  addMs: number;
  queries: number;
  notes?: string;
}

export interface VectorBenchWinner {
  backend: BackendName;
  config: string;
  p95Ms: number;
  recallAt10: number;
  /** This p95 / sqlite-vec's and / sqlite-vss Flat's at the same size (below 1: faster). */
  ratioToVecFloat?: number;
  ratioToVssFlat?: number;
}

export interface VectorBenchSummaryRow {
  n: number;
  /** Fastest configuration by p95 (k = 10) among those with recall@10 ≥ TARGET_RECALL. */
  best?: VectorBenchWinner;
  /** The same, among those also within BUDGETS (memory, ingest rate, delete cost). */
  bestWithinBudgets?: VectorBenchWinner;
  vecFloatP95Ms?: number;
  vssFlatP95Ms?: number;
}

export interface VectorBenchReport {
  /** 1/5/15-minute load averages before and after: the 2-core dev machine is shared. */
  machine: { loadAvgBefore: number[]; loadAvgAfter: number[]; freeMemGB: number };
  entries: VectorBenchEntry[];
  summary: { targetRecall: number; budgets: typeof BUDGETS; scales: VectorBenchSummaryRow[] };
}

export interface VectorBenchOptions {
  quick: boolean;
  /** Default: 10k and 100k quick, and 1M as well in full mode. */
  sizes?: number[];
  dim?: number;
  seed?: number;
  backends?: BackendName[];
  /** sqlite-vss Faiss factory below LARGE (default 'Flat,IDMap2'). */
  vssFactory?: string;
  /** sqlite-vss Faiss factory from LARGE on, where Flat would hold 4 GB (default VSS_LARGE_FACTORY). */
  vssLargeFactory?: string;
  /** Also run 'quant' keeping its own float table (default: in full mode). */
  quantOwnFloats?: boolean;
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
}

const TARGET_RECALL = 0.95;
/** The targets besides latency, applied at every size for bestWithinBudgets. */
const BUDGETS = { rssMB: 300, insertPerSec: 20_000, deleteMs: 2_000 };
const DELTA = 10_000;
const BUILD_BATCH = 16_384;
const LARGE = 1_000_000;
/**
 * sqlite-vss at 1M: Flat would be 4 GB of RAM and ~250 shards rewritten per delete. IVF256
 * trains in ~2 min per shard with Debian's reference BLAS (IVF1024/IVF4096: far longer, as
 * k-means cost grows with the lists and the 64-per-list sample), SQ8 keeps a shard at 1 KB per
 * vector; sqlite-vss always probes one list (nprobe = 1), which bounds recall.
 */
const VSS_LARGE_FACTORY = 'IVF256,SQ8';

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Queries per size and backend: stable p95 while keeping the quick run near a minute on 2 cores. */
function queryCount(n: number, quick: boolean, backend: BackendName): number {
  if (quick) return n <= 20_000 ? 50 : 20;
  if (backend === 'vec' && n >= LARGE) return 20; // ~2 s each from the file
  return n <= 20_000 ? 500 : n < LARGE ? 200 : 100;
}

interface Config {
  backend: BackendName;
  config: string;
  options: (db: Database.Database, dim: number) => Partial<OpenVectorIndexOptions>;
  /** Vectors also go to a catalogue-shaped `embeddings` table (untimed: ingest writes it anyway). */
  catalogue?: boolean;
}

function configs(opts: VectorBenchOptions, n: number): Config[] {
  const out: Config[] = [];
  for (const backend of opts.backends ?? availableBackends()) {
    if (backend === 'vec') out.push({ backend, config: 'float', options: () => ({}) });
    if (backend === 'vss') {
      const factory =
        n >= LARGE ? (opts.vssLargeFactory ?? VSS_LARGE_FACTORY) : (opts.vssFactory ?? 'Flat,IDMap2');
      out.push({ backend, config: factory, options: () => ({ factory }) });
    }
    if (backend !== 'quant') continue;
    out.push({
      backend,
      config: 'catalogue floats',
      options: (db, dim) => ({ floats: embeddingFloats(db, 'bench', dim) }),
      catalogue: true,
    });
    if (opts.quantOwnFloats ?? !opts.quick) out.push({ backend, config: 'own floats', options: () => ({}) });
  }
  return out;
}

interface Workload {
  file: VectorFile;
  n: number;
  queries: Float32Array[];
  truth: VectorHit[][];
}

/** As main/core/catalogue/open.ts opens the catalogue (the pragmas that matter for the index). */
function openCatalogue(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('mmap_size = 2147418112');
  return db;
}

function writeCatalogue(db: Database.Database, w: Workload): void {
  db.exec(`CREATE TABLE embeddings (segment_id INTEGER NOT NULL, model_id TEXT NOT NULL,
    vector BLOB NOT NULL, PRIMARY KEY (segment_id, model_id)) WITHOUT ROWID`);
  const put = db.prepare(`INSERT INTO embeddings VALUES (?, 'bench', ?)`);
  const dim = w.file.dim;
  for (const { first, data } of w.file.chunks(w.n, BUILD_BATCH)) {
    db.transaction(() => {
      for (let r = 0; r < data.length / dim; r++)
        put.run(first + r, Buffer.from(data.buffer, data.byteOffset + r * dim * 4, dim * 4));
    })();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
}

function rowsOf(first: number, data: Float32Array, dim: number) {
  return Array.from({ length: data.length / dim }, (_, r) => ({
    id: first + r,
    vector: data.subarray(r * dim, (r + 1) * dim),
  }));
}

function build(index: VectorIndex, w: Workload): number {
  let ms = 0;
  for (const { first, data } of w.file.chunks(w.n, BUILD_BATCH)) {
    const rows = rowsOf(first, data, w.file.dim);
    const t0 = performance.now();
    index.add(rows);
    ms += performance.now() - t0;
  }
  return ms;
}

function timeQueries(index: VectorIndex, w: Workload, k: number) {
  for (const q of w.queries.slice(0, 3)) index.search(q, { k }); // warm caches and lazily loaded shards
  const ms: number[] = [];
  let recall = 0;
  w.queries.forEach((q, i) => {
    const t0 = performance.now();
    const hits = index.search(q, { k });
    ms.push(performance.now() - t0);
    recall += recallAt(k, hits, w.truth[i]);
  });
  ms.sort((a, b) => a - b);
  const latency: LatencyMs = {
    k,
    p50Ms: round(percentile(ms, 50)),
    p95Ms: round(percentile(ms, 95)),
    p99Ms: round(percentile(ms, 99)),
  };
  return { latency, recall: round(recall / w.queries.length, 4) };
}

/** Removes DELTA random ids, then adds them back; both timed. */
function churn(index: VectorIndex, w: Workload, seed: number) {
  const rand = mulberry32(seed);
  const ids = [...new Set(Array.from({ length: DELTA * 2 }, () => Math.floor(rand() * w.n)))].slice(0, DELTA);
  const vectors = w.file.rows(ids);
  let t0 = performance.now();
  index.remove(ids);
  const deleteMs = performance.now() - t0;
  t0 = performance.now();
  index.add(ids.map((id, i) => ({ id, vector: vectors[i] })));
  return { deleteMs: Math.round(deleteMs), addMs: Math.round(performance.now() - t0) };
}

function benchOne(c: Config, w: Workload, dir: string, seed: number): VectorBenchEntry {
  const file = path.join(dir, `${c.backend}.db`);
  const db = openCatalogue(file);
  try {
    if (c.catalogue) writeCatalogue(db, w);
    const before = collectGarbage();
    const index = openVectorIndex(db, {
      backend: c.backend,
      name: 'bench',
      dim: w.file.dim,
      ...c.options(db, w.file.dim),
    });
    const buildMs = build(index, w);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const after = collectGarbage();
    const k10 = timeQueries(index, w, 10);
    const k100 = timeQueries(index, w, 100);
    const rssFileMB = residentMB().file;
    const stats = index.stats({ bytes: true });
    const { deleteMs, addMs } = churn(index, w, seed);
    return {
      backend: c.backend,
      config: c.config,
      n: w.n,
      dim: w.file.dim,
      k: 10,
      p50Ms: k10.latency.p50Ms,
      p95Ms: k10.latency.p95Ms,
      p99Ms: k10.latency.p99Ms,
      kValues: [k10.latency, k100.latency],
      recallAt10: k10.recall,
      recallAt100: k100.recall,
      buildMs: Math.round(buildMs),
      insertPerSec: Math.round(w.n / (buildMs / 1000)),
      diskMB: round((stats.bytes ?? 0) / 2 ** 20, 1),
      rssMB: Math.round(after.anon - before.anon),
      rssFileMB: Math.round(rssFileMB),
      deleteMs,
      addMs,
      queries: w.queries.length,
      notes: notesOf(stats),
    };
  } finally {
    db.close();
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  }
}

function notesOf(stats: ReturnType<VectorIndex['stats']>): string | undefined {
  const notes: string[] = [];
  if (stats.shards > 1) notes.push(`${stats.shards} shards`);
  if (stats.memoryBytes !== undefined)
    notes.push(`index memory ${Math.round(stats.memoryBytes / 2 ** 20)} MiB`);
  return notes.length > 0 ? notes.join('; ') : undefined;
}

/** Queries for size n with their ground truth (top 100), made from rows captured during generation. */
function workload(
  file: VectorFile,
  n: number,
  sources: Map<number, Float32Array>,
  plan: number[],
  seed: number,
): Workload {
  const queries = perturbQueries(
    plan.map((i) => sources.get(i)!),
    seed,
  );
  return { file, n, queries, truth: groundTruth(file, n, queries, 100) };
}

const withinBudgets = (e: VectorBenchEntry) =>
  e.rssMB <= BUDGETS.rssMB && e.insertPerSec >= BUDGETS.insertPerSec && e.deleteMs <= BUDGETS.deleteMs;

function winner(candidates: VectorBenchEntry[], vec?: VectorBenchEntry, vssFlat?: VectorBenchEntry) {
  const best = candidates.filter((e) => e.recallAt10 >= TARGET_RECALL).sort((a, b) => a.p95Ms - b.p95Ms)[0];
  if (!best) return undefined;
  const ratio = (other?: VectorBenchEntry) => (other ? round(best.p95Ms / other.p95Ms, 3) : undefined);
  const { backend, config, p95Ms, recallAt10 } = best;
  return { backend, config, p95Ms, recallAt10, ratioToVecFloat: ratio(vec), ratioToVssFlat: ratio(vssFlat) };
}

function summarize(entries: VectorBenchEntry[]): VectorBenchReport['summary'] {
  const sizes = [...new Set(entries.map((e) => e.n))];
  const scales = sizes.map((n): VectorBenchSummaryRow => {
    const at = entries.filter((e) => e.n === n);
    const vec = at.find((e) => e.backend === 'vec');
    const vssFlat = at.find((e) => e.backend === 'vss' && e.config.startsWith('Flat'));
    return {
      n,
      best: winner(at, vec, vssFlat),
      bestWithinBudgets: winner(at.filter(withinBudgets), vec, vssFlat),
      vecFloatP95Ms: vec?.p95Ms,
      vssFlatP95Ms: vssFlat?.p95Ms,
    };
  });
  return { targetRecall: TARGET_RECALL, budgets: BUDGETS, scales };
}

/** The data set at the largest size, in a file, with the rows every size's queries are made from. */
function generate(dir: string, sizes: number[], opts: VectorBenchOptions, dim: number, seed: number) {
  const plans = new Map(
    sizes.map((n) => {
      const count = Math.max(...(['vec', 'vss', 'quant'] as const).map((b) => queryCount(n, opts.quick, b)));
      return [n, querySources(n, count, seed + n)];
    }),
  );
  const wanted = new Set([...plans.values()].flat());
  const sources = new Map<number, Float32Array>();
  const file = VectorFile.generate(
    path.join(dir, 'data.f32'),
    Math.max(...sizes),
    dim,
    seed,
    (chunk, first) => {
      for (let r = 0; r < chunk.length / dim; r++)
        if (wanted.has(first + r)) sources.set(first + r, chunk.slice(r * dim, (r + 1) * dim));
    },
  );
  return { file, plans, sources };
}

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

/**
 * Runs every backend configuration at each size. The data set is generated once at the largest
 * size (into a temporary file); smaller sizes use its first n rows.
 */
export async function benchVectors(opts: VectorBenchOptions): Promise<VectorBenchReport> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dim = opts.dim ?? 1024;
  const seed = opts.seed ?? 1;
  const sizes = [...(opts.sizes ?? (opts.quick ? [10_000, 100_000] : [10_000, 100_000, LARGE]))].sort(
    (a, b) => a - b,
  );
  const loadAvgBefore = os.loadavg().map((x) => round(x));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bindery-bench-vectors-'));
  const entries: VectorBenchEntry[] = [];
  try {
    const t0 = performance.now();
    const { file, plans, sources } = generate(dir, sizes, opts, dim, seed);
    log(`vector: generated ${file.n} × ${dim} in ${seconds(t0)} s`);
    for (const n of sizes) {
      const t1 = performance.now();
      const full = workload(file, n, sources, plans.get(n)!, seed + n);
      log(`vector: ground truth for ${full.queries.length} queries at ${n} in ${seconds(t1)} s`);
      for (const c of configs(opts, n)) {
        const count = queryCount(n, opts.quick, c.backend);
        const w = { ...full, queries: full.queries.slice(0, count), truth: full.truth.slice(0, count) };
        const t2 = performance.now();
        const e = benchOne(c, w, dir, seed + n);
        entries.push(e);
        log(
          `vector: ${c.backend} (${c.config}) at ${n}: p95 ${e.p95Ms} ms, recall@10 ${e.recallAt10}, ` +
            `build ${e.insertPerSec}/s, ${seconds(t2)} s`,
        );
        await new Promise((r) => setImmediate(r)); // let the caller's progress output through
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const machine = {
    loadAvgBefore,
    loadAvgAfter: os.loadavg().map((x) => round(x)),
    freeMemGB: round(os.freemem() / 2 ** 30, 1),
  };
  return { machine, entries, summary: summarize(entries) };
}
