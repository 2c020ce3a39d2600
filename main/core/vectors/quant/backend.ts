// Size: the index's writes, sketches and search share one slot table and its statements; the maths lives in quantizer.ts, kernels.ts and sketch.ts.
import type Database from 'better-sqlite3';
import {
  allowOf,
  assertK,
  assertVector,
  atomically,
  byScore,
  cosine,
  f32Blob,
  IndexMeta,
  isSmallAllowSet,
  norm,
  prepareRows,
  type Row,
  tableBytes,
  uniqueIds,
  writeInChunks,
} from '../common.js';
import { tableFloats } from '../floats.js';
import { IdSlots } from './id-slots.js';
import { DEFAULT_SEED, Quantizer } from './quantizer.js';
import { sketchBytes, sketchCosine, writeSketch } from './sketch.js';
import type { Db, FloatLoader, SearchOptions, VectorHit, VectorIndex, VectorIndexStats } from '../types.js';

/**
 * The quantized backend: every vector's 1-bit code in memory (quantizer.ts; 128 bytes at
 * 1024-d, 128 MB per million), float vectors on disk, read only to re-rank. A search:
 *  1. Hamming distance of every code to the query's bits (WebAssembly SIMD, kernels.ts), and the
 *     `want` nearest allowed ones by a histogram threshold: a cheap, symmetric first cut.
 *  2. The asymmetric RaBitQ estimate of those (float query · code, per-byte lookup tables) and
 *     its error bound.
 *  3. Cosines from int8 sketches (sketch.ts; ~4e-4 from exact), in order of the estimates'
 *     upper bounds: a first batch, then more while the next bound still beats the k-th score
 *     (rankByEstimate).
 *  4. Exact cosines from float vectors for the sketches' top k and for those close enough
 *     below the k-th that rounding could have swapped them (exactTop): a few more than k.
 * Tuned on clustered 1024-d data (bench/vectors.ts, 1M vectors, 50 queries, k = 10): the true
 * top-10 lay within the first 893 by Hamming distance; re-ranking a fixed 300 / 500 / 1000 by
 * estimate found 94 / 98 / 100% of them; first batch 270 and stopping at 1.0 / 1.5 / 1.9 σ
 * re-ranked 395 / 588 / 737 on average for 95.6 / 98.8 / 99.6%. At 100k the same rule re-ranks
 * ~100 for 99.9%. The first batch grows with √n (clusters grow with n, and the top-k must be
 * picked out of one), the Hamming cut keeps 8× it. Re-ranking is the dominant cost: reading one
 * 4 KB vector by id took 10–20 µs from a rowid table and 25–50 µs from the catalogue's WITHOUT
 * ROWID embeddings table at 1M rows, where the Hamming pass over all codes took 9 ms; hence the
 * sketches, 3–6 µs each from their rowid table of 1 KB rows.
 *
 * Storage: `vx_<name>_codes(id INTEGER PRIMARY KEY, code BLOB)` (code bytes + the f32 factor),
 * loaded on open (2–4 s per million here), `vx_<name>_sketches(id INTEGER PRIMARY KEY, q BLOB)`
 * (1.3 GB per million at 1024-d; an index from before sketches gets them on open, once), and float vectors either in `vx_<name>_floats` or,
 * with a `floats` loader, wherever the caller keeps them (the catalogue's embeddings: no second
 * copy, 4–5× faster ingest, slower re-ranking; docs/vector-index.md).
 *
 * Writes: one INSERT … SELECT FROM json_each per chunk of rows (codes and floats sliced out of
 * one BLOB with substr), inside the caller's transaction when there is one, and the same change
 * to memory. A removal moves the last slot into the hole, so there are no tombstones to skip in
 * scans nor to compact later. Memory follows the database through a version number in the meta
 * table, bumped by every write: when a transaction that wrote is rolled back (or another
 * connection wrote), the next call sees another number and reloads the codes.
 */

