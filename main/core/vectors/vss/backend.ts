// Size: the sharded sqlite-vss backend behind the VectorIndex contract.
import {
  allowOf,
  assertK,
  atomically,
  assertVector,
  byScore,
  type Candidates,
  cosineFromSquaredL2,
  f32Blob,
  filteredTopK,
  IndexMeta,
  prepareRows,
  type Row,
  tableBytes,
  uniqueIds,
  writeInChunks,
} from '../common.js';
import { defaultShardRows, type FactorySpec, parseFactory } from './faiss-factory.js';
import type { Db, SearchOptions, VectorHit, VectorIndex, VectorIndexStats } from '../types.js';

/**
 * The sqlite-vss backend: vss0 virtual tables wrapping Faiss indexes, split into shards.
 *
 * How sqlite-vss 0.1.2 behaves (read from its source, pinned by tests/vectors/vss.test.ts):
 *  - Each vss0 table is one Faiss index serialised into ONE BLOB (`<table>_index`), loaded whole
 *    when a connection first touches the table and rewritten whole by every commit that changed
 *    it. SQLite caps a BLOB at 1e9 bytes (≈ 243k Flat 1024-d vectors), hence shards.
 *  - INSERT/DELETE only buffer in memory; Faiss applies them at COMMIT (xSync), deletes before
 *    inserts, so delete + re-insert of an id in one transaction is an upsert. Until then a search
 *    on the same connection does not see them. There is no UPDATE, and no SAVEPOINT support:
 *    ROLLBACK TO a savepoint around vss writes would leave Faiss and the rowid table apart, so
 *    this backend never opens one and callers must not either (a full ROLLBACK is fine).
 *  - Faiss aborts the whole process (an uncaught C++ exception) when asked to search an empty
 *    index. Every shard therefore keeps a SENTINEL row (a zero vector, filtered out of results),
 *    and a shard is searched only once its sentinel is known to be committed.
 *  - A BLOB starting with the bytes 'v', 0x01 is taken as sqlite-vss's own vector format and its
 *    first two bytes dropped: a raw float32 BLOB hits that with probability 2⁻¹⁶, and sqlite-vss
 *    never checks the length it then inserts (the index silently shifts). Vectors are therefore
 *    always sent in that format ('v', 0x01, floats), which is unambiguous.
 *  - Distances are squared L2 (Faiss IndexFlatL2): for unit vectors cos = 1 - d²/2.
 *  - Each connection holds its own in-memory copy of every index: write through one connection
 *    (the catalogue's); another connection must reopen to see changes.
 *
 * Write cost, measured on the 2-core dev machine (1024-d, Flat,IDMap2, WAL, synchronous=NORMAL):
 *  - Quadratic inside one transaction: sqlite-vss grows its insert buffer with an exact-size
 *    reserve() per row, so every row copies the whole buffer, and once the buffer passes glibc's
 *    mmap threshold (128 KiB = 32 vectors) every copy also page-faults fresh memory: 5k rows in
 *    one transaction took 30.6 s, 8k 80.7 s. Raising glibc's dynamic mmap threshold to 32 MiB
 *    first (primeAllocator) cut that to 3.5 s and 10.6 s. A staging table plus one INSERT … SELECT
 *    changes nothing (still one xUpdate per row: 29.8 s for 5k).
 *  - Linear in the shard per commit: each commit serialises the shard's index and rewrites its
 *    BLOB, ~27 µs per row already in it (a 64 MB BLOB UPDATE alone takes 130–200 ms).
 *  - Hence chunked commits of c ≈ √(200·n) rows into a shard that ends with n rows, which
 *    balances the two (16k rows into one shard: c = 250 → 15.0 s, 500 → 7.6 s, 1000 → 5.2 s,
 *    2000 → 4.3 s, 4000 → 8.2 s; ratio 100 / 200 / 400 / 800 for 100k rows → 17.4 / 15.3 / 16.5 /
 *    23.0 s), and small shards (faiss-factory.ts): 50k rows as one shard took 50.7 s; 100k as 7
 *    shards of 14k 32 s, as 25 shards of 4k 12.3 s (8k rows/s; 14.5 s without primeAllocator),
 *    searched in the same 15–17 ms.
 *  - Inside a caller's transaction none of this applies: its rows all commit (and cost) at once.
 */

