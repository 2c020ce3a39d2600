import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import type { PackManifest } from '../app/pack.js';
import { bundledTestPackDir } from '../main/core/paths.js';
import { PgStore } from '../main/core/catalogue/postgres/store.js';
import { inTransaction } from '../main/core/catalogue/postgres/connect.js';
import {
  createPackIndex,
  candidatesFor,
  dropPackIndex,
  efSearchFor,
  HNSW_GRAPH,
  insertVectors,
  nearestSegments,
  packTable,
} from '../main/core/catalogue/postgres/vectors.js';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openVectorIndex } from '../main/core/vectors/index.js';
import { round } from './ingest.js';
import { percentile } from './vectors.js';
import { startTestServer } from '../tests/support/postgres.js';
import {
  groundTruth,
  perturbQueries,
  querySources,
  recallAt,
  VectorFile,
} from '../tests/support/vector-data.js';

/**
 * The shared catalogue's search against the default backend, in one run (docs/shared-catalogue.md,
 * docs/architecture.md §13): the same seeded clustered 1024-d vectors and held-out queries as the
 * vector benchmark, searched through PgStore.search (a pgvector halfvec HNSW index, exact
 * re-rank, the catalogue's joins and filters) and through the 'quant' index, each against exact
 * ground truth. p50/p95 at k = 10 and recall@10, and the p95 ratio pgvector / quant.
 *
 * The server: BINDERY_BENCH_PG_URL (a real PostgreSQL + pgvector; a fresh database is made and
 * dropped), else PGlite in WebAssembly, whose single-threaded HNSW build takes minutes at 10k, so
 * it runs 10k (2k quick) and says so.
 */

export interface PgvectorBenchEntry {
  n: number;
  dim: number;
  queries: number;
  server: string;
  pgvector: {
    p50Ms: number;
    p95Ms: number;
    recallAt10: number;
    loadS: number;
    indexBuildS: number;
    /** The graph's shape (m, ef_construction) and the search beam (ef_search) it was measured with. */
    graph: { m: number; efConstruction: number; efSearch: number };
    /** The vector query alone at fixed beams, on a real server (empty on PGlite). */
    beams: { efSearch: number; p50Ms: number; p95Ms: number; recallAt10: number }[];
  };
  quant: { p50Ms: number; p95Ms: number; recallAt10: number };
  /** pgvector p95 / quant p95 (above 1: the embedded index is faster). */
  p95Ratio: number;
}

export interface PgvectorBench {
  entries: PgvectorBenchEntry[];
  note?: string;
}

const DIM = 1024;
const K = 10;

export async function benchPgvector(opts: {
  quick: boolean;
  log?: (l: string) => void;
}): Promise<PgvectorBench> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const real = process.env.BINDERY_BENCH_PG_URL;
  const sizes = real
    ? process.env.BINDERY_BENCH_PG_LARGE
      ? [100_000, 1_000_000]
      : [100_000]
    : [opts.quick ? 2_000 : 10_000];
  const entries: PgvectorBenchEntry[] = [];
  for (const n of sizes) entries.push(await benchSize(n, opts.quick ? 30 : 100, real, log));
  return {
    entries,
    note: real
      ? undefined
      : 'PGlite (PostgreSQL in WebAssembly, one thread) builds HNSW slowly; set BINDERY_BENCH_PG_URL to a PostgreSQL + pgvector server for 100k and 1M',
  };
}