/** Rows per write statement (and per commit outside a caller's transaction). */
const WRITE_CHUNK = 4096;
/** First re-rank batch: RERANK_SQRT·√n + 2k (n = 1M, k = 10: 270) … */
const RERANK_SQRT = 0.25;
/** … and at least this many bytes of float vectors (64 at 1024-d, all of a small low-d index). */
const RERANK_FLOOR_BYTES = 256 * 1024;
/** Re-ranking goes on while the next upper bound (estimate + BOUND_SIGMAS·σ) beats the k-th score … */
const BOUND_SIGMAS = 1.5;
/** … up to RERANK_CAP × the first batch, in steps of a quarter of it (at least RERANK_STEP_MIN). */
const RERANK_CAP = 4;
const RERANK_STEP_MIN = 32;
/** The Hamming cut keeps this many times the first batch, and at least PREFILTER_MIN. */
const PREFILTER_PER_RERANK = 8;
const PREFILTER_MIN = 1024;
/**
 * A sketch below the k-th is re-scored exactly when it is within this many standard errors (its
 * own and the k-th's) of it; the re-rank keeps SKETCH_EXTRA more than k to choose them from.
 * Measured on clustered 1024-d data at 100k: recall@10 0.9995, as with exact re-ranking, where
 * taking the sketches' top 10 as they are gave 0.9875.
 */
const MARGIN_SIGMAS = 4;
/** The sketch layout this code reads (sketch.ts), stored in the index's meta table. */
const SKETCH_LAYOUT = 'int8+s+e';
const SKETCH_EXTRA = 32;

export interface QuantOptions {
  floats?: FloatLoader;
  rerank?: number;
  seed?: number;
}

interface Statements {
  version: Database.Statement;
  setVersion: Database.Statement;
  insertCodes: Database.Statement;
  insertFloats?: Database.Statement;
  insertSketches: Database.Statement;
  deleteCodes: Database.Statement;
  deleteFloats?: Database.Statement;
  deleteSketches: Database.Statement;
  sketches: Database.Statement;
  unsketched: Database.Statement;
  allCodes: Database.Statement;
  countCodes: Database.Statement;
}

/** INSERT OR REPLACE of many rows from one BLOB: row i is bytes [i·len, (i+1)·len) of @blob. */
const bulkInsert = (table: string, column: string) =>
  `INSERT OR REPLACE INTO "${table}"(id, ${column})
     SELECT value, substr(@blob, key * @len + 1, @len) FROM json_each(@ids)`;

const bulkDelete = (table: string) => `DELETE FROM "${table}" WHERE id IN (SELECT value FROM json_each(?))`;

interface Tables {
  meta: string;
  codes: string;
  sketches: string;
  floats?: string;
}

function statements(db: Db, t: Tables): Statements {
  const { meta, codes, floats, sketches } = t;
  return {
    version: db.prepare(`SELECT value FROM "${meta}" WHERE key = 'version'`).pluck(),
    setVersion: db.prepare(`UPDATE "${meta}" SET value = ? WHERE key = 'version'`),
    insertCodes: db.prepare(bulkInsert(codes, 'code')),
    insertFloats: floats ? db.prepare(bulkInsert(floats, 'vector')) : undefined,
    insertSketches: db.prepare(bulkInsert(sketches, 'q')),
    deleteCodes: db.prepare(bulkDelete(codes)),
    deleteFloats: floats ? db.prepare(bulkDelete(floats)) : undefined,
    deleteSketches: db.prepare(bulkDelete(sketches)),
    sketches: db
      .prepare(`SELECT id, q FROM "${sketches}" WHERE id IN (SELECT value FROM json_each(?))`)
      .raw(),
    unsketched: db
      .prepare(
        `SELECT id FROM "${codes}" WHERE id > ? AND id NOT IN (SELECT id FROM "${sketches}") ORDER BY id LIMIT ?`,
      )
      .pluck(),
    allCodes: db.prepare(`SELECT id, code FROM "${codes}"`).raw(),
    countCodes: db.prepare(`SELECT count(*) FROM "${codes}"`).pluck(),
  };
}