/** Rowid of each shard's placeholder row; far outside the segment-id range. */
const SENTINEL = Number.MIN_SAFE_INTEGER;

/** c = √(CHUNK_RATIO · n): the measured per-commit vs per-row costs (27 µs / 0.068 µs per row², halved). */
const CHUNK_RATIO = 200;

/** Keeps a chunk's insert buffer under the 32 MiB that primeAllocator lets glibc serve from the heap. */
const CHUNK_BUFFER_BYTES = 24 * 2 ** 20;

/** glibc raises its mmap threshold to the size of a freed mmapped chunk, up to 32 MiB. */
const PRIME_BYTES = 32 * 2 ** 20 - 64 * 2 ** 10;
let primed = false;

/**
 * Makes glibc serve sqlite-vss's growing insert buffer from the heap instead of fresh mmaps (see
 * the numbers above) by having SQLite malloc and free one ~32 MiB block: glibc then raises its
 * mmap threshold to that size for the rest of the process (it only ever rises).
 */
function primeAllocator(db: Db): void {
  if (primed || process.platform !== 'linux') return;
  primed = true;
  db.prepare('SELECT length(randomblob(?))').pluck().get(PRIME_BYTES);
}

/** sqlite-vss's own vector BLOB format: 'v', type 1 (float32), then the floats. */
function vssBlob(vectors: readonly Float32Array[], dim: number): Buffer {
  const out = Buffer.allocUnsafe(2 + 4 * dim * vectors.length);
  out[0] = 0x76;
  out[1] = 1;
  vectors.forEach((v, i) => f32Blob(v).copy(out, 2 + 4 * dim * i));
  return out;
}

