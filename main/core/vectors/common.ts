import type { Db, SearchOptions, VectorHit } from './types.js';

/** What the backends share: validation, id/vector hygiene, metadata, batching and filtering. */

/** sqlite-vec's vec0 refuses wider vectors; sqlite-vss has no limit, but one rule keeps them swappable. */
export const MAX_DIM = 8192;

export interface Row {
  id: number;
  vector: Float32Array;
}

export function assertName(name: string): void {
  if (!/^[a-z0-9_]{1,48}$/.test(name))
    throw new Error(`vector index name must match [a-z0-9_]{1,48}, got '${name}'`);
}

export function assertDim(dim: number): void {
  if (!Number.isInteger(dim) || dim < 1 || dim > MAX_DIM)
    throw new Error(`dimension must be 1..${MAX_DIM}, got ${dim}`);
}

export function assertId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 0)
    throw new Error(`vector id must be a non-negative safe integer, got ${id}`);
}

/** Wrong-length vectors are refused here because sqlite-vss would silently read past or short of them. */
export function assertVector(v: Float32Array, dim: number, what: string): void {
  if (!(v instanceof Float32Array)) throw new Error(`${what}: expected a Float32Array`);
  if (v.length !== dim) throw new Error(`${what}: dimension mismatch, expected ${dim}, got ${v.length}`);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new Error(`${what}: component ${i} is not finite`);
  }
}

/** Validates a batch and keeps the last vector given for each id (upsert semantics within a batch). */
export function prepareRows(items: ReadonlyArray<Row>, dim: number): Row[] {
  const byId = new Map<number, Row>();
  for (const item of items) {
    assertId(item.id);
    assertVector(item.vector, dim, `vector for id ${item.id}`);
    byId.delete(item.id); // re-insert so that order follows the last occurrence
    byId.set(item.id, item);
  }
  return [...byId.values()];
}

export function uniqueIds(ids: readonly number[]): number[] {
  ids.forEach(assertId);
  return [...new Set(ids)];
}

export function assertK(k: number): void {
  if (!Number.isSafeInteger(k) || k < 0) throw new Error(`k must be a non-negative integer, got ${k}`);
}

/** The vector's bytes (little-endian float32), without copying: both extensions take BLOBs. */
export function f32Blob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * Runs `fn` in a transaction of its own, or inside the caller's when one is open. No nested
 * SAVEPOINT is used: sqlite-vss cannot roll one back (see vss/backend.ts), so an error must
 * reach the caller, whose rollback then undoes everything, the extension's buffers included.
 */
export function atomically(db: Db, fn: () => void): void {
  if (db.inTransaction) fn();
  else db.transaction(fn)();
}

/**
 * Writes `items` in chunks of `size`, each chunk committed on its own so that no single commit
 * grows without bound; inside a caller's transaction the chunks all join it (one atomic commit).
 */
export function writeInChunks<T>(
  db: Db,
  items: readonly T[],
  size: number,
  write: (chunk: T[]) => void,
): void {
  for (const chunk of chunks(items, Math.max(1, size))) atomically(db, () => write(chunk));
}

/** Best first; equal scores by id so that results are deterministic across backends and runs. */
export function byScore(a: VectorHit, b: VectorHit): number {
  return b.score - a.score || a.id - b.id;
}

/** sqlite-vss reports squared L2 (Faiss IndexFlatL2); for unit vectors |a-b|² = 2 - 2·cos. */
export function cosineFromSquaredL2(d2: number): number {
  return 1 - d2 / 2;
}

/** sqlite-vec's distance_metric=cosine reports 1 - cos. */
export function cosineFromCosineDistance(d: number): number {
  return 1 - d;
}

/** The vector's float32 values from a BLOB, as a view when aligned (SQLite's buffers may not be). */
export function blobF32(blob: Buffer, dim: number): Float32Array | undefined {
  if (blob.byteLength !== 4 * dim) return undefined;
  if (blob.byteOffset % 4 === 0) return new Float32Array(blob.buffer, blob.byteOffset, dim);
  return new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
}

export function norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** Cosine similarity given |a| (computed once per query); 0 when either vector is zero. */
export function cosine(a: Float32Array, aNorm: number, b: Float32Array): number {
  let dot = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    bb += b[i] * b[i];
  }
  return aNorm > 0 && bb > 0 ? dot / (aNorm * Math.sqrt(bb)) : 0;
}