/** The smallest t such that at least `target` distances are below t (or all of them). */
function thresholdFor(histogram: Int32Array, target: number): number {
  for (let t = 0, seen = 0; t < histogram.length; t++) {
    seen += histogram[t];
    if (seen >= target) return t + 1;
  }
  return histogram.length;
}

export class QuantIndex implements VectorIndex {
  readonly backend = 'quant' as const;
  private readonly meta: IndexMeta;
  private readonly codesTable: string;
  private readonly sketchTable: string;
  private readonly floatsTable?: string;
  private readonly quantizer: Quantizer;
  private readonly loadFloats: FloatLoader;
  private readonly rerankOption?: number;
  private readonly st: Statements;
  /** Slot i holds the code (in the kernels' memory), id and factor of one vector; [0, n) live. */
  private ids = new Float64Array(0);
  private factors = new Float32Array(0);
  private slots = new IdSlots();
  private n = 0;
  private version = -1;

  constructor(
    private readonly db: Db,
    readonly name: string,
    readonly dim: number,
    opts: QuantOptions = {},
  ) {
    const seed = opts.seed ?? DEFAULT_SEED;
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`bad rotation seed ${seed}`);
    if (opts.rerank !== undefined && !(Number.isInteger(opts.rerank) && opts.rerank >= 1))
      throw new Error(`rerank must be a positive integer, got ${opts.rerank}`);
    this.rerankOption = opts.rerank;
    this.meta = new IndexMeta(db, name);
    this.codesTable = `vx_${name}_codes`;
    this.sketchTable = `vx_${name}_sketches`;
    if (!opts.floats) this.floatsTable = `vx_${name}_floats`;
    this.createTables({ backend: 'quant', dim, seed, floats: opts.floats ? 'external' : 'own' });
    this.quantizer = new Quantizer(dim, seed);
    this.loadFloats = opts.floats ?? tableFloats(db, this.floatsTable!, dim);
    this.st = statements(db, {
      meta: this.meta.table,
      codes: this.codesTable,
      sketches: this.sketchTable,
      floats: this.floatsTable,
    });
    this.sketchMissing();
    this.load();
  }

  add(items: ReadonlyArray<{ id: number; vector: Float32Array }>): void {
    const rows = prepareRows(items, this.dim);
    if (rows.length === 0) return;
    this.sync();
    writeInChunks(this.db, rows, WRITE_CHUNK, (chunk) => this.write(chunk));
  }

  remove(ids: readonly number[]): void {
    const unique = uniqueIds(ids);
    this.sync();
    const present = unique.filter((id) => this.slots.get(id) >= 0);
    writeInChunks(this.db, present, WRITE_CHUNK, (chunk) => {
      const json = JSON.stringify(chunk);
      this.st.deleteCodes.run(json);
      this.st.deleteSketches.run(json);
      this.st.deleteFloats?.run(json);
      this.bumpVersion();
      for (const id of chunk) this.removeSlot(id);
    });
  }

  search(query: Float32Array, opts: SearchOptions): VectorHit[] {
    assertVector(query, this.dim, 'query');
    assertK(opts.k);
    if (opts.k === 0) return [];
    this.sync();
    if (this.n === 0) return [];
    const first = this.rerankCount(opts.k);
    const { lut } = this.quantizer.prepare(query);
    const candidates = this.candidates(opts, first);
    const best =
      candidates.length <= first
        ? this.sketchScores(query, candidates).sort(byScore)
        : this.rankByEstimate(query, candidates, lut, opts.k, first);
    return this.exactTop(query, best, opts.k);
  }

  count(): number {
    this.sync();
    return this.n;
  }

  stats(opts: { bytes?: boolean } = {}): VectorIndexStats {
    const tables = [
      this.meta.table,
      this.codesTable,
      this.sketchTable,
      ...(this.floatsTable ? [this.floatsTable] : []),
    ];
    return {
      backend: 'quant',
      count: this.count(),
      dim: this.dim,
      shards: 1,
      bytes: opts.bytes ? tableBytes(this.db, tables) : undefined,
      memoryBytes:
        this.quantizer.kernels.bytes + this.ids.byteLength + this.factors.byteLength + this.slots.bytes,
    };
  }

  drop(): void {
    atomically(this.db, () => {
      this.db.exec(`DROP TABLE IF EXISTS "${this.codesTable}"`);
      this.db.exec(`DROP TABLE IF EXISTS "${this.sketchTable}"`);
      if (this.floatsTable) this.db.exec(`DROP TABLE IF EXISTS "${this.floatsTable}"`);
      this.meta.drop();
    });
    this.ids = new Float64Array(0);
    this.factors = new Float32Array(0);
    this.slots = new IdSlots();
    this.n = 0;
  }

  private createTables(identity: Record<string, string | number>): void {
    atomically(this.db, () => {
      this.meta.init(identity, { version: 0 });
      this.db.exec(
        `CREATE TABLE IF NOT EXISTS "${this.codesTable}"(id INTEGER PRIMARY KEY, code BLOB NOT NULL)`,
      );
      this.db.exec(
        `CREATE TABLE IF NOT EXISTS "${this.sketchTable}"(id INTEGER PRIMARY KEY, q BLOB NOT NULL)`,
      );
      if (this.floatsTable)
        this.db.exec(
          `CREATE TABLE IF NOT EXISTS "${this.floatsTable}"(id INTEGER PRIMARY KEY, vector BLOB NOT NULL)`,
        );
    });
  }

  /**
   * Sketches for vectors indexed before the index kept them (read from the floats once, a chunk
   * per transaction, so an interrupted upgrade resumes where it stopped).
   */
  private sketchMissing(): void {
    const layout = this.meta.get('sketches');
    if (layout === SKETCH_LAYOUT) return;
    const building = `building ${SKETCH_LAYOUT}`;
    // Another layout's sketches are redone; an interrupted build of this one resumes.
    if (layout !== undefined && layout !== building) this.db.exec(`DELETE FROM "${this.sketchTable}"`);
    this.meta.set('sketches', building);
    for (let after = -Infinity; ;) {
      const ids = this.st.unsketched.all(after, WRITE_CHUNK) as number[];
      if (ids.length === 0) break;
      after = ids[ids.length - 1];
      const floats = this.loadFloats(ids);
      // An id without floats keeps no sketch: exact() skips it in results anyway.
      const rows = ids.flatMap((id, i) => (floats[i] ? [{ id, vector: floats[i] }] : []));
      atomically(this.db, () =>
        this.st.insertSketches.run({
          blob: sketchesBlob(rows, this.dim),
          len: sketchBytes(this.dim),
          ids: JSON.stringify(rows.map((r) => r.id)),
        }),
      );
    }
    this.meta.set('sketches', SKETCH_LAYOUT);
  }

  /** Reloads the codes when the database moved on without us (a rollback, another connection). */
  private sync(): void {
    if (Number(this.st.version.get()) !== this.version) this.load();
  }

  private bumpVersion(): void {
    this.st.setVersion.run(String(++this.version));
  }

  private load(): void {
    const total = this.st.countCodes.get() as number;
    const codeBytes = this.quantizer.codeBytes;
    this.n = 0;
    this.slots = new IdSlots(total);
    this.reserve(total);
    for (const [id, code] of this.st.allCodes.iterate() as IterableIterator<[number, Buffer]>) {
      const slot = this.n++;
      this.quantizer.kernels.code(slot).set(code.subarray(0, codeBytes));
      this.factors[slot] = code.readFloatLE(codeBytes);
      this.ids[slot] = id;
      this.slots.set(id, slot);
    }
    this.version = Number(this.st.version.get());
  }

  /** Room for `slots` slots in the code table and the id and factor arrays (amortised growth). */
  private reserve(slots: number): void {
    this.quantizer.kernels.reserve(slots);
    if (slots <= this.ids.length) return;
    const capacity = Math.max(slots, Math.ceil(this.ids.length * 1.5), 1024);
    const ids = new Float64Array(capacity);
    const factors = new Float32Array(capacity);
    ids.set(this.ids.subarray(0, this.n));
    factors.set(this.factors.subarray(0, this.n));
    this.ids = ids;
    this.factors = factors;
  }

  /**
   * Encodes the chunk into the free slots after n, writes it, then moves each code to its slot:
   * its old one for a known id (an upsert), the next free one otherwise. Nothing in memory
   * changes until the statements succeeded.
   */
  private write(chunk: Row[]): void {
    const base = this.n;
    this.reserve(base + chunk.length);
    const codes = this.encodeRows(chunk, base);
    const ids = JSON.stringify(chunk.map((r) => r.id));
    const len = this.quantizer.codeBytes + 4;
    this.st.insertCodes.run({ blob: codes, len, ids });
    this.st.insertFloats?.run({ blob: floatsBlob(chunk, this.dim), len: 4 * this.dim, ids });
    this.st.insertSketches.run({ blob: sketchesBlob(chunk, this.dim), len: sketchBytes(this.dim), ids });
    this.bumpVersion();
    chunk.forEach((row, i) => this.place(row.id, base + i, codes.readFloatLE(i * len + len - 4)));
  }

  /** Codes of `rows` into slots base, base + 1, …, returned as stored: code bytes then f32 factor. */
  private encodeRows(rows: Row[], base: number): Buffer {
    const codeBytes = this.quantizer.codeBytes;
    const len = codeBytes + 4;
    const out = Buffer.allocUnsafe(rows.length * len);
    rows.forEach((row, i) => {
      const factor = this.quantizer.encode(row.vector, base + i);
      out.set(this.quantizer.kernels.code(base + i).subarray(0, codeBytes), i * len);
      out.writeFloatLE(factor, i * len + codeBytes);
    });
    return out;
  }

  private place(id: number, scratch: number, factor: number): void {
    let slot = this.slots.get(id);
    if (slot < 0) {
      slot = this.n++;
      this.slots.set(id, slot);
      this.ids[slot] = id;
    }
    if (slot !== scratch) this.quantizer.kernels.moveCode(scratch, slot);
    this.factors[slot] = factor;
  }

  private removeSlot(id: number): void {
    const slot = this.slots.get(id);
    if (slot < 0) return;
    this.slots.delete(id);
    const last = --this.n;
    if (slot === last) return;
    this.quantizer.kernels.moveCode(last, slot);
    this.ids[slot] = this.ids[last];
    this.factors[slot] = this.factors[last];
    this.slots.set(this.ids[slot], slot);
  }

  private rerankCount(k: number): number {
    if (this.rerankOption !== undefined) return Math.max(k, this.rerankOption);
    const floor = Math.floor(RERANK_FLOOR_BYTES / (4 * this.dim));
    return Math.max(floor, Math.ceil(RERANK_SQRT * Math.sqrt(this.n)) + 2 * k);
  }

  /** Slots worth estimating: the allowed ones nearest by Hamming distance, or all allowed ones. */
  private candidates(opts: SearchOptions, rerank: number): Int32Array {
    const allow = allowOf(opts);
    if (isSmallAllowSet(opts, this.n)) return this.slotsOf(opts.allowIds!, allow!);
    const want = Math.max(PREFILTER_MIN, PREFILTER_PER_RERANK * rerank);
    if (want >= this.n) return this.allSlots(allow);
    return this.nearestByHamming(want, allow);
  }

  private slotsOf(ids: ReadonlySet<number>, allow: (id: number) => boolean): Int32Array {
    const out: number[] = [];
    for (const id of ids) {
      const slot = this.slots.get(id);
      if (slot >= 0 && allow(id)) out.push(slot);
    }
    return Int32Array.from(out);
  }

  private allSlots(allow?: (id: number) => boolean): Int32Array {
    const all = Int32Array.from({ length: this.n }, (_, i) => i);
    return allow ? all.filter((slot) => allow(this.ids[slot])) : all;
  }

  /**
   * At least `want` allowed slots, nearest first by Hamming distance: the histogram gives the
   * distance below which `want` slots lie; a filter that rejects many raises the target 4× a
   * round (cheap: the distances stay, each round is one 0.5 ms pass per million) until enough
   * pass or every slot was seen.
   */
  private nearestByHamming(want: number, allow?: (id: number) => boolean): Int32Array {
    const kernels = this.quantizer.kernels;
    const { histogram } = kernels.hamming(this.n);
    for (let target = want; ; target *= 4) {
      const threshold = thresholdFor(histogram, target);
      const below = kernels.below(this.n, threshold);
      const passed = allow ? below.filter((slot) => allow(this.ids[slot])) : below.slice();
      if (passed.length >= want || threshold >= histogram.length) return passed;
    }
  }

  /**
   * Re-ranks candidates in order of their estimate's upper bound (quantizer.ts): the first
   * `first`, then as many again while the next bound still beats the k-th exact score so far,
   * up to RERANK_CAP × first. The bound misses a true neighbour only when the estimate fell
   * BOUND_SIGMAS standard errors short of it, so recall holds where the data gets denser (more
   * neighbours within the error) without re-ranking more everywhere. A fixed `rerank` option
   * re-ranks exactly `first`.
   */
  private rankByEstimate(
    query: Float32Array,
    slots: Int32Array,
    lut: Float32Array,
    k: number,
    first: number,
  ): SketchHit[] {
    const upper = this.upperBounds(slots, lut);
    const order = descendingOrder(upper);
    const cap = Math.min(order.length, this.rerankOption !== undefined ? first : first * RERANK_CAP);
    const step = Math.max(RERANK_STEP_MIN, Math.ceil(first / 4));
    let hits: SketchHit[] = [];
    for (let done = 0; done < cap;) {
      const next = Math.min(cap, done + (done === 0 ? first : step));
      const batch = Int32Array.from(order.subarray(done, next), (i) => slots[i]);
      hits = [...hits, ...this.sketchScores(query, batch)].sort(byScore).slice(0, k + SKETCH_EXTRA);
      done = next;
      if (hits.length >= k && done < cap && upper[order[done]] <= hits[k - 1].score) break;
    }
    return hits;
  }

  /**
   * est + BOUND_SIGMAS·σ per slot: RaBitQ's estimator has standard error
   * σ = √((1 - a²) / (a²(p - 1))) with a = <code/√p, x'> = 1 / (factor·√p), i.e.
   * σ = √((factor²·p - 1) / (p - 1)): about 0.023 for 1024-d vectors.
   */
  private upperBounds(slots: Int32Array, lut: Float32Array): Float32Array {
    const est = this.estimate(slots, lut);
    const p = this.quantizer.kernels.p;
    for (let i = 0; i < slots.length; i++) {
      const f = this.factors[slots[i]];
      est[i] += BOUND_SIGMAS * Math.sqrt(Math.max(0, (f * f * p - 1) / (p - 1)));
    }
    return est;
  }

  /** cos(x, q) ≈ factor · Σ_b lut[b][code byte b] for each slot (quantizer.ts). */
  private estimate(slots: Int32Array, lut: Float32Array): Float32Array {
    const { stride, codeBytes } = this.quantizer.kernels;
    const codes = this.quantizer.kernels.codes(this.n);
    const est = new Float32Array(slots.length);
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      let sum = 0;
      for (let b = 0, at = slot * stride; b < codeBytes; b++) sum += lut[(b << 8) | codes[at + b]];
      est[i] = sum * this.factors[slot];
    }
    return est;
  }

  /** Sketch cosines of the slots (unsorted); a slot without a readable sketch is scored exactly. */
  private sketchScores(query: Float32Array, slots: Int32Array): SketchHit[] {
    const ids = Array.from(slots, (slot) => this.ids[slot]);
    const queryNorm = norm(query);
    const hits: SketchHit[] = [];
    const seen = new Set<number>();
    for (const [id, q] of this.st.sketches.all(JSON.stringify(ids)) as [number, Buffer][]) {
      if (q.length !== sketchBytes(this.dim)) continue; // damaged: the floats decide instead
      seen.add(id);
      hits.push({ id, ...sketchCosine(query, queryNorm, q) });
    }
    const missing = ids.filter((id) => !seen.has(id));
    if (missing.length === 0) return hits;
    return [...hits, ...this.exact(query, missing).map((h) => ({ ...h, error: 0 }))];
  }

  /**
   * The best k by exact cosine, from sketch scores (best first): the top k, and any below them
   * within MARGIN_SIGMAS standard errors of the k-th, are re-scored from float vectors.
   */
  private exactTop(query: Float32Array, ranked: SketchHit[], k: number): VectorHit[] {
    const kth = ranked[Math.min(k, ranked.length) - 1];
    if (!kth) return [];
    const close = ranked.slice(k).filter((h) => h.score >= kth.score - MARGIN_SIGMAS * (h.error + kth.error));
    const ids = [...ranked.slice(0, k), ...close].map((h) => h.id);
    return this.exact(query, ids).sort(byScore).slice(0, k);
  }

  /** Exact cosines of the ids' float vectors (unsorted); ids without one are skipped. */
  private exact(query: Float32Array, ids: number[]): VectorHit[] {
    const vectors = this.loadFloats(ids);
    const hits: VectorHit[] = [];
    const queryNorm = norm(query);
    ids.forEach((id, i) => {
      const v = vectors[i];
      if (v && v.length === this.dim) hits.push({ id, score: cosine(query, queryNorm, v) });
    });
    return hits;
  }
}