async function benchSize(
  n: number,
  count: number,
  real: string | undefined,
  log: (l: string) => void,
): Promise<PgvectorBenchEntry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bindery-bench-pg-'));
  const server = await startTestServer(real);
  try {
    const plan = querySources(n, count, 7 + n);
    const sources = new Map<number, Float32Array>();
    const wanted = new Set(plan);
    const file = VectorFile.generate(path.join(dir, 'data.f32'), n, DIM, 7, (chunk, first) => {
      for (let r = 0; r < chunk.length / DIM; r++)
        if (wanted.has(first + r)) sources.set(first + r, chunk.slice(r * DIM, (r + 1) * DIM));
    });
    const queries = perturbQueries(
      plan.map((i) => sources.get(i)!),
      7 + n,
    );
    const truth = groundTruth(file, n, queries, K);
    const pgv = await timePgvector(server.url, Boolean(real), file, n, queries, truth, log);
    const quant = timeQuant(path.join(dir, 'quant.db'), file, n, queries, truth);
    log(
      `pgvector at ${n}: p95 ${pgv.p95Ms} ms, recall@10 ${pgv.recallAt10}; quant p95 ${quant.p95Ms} ms, recall@10 ${quant.recallAt10}`,
    );
    return {
      n,
      dim: DIM,
      queries: count,
      server: server.label,
      pgvector: pgv,
      quant,
      p95Ratio: round(pgv.p95Ms / quant.p95Ms, 1),
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads n rows the way a catalogue holds them (content, file, segment, vector), then builds the index once. */
async function timePgvector(
  url: string,
  real: boolean,
  file: VectorFile,
  n: number,
  queries: Float32Array[],
  truth: { id: number }[][],
  log: (l: string) => void,
) {
  const store = await PgStore.open(url);
  try {
    const manifest = JSON.parse(
      readFileSync(path.join(bundledTestPackDir(), 'pack.json'), 'utf8'),
    ) as PackManifest;
    await store.ensurePack({
      dir: bundledTestPackDir(),
      manifest: { ...manifest, id: 'bench', embeddingDim: DIM },
    });
    const pool = store.pool;
    await dropPackIndex(pool, 'bench');
    let t0 = performance.now();
    await pool.query(`INSERT INTO roots (key, name) VALUES ('bench', 'bench')`);
    await pool.query(
      `INSERT INTO contents (id, hash, size, kind) SELECT i, 'h' || i, 1, 'image' FROM generate_series(1, $1) i;
       INSERT INTO files (root_id, rel, size, mtime_ms, content_id, kind, status, taken_ms)
         SELECT 1, 'f' || i, 1, 0, i, 'image', 'indexed', 0 FROM generate_series(1, $1) i;
       INSERT INTO segments (id, content_id, modality, level) SELECT i, i, 'vision', 'file' FROM generate_series(1, $1) i;`.replace(
        /\$1/g,
        String(n),
      ),
    );
    const client = await pool.connect();
    try {
      // PGlite's wire server has no COPY: there rows go as a worker sends them.
      if (real) await copyVectors(client, packTable('bench'), file, n);
      else
        for (const { first, data } of file.chunks(n, 2000))
          await insertVectors(
            client,
            'bench',
            Array.from({ length: data.length / DIM }, (_, r) => ({
              segmentId: first + r + 1,
              vector: data.subarray(r * DIM, (r + 1) * DIM),
            })),
          );
    } finally {
      client.release();
    }
    const loadS = round((performance.now() - t0) / 1000, 1);
    log(`pgvector: loaded ${n} in ${loadS} s; building the HNSW index…`);
    t0 = performance.now();
    await buildIndex(pool, n);
    const indexBuildS = round((performance.now() - t0) / 1000, 1);
    const timed = await timeSearches(queries, truth, (q) => store.search('bench', q, K));
    // The beam's trade-off on this graph: the vector query alone at fixed beams (real servers only;
    // PGlite is too slow to say anything about it).
    const beams = [];
    if (real)
      for (const beam of BEAMS.filter((b) => b >= candidatesFor(K)))
        beams.push({
          efSearch: beam,
          ...(await timeSearches(queries, truth, (q) => nearestAt(pool, q, beam))),
        });
    return {
      ...timed,
      loadS,
      indexBuildS,
      graph: { ...HNSW_GRAPH, efSearch: efSearchFor(K, n) },
      beams,
    };
  } finally {
    await store.close();
  }
}

/** The HNSW build on one connection, with the graph in memory (about 2.5 KB a vector), else it spills to disk. */
async function buildIndex(pool: pg.Pool, n: number): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query(`SET maintenance_work_mem = '${n > 200_000 ? '4GB' : '1GB'}'`).catch(() => undefined);
    await createPackIndex(c, 'bench', DIM);
  } finally {
    c.release();
  }
}

const BEAMS = [100, 200, 400, 800, 1000];