/** Below this share of the index, an allowIds set is searched member by member (types.ts). */
export const SMALL_ALLOW_SET = 0.05;

export function isSmallAllowSet(opts: SearchOptions, count: number): boolean {
  return opts.allowIds !== undefined && opts.allowIds.size < SMALL_ALLOW_SET * count;
}

/** The search's filters as one predicate (allowIds and allow both apply), or undefined for none. */
export function allowOf(opts: SearchOptions): ((id: number) => boolean) | undefined {
  const { allow, allowIds } = opts;
  if (!allowIds) return allow;
  return allow ? (id) => allowIds.has(id) && allow(id) : (id) => allowIds.has(id);
}

/** The n best candidates of a query and whether the index had no more than that to give. */
export interface Candidates {
  hits: VectorHit[];
  exhausted: boolean;
}

/** First oversampling factor and growth per round when post-filtering. */
const OVERSAMPLE = 4;
const GROWTH = 8;

/**
 * Post-filtering with oversampling: asks for more candidates than k (4×, then 8× more each round)
 * until k of them pass `allow` or the index is exhausted. A backend that can restrict a scan to an
 * id list (sqlite-vec's `rowid IN`) passes `fallback`, taken after the first round instead of
 * growing, because a selective filter would otherwise cost several full scans.
 */
export function filteredTopK(
  k: number,
  allow: (id: number) => boolean,
  candidates: (n: number) => Candidates,
  fallback?: () => VectorHit[],
): VectorHit[] {
  for (let n = Math.max(k * OVERSAMPLE, k + 32); ; n *= GROWTH) {
    const { hits, exhausted } = candidates(n);
    const passed = hits.filter((h) => allow(h.id));
    if (passed.length >= k || exhausted) return passed.slice(0, k);
    if (fallback) return fallback();
  }
}

/** Key/value metadata per index (`vx_<name>_meta`), so a reopened index checks what it was built as. */
export class IndexMeta {
  readonly table: string;

  constructor(
    private readonly db: Db,
    private readonly name: string,
  ) {
    this.table = `vx_${name}_meta`;
  }

  exists(): boolean {
    return tableExists(this.db, this.table);
  }

  get(key: string): string | undefined {
    if (!this.exists()) return undefined;
    return this.db.prepare(`SELECT value FROM "${this.table}" WHERE key = ?`).pluck().get(key) as
      string | undefined;
  }

  set(key: string, value: string | number): void {
    this.db
      .prepare(
        `INSERT INTO "${this.table}"(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
      )
      .run(key, String(value));
  }

  /**
   * On first open writes `identity` and `initial`; on later opens refuses a different identity
   * (backend, dimension, factory), since the stored index could not serve it: drop and rebuild.
   */
  init(identity: Record<string, string | number>, initial: Record<string, string | number> = {}): void {
    if (!this.exists()) {
      atomically(this.db, () => {
        this.db.exec(`CREATE TABLE "${this.table}"(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`);
        for (const [key, value] of Object.entries({ ...identity, ...initial })) this.set(key, value);
      });
      return;
    }
    for (const [key, value] of Object.entries(identity)) {
      const stored = this.get(key);
      if (stored !== String(value)) {
        throw new Error(
          `vector index '${this.name}' was built with ${key}=${stored}, not ${value}; drop it and rebuild`,
        );
      }
    }
  }

  drop(): void {
    this.db.exec(`DROP TABLE IF EXISTS "${this.table}"`);
  }
}

export function tableExists(db: Db, table: string): boolean {
  return (
    db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).pluck().get(table) !==
    undefined
  );
}

/**
 * Bytes of the given tables (and their indexes) in the file, from the dbstat virtual table that
 * better-sqlite3 compiles in; undefined where it is missing.
 */
export function tableBytes(db: Db, tables: string[]): number | undefined {
  try {
    const stmt = db
      .prepare(`SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ? AND aggregate = TRUE`)
      .pluck();
    const owned = db
      .prepare(`SELECT name FROM sqlite_schema WHERE tbl_name IN (SELECT value FROM json_each(?))`)
      .pluck()
      .all(JSON.stringify(tables)) as string[];
    return owned.reduce((sum, t) => sum + (stmt.get(t) as number), 0);
  } catch {
    return undefined;
  }
}
