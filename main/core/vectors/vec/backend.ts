import type Database from 'better-sqlite3';
import {
  allowOf,
  assertK,
  assertVector,
  atomically,
  byScore,
  type Candidates,
  cosineFromCosineDistance,
  f32Blob,
  filteredTopK,
  IndexMeta,
  isSmallAllowSet,
  prepareRows,
  tableBytes,
  uniqueIds,
  writeInChunks,
} from '../common.js';
import type { Db, SearchOptions, VectorHit, VectorIndex, VectorIndexStats } from '../types.js';

/**
 * The sqlite-vec backend: one vec0 virtual table, `float[dim] distance_metric=cosine`, searched
 * exactly by brute force. Notes on sqlite-vec 0.1.9 (pinned by tests/vectors/vec.test.ts):
 *  - k-NN only through `embedding MATCH ? AND k = ?`; `ORDER BY vec_distance_*` is a per-row
 *    scan about 190× slower. k is capped at 4096, so longer lists are read in pages with the
 *    `distance >= ?` constraint that vec0 supports.
 *  - `rowid IN (…)` restricts the scan to given ids: the exact answer for a selective filter in
 *    one pass (measured at 100k: 30 ms for 1% of ids, 81 ms for 50%, 110 ms unfiltered).
 *  - Rowids must be bound as integers: better-sqlite3 binds JS numbers as REAL, which vec0
 *    refuses, so ids go in as BigInt.
 *  - UPDATE of the vector column keeps the row's slot (DELETE + INSERT would leave a hole).
 */

/** vec0's limit on k (SQLITE_VEC_VEC0_K_MAX). */
const K_MAX = 4096;

/** Rows per transaction: keeps each commit (and the WAL) bounded during a full rebuild. */
const WRITE_CHUNK = 4096;

/** vec0's shadow tables in 0.1.9 (no metadata, partition or auxiliary columns are declared). */
const SHADOWS = ['info', 'chunks', 'rowids', 'vector_chunks00'];

interface KnnRow {
  id: number;
  distance: number;
}

export class VecIndex implements VectorIndex {
  readonly backend = 'vec' as const;
  private readonly meta: IndexMeta;
  private readonly table: string;
  private readonly knnCache = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Db,
    readonly name: string,
    readonly dim: number,
  ) {
    this.meta = new IndexMeta(db, name);
    this.table = `vx_${name}_vec`;
    atomically(db, () => {
      this.meta.init({ backend: 'vec', dim });
      db.exec(
        `CREATE VIRTUAL TABLE IF NOT EXISTS "${this.table}" USING vec0(embedding float[${dim}] distance_metric=cosine)`,
      );
    });
  }

  add(items: ReadonlyArray<{ id: number; vector: Float32Array }>): void {
    const rows = prepareRows(items, this.dim);
    const update = this.db.prepare(`UPDATE "${this.table}" SET embedding = ? WHERE rowid = ?`);
    const insert = this.db.prepare(`INSERT INTO "${this.table}"(rowid, embedding) VALUES (?, ?)`);
    writeInChunks(this.db, rows, WRITE_CHUNK, (chunk) => {
      for (const { id, vector } of chunk) {
        const blob = f32Blob(vector);
        if (update.run(blob, BigInt(id)).changes === 0) insert.run(BigInt(id), blob);
      }
    });
  }

  remove(ids: readonly number[]): void {
    const del = this.db.prepare(`DELETE FROM "${this.table}" WHERE rowid = ?`);
    writeInChunks(this.db, uniqueIds(ids), WRITE_CHUNK, (chunk) => {
      for (const id of chunk) del.run(BigInt(id));
    });
  }

  search(query: Float32Array, opts: SearchOptions): VectorHit[] {
    assertVector(query, this.dim, 'query');
    assertK(opts.k);
    if (opts.k === 0) return [];
    const blob = f32Blob(query);
    const allow = allowOf(opts);
    if (!allow) return this.knn(blob, opts.k).hits;
    // An allowIds set is the list of ids to scan; otherwise the allowed ones are found among all.
    const ids = () => (opts.allowIds ? [...opts.allowIds] : this.ids()).filter(allow);
    const among = () => this.knn(blob, opts.k, JSON.stringify(ids())).hits;
    if (isSmallAllowSet(opts, this.count())) return among();
    return filteredTopK(opts.k, allow, (n) => this.knn(blob, n), among);
  }

  /** From vec0's rowid shadow table: a plain B-tree count, where counting the vtab scans it (16 ms at 100k). */
  count(): number {
    return this.db.prepare(`SELECT count(*) FROM "${this.table}_rowids"`).pluck().get() as number;
  }

  stats(opts: { bytes?: boolean } = {}): VectorIndexStats {
    const tables = [this.meta.table, this.table, ...SHADOWS.map((s) => `${this.table}_${s}`)];
    return {
      backend: 'vec',
      count: this.count(),
      dim: this.dim,
      shards: 1,
      bytes: opts.bytes ? tableBytes(this.db, tables) : undefined,
    };
  }

  drop(): void {
    atomically(this.db, () => {
      this.db.exec(`DROP TABLE IF EXISTS "${this.table}"`);
      this.meta.drop();
    });
    this.knnCache.clear();
  }

  private ids(): number[] {
    return this.db.prepare(`SELECT rowid FROM "${this.table}_rowids"`).pluck().all() as number[];
  }

  /**
   * The n nearest (optionally among the ids in `amongJson`), read in pages of at most K_MAX:
   * each next page starts at the last distance seen, skipping the ids already returned there.
   */
  private knn(blob: Buffer, n: number, amongJson?: string): Candidates {
    const hits: VectorHit[] = [];
    const seenAtLast = new Set<number>();
    let last: number | undefined;
    for (;;) {
      const want = Math.min(K_MAX, n - hits.length + seenAtLast.size);
      if (want <= seenAtLast.size) throw new Error(`more than ${K_MAX} vectors tie at distance ${last}`);
      const rows = this.knnPage(blob, want, amongJson, last);
      for (const r of rows) {
        if (r.distance === last && seenAtLast.has(r.id)) continue;
        if (r.distance !== last) seenAtLast.clear();
        seenAtLast.add(r.id);
        last = r.distance;
        hits.push({ id: r.id, score: cosineFromCosineDistance(r.distance) });
      }
      const exhausted = rows.length < want;
      if (exhausted || hits.length >= n) return { hits: hits.slice(0, n).sort(byScore), exhausted };
    }
  }

  private knnPage(
    blob: Buffer,
    k: number,
    amongJson: string | undefined,
    from: number | undefined,
  ): KnnRow[] {
    const key = `${amongJson !== undefined}:${from !== undefined}`;
    let stmt = this.knnCache.get(key);
    if (!stmt) {
      const among = amongJson !== undefined ? 'AND rowid IN (SELECT value FROM json_each(@among))' : '';
      const page = from !== undefined ? 'AND distance >= @from' : '';
      const sql = `SELECT rowid AS id, distance FROM "${this.table}" WHERE embedding MATCH @q AND k = @k ${among} ${page}`;
      this.knnCache.set(key, (stmt = this.db.prepare(sql)));
    }
    const params: Record<string, unknown> = { q: blob, k };
    if (amongJson !== undefined) params.among = amongJson;
    if (from !== undefined) params.from = from;
    return stmt.all(params) as KnnRow[];
  }
}