/** p50, p95 and recall@10 of `search` (segment ids, best first) over the queries, after three warm-ups. */
async function timeSearches(
  queries: Float32Array[],
  truth: { id: number }[][],
  search: (q: Float32Array) => Promise<{ segmentId: number; score: number }[]>,
): Promise<{ p50Ms: number; p95Ms: number; recallAt10: number }> {
  for (const q of queries.slice(0, 3)) await search(q);
  const ms: number[] = [];
  let recall = 0;
  for (const [i, q] of queries.entries()) {
    const t = performance.now();
    const hits = await search(q);
    ms.push(performance.now() - t);
    recall += recallAt(
      K,
      hits.map((h) => ({ id: h.segmentId - 1, score: h.score })),
      truth[i] as never,
    );
  }
  ms.sort((a, b) => a - b);
  return {
    p50Ms: round(percentile(ms, 50)),
    p95Ms: round(percentile(ms, 95)),
    recallAt10: round(recall / queries.length, 4),
  };
}

/** The store's own vector query (no filters) at a fixed beam. */
function nearestAt(pool: pg.Pool, query: Float32Array, beam: number) {
  return inTransaction(pool, (c) =>
    nearestSegments(c, {
      packId: 'bench',
      dim: DIM,
      query,
      k: K,
      allowedSql: 'SELECT id FROM segments',
      params: [],
      iterative: true,
      size: 0,
      beam,
    }),
  );
}

/**
 * A bulk load as PostgreSQL's COPY in binary form: each row a segment id (int8) and a vector in
 * pgvector's binary form (int16 dimensions, int16 unused, float4s, all big-endian). The text
 * parameters a worker sends cost minutes at 100k; a bulk load of a million needs this.
 */
async function copyVectors(client: pg.PoolClient, table: string, file: VectorFile, n: number): Promise<void> {
  const rowBytes = 2 + 4 + 8 + 4 + 4 + 4 * DIM;
  async function* bytes() {
    const header = Buffer.alloc(19);
    header.write('PGCOPY\n\xff\r\n\0', 'latin1');
    yield header;
    for (const { first, data } of file.chunks(n, 2000)) {
      const rows = data.length / DIM;
      const buf = Buffer.alloc(rows * rowBytes);
      for (let r = 0; r < rows; r++) {
        let at = r * rowBytes;
        at = buf.writeInt16BE(2, at);
        at = buf.writeInt32BE(8, at);
        at = buf.writeBigInt64BE(BigInt(first + r + 1), at);
        at = buf.writeInt32BE(4 + 4 * DIM, at);
        at = buf.writeInt16BE(DIM, at);
        at = buf.writeInt16BE(0, at);
        for (let d = 0; d < DIM; d++) at = buf.writeFloatBE(data[r * DIM + d], at);
      }
      yield buf;
    }
    const trailer = Buffer.alloc(2);
    trailer.writeInt16BE(-1);
    yield trailer;
  }
  await pipeline(
    Readable.from(bytes()),
    client.query(copyFrom(`COPY ${table} (segment_id, v) FROM STDIN (FORMAT binary)`)),
  );
}

/** The default backend as the engine opens it, with its own float copy (no catalogue tables needed). */
function timeQuant(
  dbFile: string,
  file: VectorFile,
  n: number,
  queries: Float32Array[],
  truth: { id: number }[][],
) {
  const db = new Database(dbFile);
  try {
    const index = openVectorIndex(db, { backend: 'quant', name: 'bench', dim: DIM });
    for (const { first, data } of file.chunks(n, 16_384))
      index.add(
        Array.from({ length: data.length / DIM }, (_, r) => ({
          id: first + r,
          vector: data.subarray(r * DIM, (r + 1) * DIM),
        })),
      );
    for (const q of queries.slice(0, 3)) index.search(q, { k: K });
    const ms: number[] = [];
    let recall = 0;
    for (const [i, q] of queries.entries()) {
      const t = performance.now();
      const hits = index.search(q, { k: K });
      ms.push(performance.now() - t);
      recall += recallAt(K, hits, truth[i] as never);
    }
    ms.sort((a, b) => a - b);
    return {
      p50Ms: round(percentile(ms, 50)),
      p95Ms: round(percentile(ms, 95)),
      recallAt10: round(recall / queries.length, 4),
    };
  } finally {
    db.close();
  }
}