interface SketchHit extends VectorHit {
  /** The standard error of the sketch's score (0 for an exact one). */
  error: number;
}

/**
 * Indices of `values`, largest value first. Each value and its index are packed into one float64
 * (the value's rank-preserving 32-bit key above a 21-bit index), so the native sort of a typed
 * array does the work without a JavaScript comparator: 7× faster for the thousands sorted here.
 */
export function descendingOrder(values: Float32Array): Uint32Array {
  if (values.length > INDEX_SPAN)
    return Uint32Array.from(values.keys()).sort((a, b) => values[b] - values[a]);
  const keys = new Float64Array(values.length);
  const bits = new Uint32Array(new Float32Array(values).buffer);
  for (let i = 0; i < values.length; i++) {
    // Flip a float's bits into an unsigned key with the same order, then invert it: largest first.
    const b = bits[i];
    const key = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    keys[i] = (0xffffffff - key) * INDEX_SPAN + i;
  }
  keys.sort();
  return Uint32Array.from(keys, (k) => k % INDEX_SPAN);
}
const INDEX_SPAN = 2 ** 21;

function sketchesBlob(rows: Row[], dim: number): Buffer {
  const len = sketchBytes(dim);
  const out = Buffer.allocUnsafe(rows.length * len);
  rows.forEach((r, i) => writeSketch(r.vector, out, i * len));
  return out;
}

function floatsBlob(rows: Row[], dim: number): Buffer {
  const out = Buffer.allocUnsafe(rows.length * 4 * dim);
  rows.forEach((r, i) => f32Blob(r.vector).copy(out, i * 4 * dim));
  return out;
}
