import type pg from 'pg';
import { vectorLiteral } from './connect.js';

/**
 * A pack's vectors in pgvector (docs/architecture.md §13, docs/vector-index.md): one table per pack
 * with the exact float vectors, and an HNSW index over their half-precision copies (halfvec,
 * half the memory of a float index). A search takes `candidates` neighbours from the index and
 * re-ranks them by the exact cosine of the full vectors, so scores are exact and the order of
 * the top k follows them; bench/pgvector.ts measures recall@10 against exact search.
 */

/** The pack's table: `emb_` and the pack id made an identifier ([a-z0-9_], at most 63 bytes). */
export function packTable(packId: string): string {
  return `emb_${packId.toLowerCase().replace(/[^a-z0-9]/g, '_')}`.slice(0, 63);
}

/** pgvector's HNSW indexes halfvec up to 4,000 dimensions; beyond that search is exact. */
export const HALFVEC_MAX_DIM = 4000;

export async function createPackTable(
  c: pg.PoolClient | pg.Pool,
  packId: string,
  dim: number,
): Promise<void> {
  const t = packTable(packId);
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${t} (
       segment_id BIGINT PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
       v vector(${dim}) NOT NULL)`,
  );
  await createPackIndex(c, packId, dim);
}

/**
 * The HNSW graph's shape: links per node (m) and the beam while building (ef_construction).
 * pgvector's defaults (16, 64) lose recall at a million 1024-d vectors whatever the search beam
 * (docs/vector-index.md#pgvector-for-the-shared-catalogue); this one keeps 0.99 there for about
 * three times the build time (under 1 ms a vector here), which a worker pays per insert next to
 * an encode that takes far longer.
 */
export const HNSW_GRAPH = { m: 24, efConstruction: 128 } as const;

/** The pack's HNSW index (a bulk load drops it and builds it once after: faster than row by row). */
export async function createPackIndex(
  c: pg.PoolClient | pg.Pool,
  packId: string,
  dim: number,
): Promise<void> {
  const t = packTable(packId);
  const { m, efConstruction } = HNSW_GRAPH;
  if (dim <= HALFVEC_MAX_DIM)
    await c.query(
      `CREATE INDEX IF NOT EXISTS ${t}_hnsw ON ${t} USING hnsw ((v::halfvec(${dim})) halfvec_cosine_ops)
         WITH (m = ${m}, ef_construction = ${efConstruction})`,
    );
}

export async function dropPackIndex(c: pg.PoolClient | pg.Pool, packId: string): Promise<void> {
  await c.query(`DROP INDEX IF EXISTS ${packTable(packId)}_hnsw`);
}

export async function insertVectors(
  c: pg.PoolClient,
  packId: string,
  rows: readonly { segmentId: number; vector: Float32Array }[],
): Promise<void> {
  if (rows.length === 0) return;
  await c.query(
    `INSERT INTO ${packTable(packId)} (segment_id, v)
       SELECT * FROM unnest($1::bigint[], $2::vector[]) ON CONFLICT (segment_id) DO UPDATE SET v = excluded.v`,
    [rows.map((r) => r.segmentId), rows.map((r) => vectorLiteral(r.vector))],
  );
}

/** Candidates taken from the approximate index per search, before the exact re-rank. */
export function candidatesFor(k: number): number {
  return Math.max(100, 4 * k);
}

/**
 * The HNSW beam (hnsw.ef_search) for a pack of `size` vectors: the candidates up to 250k, wider as
 * the graph grows, to 1,000 (pgvector's limit) from 2.5M. Measured on the bench's clustered 1024-d
 * vectors over the HNSW_GRAPH graph (docs/vector-index.md): at 1M a beam of 100 finds 0.955 to
 * 0.977 of the true top 10 and 400 finds 0.994 to 0.997, as many as 1,000 does, a few ms sooner;
 * at 100k 100 finds them all.
 */
export function efSearchFor(k: number, size: number): number {
  return Math.min(1000, Math.max(candidatesFor(k), Math.ceil(size / 2500)));
}

export interface RankedSegment {
  segmentId: number;
  score: number;
}

/**
 * The k best segments among those `allowedSql` selects (a subquery of segment ids), best first,
 * equal scores by id. pgvector ≥ 0.8 keeps scanning the graph until enough candidates pass the
 * filter (iterative index scans); older servers get a wider beam instead.
 */
export async function nearestSegments(
  c: pg.PoolClient,
  opts: {
    packId: string;
    dim: number;
    query: Float32Array;
    k: number;
    allowedSql: string;
    params: unknown[];
    iterative: boolean;
    /** How many vectors the pack has (an estimate will do): the beam widens with it. */
    size: number;
    /** A fixed beam instead (the bench's sweep of the trade-off). */
    beam?: number;
  },
): Promise<RankedSegment[]> {
  const { dim, k, params } = opts;
  const n = candidatesFor(k);
  await c.query(`SET LOCAL hnsw.ef_search = ${opts.beam ?? efSearchFor(k, opts.size)}`);
  if (opts.iterative) await c.query(`SET LOCAL hnsw.iterative_scan = relaxed_order`);
  params.push(vectorLiteral(opts.query));
  // Typed once as a full vector: a parameter cast two ways takes its first cast's type (halfvec).
  const q = `($${params.length}::vector(${dim}))`;
  const approx = dim <= HALFVEC_MAX_DIM ? `e.v::halfvec(${dim}) <=> ${q}::halfvec(${dim})` : `e.v <=> ${q}`;
  const { rows } = await c.query<RankedSegment>(
    `WITH candidates AS MATERIALIZED (
       SELECT e.segment_id, e.v FROM ${packTable(opts.packId)} e
        WHERE e.segment_id IN (${opts.allowedSql})
        ORDER BY ${approx} LIMIT ${n})
     SELECT segment_id AS "segmentId", 1 - (v <=> ${q}) AS score FROM candidates
      ORDER BY v <=> ${q}, segment_id LIMIT ${k}`,
    params,
  );
  return rows;
}

/** How many vectors a pack's table holds: the planner's estimate, else (never analysed yet) a count. */
export async function packSize(c: pg.PoolClient | pg.Pool, packId: string): Promise<number> {
  const t = packTable(packId);
  const { rows } = await c.query<{ n: number }>(
    `SELECT CASE WHEN c.reltuples > 0 THEN c.reltuples::bigint ELSE (SELECT count(*) FROM ${t}) END AS n
       FROM pg_class c WHERE c.oid = '${t}'::regclass`,
  );
  return rows[0]?.n ?? 0;
}