function groupBy<T>(items: T[], key: (item: T) => number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

interface ShardStatements {
  insert: (id: number, blob: Buffer) => void;
  train: (blob: Buffer) => void;
  remove: (idsJson: string) => void;
  search: (blob: Buffer, limit: number) => { id: number; distance: number }[];
  locate: (idsJson: string) => number[];
  count: () => number;
  hasSentinel: () => boolean;
}

function shardStatements(db: Db, t: string): ShardStatements {
  const insert = db.prepare(`INSERT INTO "${t}"(rowid, embedding) VALUES (?, ?)`);
  const train = db.prepare(`INSERT INTO "${t}"(operation, embedding) VALUES ('training', ?)`);
  const remove = db.prepare(`DELETE FROM "${t}" WHERE rowid IN (SELECT value FROM json_each(?))`);
  const search = db.prepare(
    `SELECT rowid AS id, distance FROM "${t}" WHERE vss_search(embedding, ?) LIMIT ?`,
  );
  const locate = db
    .prepare(`SELECT rowid FROM "${t}_data" WHERE rowid IN (SELECT value FROM json_each(?))`)
    .pluck();
  const count = db.prepare(`SELECT count(*) FROM "${t}_data" WHERE rowid >= 0`).pluck();
  const sentinel = db.prepare(`SELECT 1 FROM "${t}_data" WHERE rowid = ${SENTINEL}`).pluck();
  return {
    insert: (id, blob) => void insert.run(id, blob),
    train: (blob) => void train.run(blob),
    remove: (json) => void remove.run(json),
    search: (blob, limit) => search.all(blob, limit) as { id: number; distance: number }[],
    locate: (json) => locate.all(json) as number[],
    count: () => count.get() as number,
    hasSentinel: () => sentinel.get() !== undefined,
  };
}

export class VssIndex implements VectorIndex {
  readonly backend = 'vss' as const;
  private readonly meta: IndexMeta;
  private readonly spec: FactorySpec;
  private readonly shardRows: number;
  private readonly statements = new Map<number, ShardStatements>();
  /** Shards whose sentinel was seen outside any transaction, i.e. committed: safe to search. */
  private readonly ready = new Set<number>();
  private readonly zero: Buffer;

  constructor(
    private readonly db: Db,
    readonly name: string,
    readonly dim: number,
    factory = 'Flat,IDMap2',
    shardRows?: number,
  ) {
    this.spec = parseFactory(factory, dim);
    this.shardRows = shardRows ?? defaultShardRows(this.spec);
    if (!Number.isSafeInteger(this.shardRows) || this.shardRows < 1)
      throw new Error(`bad shardRows ${shardRows}`);
    this.zero = vssBlob([new Float32Array(dim)], dim);
    this.meta = new IndexMeta(db, name);
    this.meta.init({ backend: 'vss', dim, factory }, { shards: 0 });
  }

  add(items: ReadonlyArray<{ id: number; vector: Float32Array }>): void {
    const rows = prepareRows(items, this.dim);
    if (rows.length === 0) return;
    primeAllocator(this.db);
    const home = this.locate(rows.map((r) => r.id));
    for (const [shard, group] of this.place(rows, home)) this.writeShard(shard, group, home, rows);
  }

  remove(ids: readonly number[]): void {
    const home = this.locate(uniqueIds(ids));
    const byShard = groupBy([...home.keys()], (id) => home.get(id)!);
    // One transaction, so each touched shard's BLOB is rewritten once.
    atomically(this.db, () => {
      for (const [shard, list] of byShard) this.shard(shard).remove(JSON.stringify(list));
    });
  }

  search(query: Float32Array, opts: SearchOptions): VectorHit[] {
    assertVector(query, this.dim, 'query');
    assertK(opts.k);
    if (opts.k === 0) return [];
    const blob = vssBlob([query], this.dim);
    const shards = this.searchable();
    const top = (n: number) => this.topAcross(shards, blob, n);
    const allow = allowOf(opts);
    return allow ? filteredTopK(opts.k, allow, top) : top(opts.k).hits;
  }

  count(): number {
    let total = 0;
    for (let s = 0, n = this.shardCount(); s < n; s++) total += this.shard(s).count();
    return total;
  }

  stats(opts: { bytes?: boolean } = {}): VectorIndexStats {
    const shards = this.shardCount();
    const tables = [this.meta.table];
    for (let s = 0; s < shards; s++)
      tables.push(this.table(s), `${this.table(s)}_index`, `${this.table(s)}_data`);
    return {
      backend: 'vss',
      count: this.count(),
      dim: this.dim,
      shards,
      factory: this.spec.factory,
      bytes: opts.bytes ? tableBytes(this.db, tables) : undefined,
    };
  }

  drop(): void {
    const shards = this.shardCount();
    atomically(this.db, () => {
      for (let s = 0; s < shards; s++) this.db.exec(`DROP TABLE IF EXISTS "${this.table(s)}"`);
      this.meta.drop();
    });
    this.statements.clear();
    this.ready.clear();
  }

  private table(shard: number): string {
    return `vx_${this.name}_s${shard}`;
  }

  private shard(shard: number): ShardStatements {
    let st = this.statements.get(shard);
    if (!st) this.statements.set(shard, (st = shardStatements(this.db, this.table(shard))));
    return st;
  }

  private shardCount(): number {
    return Number(this.meta.get('shards') ?? 0);
  }

  /** Which shard holds each of `ids` today (ids not in the index are absent from the map). */
  private locate(ids: number[]): Map<number, number> {
    const home = new Map<number, number>();
    if (ids.length === 0) return home;
    const json = JSON.stringify(ids);
    for (let s = 0, n = this.shardCount(); s < n; s++)
      for (const id of this.shard(s).locate(json)) home.set(id, s);
    return home;
  }

  /** Existing ids stay in their shard; new ones fill shards with room, then new shards. */
  private place(rows: Row[], home: Map<number, number>): Map<number, Row[]> {
    const plan = groupBy(
      rows.filter((r) => home.has(r.id)),
      (r) => home.get(r.id)!,
    );
    const fresh = rows.filter((r) => !home.has(r.id));
    const existing = this.shardCount();
    for (let s = 0, next = 0; next < fresh.length; s++) {
      const room = this.shardRows - (s < existing ? this.shard(s).count() : 0);
      if (room <= 0) continue;
      plan.set(s, [...(plan.get(s) ?? []), ...fresh.slice(next, next + room)]);
      next += room;
    }
    return plan;
  }

  private writeShard(shard: number, group: Row[], home: Map<number, number>, batch: Row[]): void {
    if (shard >= this.shardCount()) this.createShard(shard, batch);
    const st = this.shard(shard);
    const chunk = this.chunkRows(st.count() + group.length);
    writeInChunks(this.db, group, chunk, (rows) => {
      if (!st.hasSentinel()) st.insert(SENTINEL, this.zero);
      const replaced = rows.filter((r) => home.get(r.id) === shard).map((r) => r.id);
      if (replaced.length > 0) st.remove(JSON.stringify(replaced));
      for (const r of rows) st.insert(r.id, vssBlob([r.vector], this.dim));
    });
  }

  /** Rows per commit for a shard that will hold `rows` (see the cost model at the top). */
  private chunkRows(rows: number): number {
    const bufferCap = Math.max(1, Math.floor(CHUNK_BUFFER_BYTES / (4 * this.dim)));
    const scale = this.spec.bytesPerVector / (4 * this.dim); // commit cost follows the stored bytes
    return Math.min(bufferCap, Math.max(64, Math.round(Math.sqrt(CHUNK_RATIO * rows * scale))));
  }

  /**
   * Creates shard `shard`. A trained factory is trained on a sample of the whole batch, sent as
   * ONE 'training' row holding every sample vector back to back (sqlite-vss just concatenates
   * training rows, and one row avoids its per-row quadratic buffer growth); the training happens
   * at COMMIT, so it needs its own transaction before any row can go in.
   */
  private createShard(shard: number, batch: Row[]): void {
    const create = () => {
      this.db.exec(
        `CREATE VIRTUAL TABLE "${this.table(shard)}" USING vss0(embedding(${this.dim}) factory="${this.spec.factory}")`,
      );
      this.meta.set('shards', shard + 1);
    };
    if (!this.spec.trained) return atomically(this.db, create);
    if (this.db.inTransaction) {
      throw new Error(
        `sqlite-vss: '${this.spec.factory}' trains each new shard in its own commit; add() outside a transaction`,
      );
    }
    if (batch.length < this.spec.minTrainingRows) {
      throw new Error(
        `sqlite-vss: '${this.spec.factory}' needs at least ${this.spec.minTrainingRows} vectors in one add() to train a shard, got ${batch.length}`,
      );
    }
    const stride = Math.max(1, Math.floor(batch.length / this.spec.maxTrainingRows));
    const sample = batch.filter((_, i) => i % stride === 0).slice(0, this.spec.maxTrainingRows);
    this.db.transaction(() => {
      create();
      this.shard(shard).train(
        vssBlob(
          sample.map((r) => r.vector),
          this.dim,
        ),
      );
    })();
  }

  /** Shards safe to search; one not yet seen committed is skipped while a transaction is open. */
  private searchable(): number[] {
    const out: number[] = [];
    for (let s = 0, n = this.shardCount(); s < n; s++) {
      if (!this.ready.has(s)) {
        if (this.db.inTransaction || !this.shard(s).hasSentinel()) continue;
        this.ready.add(s);
      }
      out.push(s);
    }
    return out;
  }

  /** The n best across shards; each shard is asked for n + 1 as its sentinel may take a slot. */
  private topAcross(shards: number[], blob: Buffer, n: number): Candidates {
    const hits: VectorHit[] = [];
    let exhausted = true;
    for (const s of shards) {
      const rows = this.shard(s).search(blob, n + 1);
      if (rows.length > n) exhausted = false;
      for (const r of rows)
        if (r.id !== SENTINEL) hits.push({ id: r.id, score: cosineFromSquaredL2(r.distance) });
    }
    // Shards that each gave all they hold can still sum to more than n: then more remain.
    return { hits: hits.sort(byScore).slice(0, n), exhausted: exhausted && hits.length <= n };
  }
}
