import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exactTopK, randomUnitVectors } from '../support/vector-data.js';
import {
  availableBackends,
  type BackendName,
  dropVectorIndex,
  embeddingFloats,
  openVectorIndex,
  type OpenVectorIndexOptions,
  type VectorHit,
  type VectorIndex,
} from '../../main/core/vectors/index.js';

/**
 * The same behaviour from every backend, on real SQLite files. sqlite-vss runs with a tiny shard
 * cap so that every test also crosses shard boundaries (vss.test.ts covers the default cap).
 * 'quant' runs twice: with its own float table, and re-ranking from a catalogue-shaped
 * `embeddings` table written beside it in the same transaction, as the engine does.
 */

const DIM = 24;
const SHARD_ROWS = 150;

interface Setup {
  backend: BackendName;
  label: string;
  /** Backend options for index `name` on `db`. */
  options?: (db: Database.Database, name: string, dim: number) => Partial<OpenVectorIndexOptions>;
  /** Whether vectors are also written to the catalogue's embeddings table (the index stores none). */
  catalogue?: boolean;
}

const setups: Setup[] = availableBackends().flatMap((backend): Setup[] => {
  if (backend === 'vss') return [{ backend, label: backend, options: () => ({ shardRows: SHARD_ROWS }) }];
  if (backend !== 'quant') return [{ backend, label: backend }];
  const catalogue: Setup = {
    backend,
    label: 'quant, catalogue floats',
    options: (db, name, dim) => ({ floats: embeddingFloats(db, name, dim) }),
    catalogue: true,
  };
  return [{ backend, label: backend }, catalogue];
});

function createEmbeddings(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS embeddings(segment_id INTEGER NOT NULL, model_id TEXT NOT NULL,
    vector BLOB NOT NULL, PRIMARY KEY (segment_id, model_id)) WITHOUT ROWID`);
}

/** Writes each added vector to `embeddings` too, in one transaction with the index (writeBatch's way). */
function withCatalogue(db: Database.Database, index: VectorIndex): VectorIndex {
  const put = db.prepare('INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)');
  const add = index.add.bind(index);
  index.add = (items) =>
    db.transaction(() => {
      for (const { id, vector } of items) {
        if (vector.length !== index.dim) continue; // the index refuses it
        put.run(id, index.name, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
      }
      add(items);
    })();
  return index;
}

function rows(vectors: Float32Array[], idOf = (i: number) => i) {
  return vectors.map((vector, i) => ({ id: idOf(i), vector }));
}

function flatten(vectors: Float32Array[], dim = DIM): Float32Array {
  const out = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => out.set(v, i * dim));
  return out;
}

function expectSorted(hits: VectorHit[]) {
  for (let i = 1; i < hits.length; i++) expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score);
}

describe.each(setups)('vector index contract: $label', ({ backend, options, catalogue }) => {
  let dir: string;
  let file: string;
  let db: Database.Database;

  const openDb = () => {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return db;
  };
  const open = (name = 'pack_a', dim = DIM): VectorIndex => {
    if (catalogue) createEmbeddings(db);
    const index = openVectorIndex(db, { backend, name, dim, ...options?.(db, name, dim) });
    return catalogue ? withCatalogue(db, index) : index;
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), `bindery-vx-${backend}-`));
    file = path.join(dir, 'catalogue.db');
    openDb();
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds an added vector first with score ≥ 0.999', () => {
    const index = open();
    const vs = randomUnitVectors(400, DIM, 1);
    index.add(rows(vs));
    for (const i of [0, 149, 150, 399]) {
      const [top] = index.search(vs[i], { k: 3 });
      expect(top.id).toBe(i);
      expect(top.score).toBeGreaterThanOrEqual(0.999);
      expect(top.score).toBeLessThanOrEqual(1.0001);
    }
  });

  it('sorts by score, respects k and returns fewer only when the index has fewer', () => {
    const index = open();
    const vs = randomUnitVectors(300, DIM, 2);
    index.add(rows(vs));
    const q = randomUnitVectors(1, DIM, 99)[0];
    for (const k of [1, 7, 50]) {
      const hits = index.search(q, { k });
      expect(hits).toHaveLength(k);
      expectSorted(hits);
    }
    expect(index.search(q, { k: 0 })).toEqual([]);
    expect(index.search(q, { k: 1000 })).toHaveLength(300);
    expect(new Set(index.search(q, { k: 1000 }).map((h) => h.id)).size).toBe(300);
  });

  it('upserts: a second add of an id replaces its vector', () => {
    const index = open();
    const vs = randomUnitVectors(301, DIM, 3);
    index.add(rows(vs.slice(0, 300)));
    index.add([
      { id: 5, vector: vs[300] },
      { id: 200, vector: vs[300] },
      { id: 200, vector: vs[0] }, // the last of duplicate ids in one batch wins
    ]);
    expect(index.count()).toBe(300);
    expect(index.search(vs[300], { k: 1 })[0]).toMatchObject({ id: 5 });
    expect(index.search(vs[300], { k: 1 })[0].score).toBeGreaterThan(0.999);
    expect(index.search(vs[5], { k: 300 }).find((h) => h.id === 5)!.score).toBeLessThan(0.99);
    expect(
      index
        .search(vs[0], { k: 2 })
        .map((h) => h.id)
        .sort(),
    ).toEqual([0, 200]);
  });

  it('removes: removed ids never come back and count drops', () => {
    const index = open();
    const vs = randomUnitVectors(320, DIM, 4);
    index.add(rows(vs));
    const gone = [0, 1, 150, 151, 319];
    index.remove([...gone, 0, 10_000]); // duplicates and unknown ids are ignored
    expect(index.count()).toBe(315);
    for (const i of gone) {
      const hits = index.search(vs[i], { k: 320 });
      expect(hits).toHaveLength(315);
      expect(hits.some((h) => gone.includes(h.id))).toBe(false);
    }
    index.remove([]);
    expect(index.count()).toBe(315);
  });

  it('applies allow exactly, even when the filter is very selective', () => {
    const index = open();
    const vs = randomUnitVectors(2000, DIM, 5);
    index.add(rows(vs));
    const data = flatten(vs);
    const queries = randomUnitVectors(5, DIM, 55);
    for (const allow of [
      (id: number) => id % 97 === 3,
      (id: number) => id % 2 === 0,
      (id: number) => id === 1234,
    ]) {
      for (const q of queries) {
        const hits = index.search(q, { k: 10, allow });
        expect(hits.every((h) => allow(h.id))).toBe(true);
        expect(hits.map((h) => h.id)).toEqual(exactTopK(data, 2000, q, 10, allow).map((h) => h.id));
        expectSorted(hits);
      }
    }
    expect(index.search(queries[0], { k: 10, allow: () => false })).toEqual([]);
  });

  it('applies allowIds, alone and with allow, for small and large sets', () => {
    const index = open();
    const vs = randomUnitVectors(2000, DIM, 16);
    index.add(rows(vs));
    const data = flatten(vs);
    const small = new Set([3, 77, 500, 1999, 4000]); // under 5% of the index; 4000 is not in it
    const large = new Set(Array.from({ length: 1200 }, (_, i) => i * 1.5).filter(Number.isInteger));
    const even = (id: number) => id % 2 === 0;
    const cases: [ReadonlySet<number>, ((id: number) => boolean) | undefined][] = [
      [small, undefined],
      [small, even],
      [large, undefined],
      [large, (id) => id % 7 === 0],
    ];
    for (const q of randomUnitVectors(5, DIM, 66)) {
      for (const [allowIds, allow] of cases) {
        const passes = (id: number) => allowIds.has(id) && (!allow || allow(id));
        const hits = index.search(q, { k: 10, allowIds, allow });
        expect(hits.map((h) => h.id)).toEqual(exactTopK(data, 2000, q, 10, passes).map((h) => h.id));
      }
    }
    expect(index.search(vs[0], { k: 10, allowIds: new Set() })).toEqual([]);
  });

  it('persists: the index works after the catalogue is closed and reopened', () => {
    const vs = randomUnitVectors(400, DIM, 6);
    open().add(rows(vs));
    db.close();
    openDb();
    const index = open();
    expect(index.count()).toBe(400);
    expect(index.search(vs[321], { k: 1 })[0].id).toBe(321);
    index.add([{ id: 1000, vector: vs[0] }]);
    expect(index.count()).toBe(401);
  });

  it('handles an empty index, and one emptied by removals', () => {
    const index = open();
    const q = randomUnitVectors(1, DIM, 7)[0];
    expect(index.count()).toBe(0);
    expect(index.search(q, { k: 10 })).toEqual([]);
    expect(index.search(q, { k: 10, allow: () => true })).toEqual([]);
    index.add([]);
    index.add(rows(randomUnitVectors(200, DIM, 8)));
    index.remove(Array.from({ length: 200 }, (_, i) => i));
    expect(index.count()).toBe(0);
    expect(index.search(q, { k: 10 })).toEqual([]);
  });

  it('refuses wrong dimensions, bad ids and bad k with an Error', () => {
    const index = open();
    const good = randomUnitVectors(1, DIM, 9)[0];
    expect(() => index.add([{ id: 1, vector: new Float32Array(DIM + 1) }])).toThrow(/dimension/);
    expect(() => index.search(new Float32Array(DIM - 1), { k: 1 })).toThrow(/dimension/);
    expect(() => index.add([{ id: -1, vector: good }])).toThrow(/id/);
    expect(() => index.add([{ id: 1.5, vector: good }])).toThrow(/id/);
    expect(() => index.add([{ id: 1, vector: new Float32Array(DIM).fill(NaN) }])).toThrow(/finite/);
    expect(() => index.search(good, { k: -1 })).toThrow(/k/);
    expect(index.count()).toBe(0);
    expect(() => open('pack_a', DIM * 2)).toThrow(/dim/);
    expect(() => open('Bad-Name')).toThrow(/name/);
  });

  it('keeps ids stable, large ones included', () => {
    const index = open();
    const vs = randomUnitVectors(300, DIM, 10);
    const idOf = (i: number) => 2 ** 40 + i * 7919;
    index.add(rows(vs, idOf));
    for (const i of [0, 77, 299]) expect(index.search(vs[i], { k: 1 })[0].id).toBe(idOf(i));
    const all = index.search(vs[0], { k: 300 }).map((h) => h.id);
    expect(new Set(all)).toEqual(new Set(vs.map((_, i) => idOf(i))));
  });

  it('matches brute-force exact top-10 on 2k random vectors', () => {
    const index = open();
    const vs = randomUnitVectors(2000, DIM, 11);
    index.add(rows(vs));
    const data = flatten(vs);
    for (const q of randomUnitVectors(20, DIM, 111)) {
      const hits = index.search(q, { k: 10 });
      const truth = exactTopK(data, 2000, q, 10);
      expect(hits.map((h) => h.id)).toEqual(truth.map((h) => h.id));
      hits.forEach((h, i) => expect(h.score).toBeCloseTo(truth[i].score, 4));
    }
  });

  it('returns long result lists past sqlite-vec’s k limit of 4096', () => {
    const dim = 4;
    const index = open('long', dim);
    const vs = randomUnitVectors(5000, dim, 12);
    index.add(vs.map((vector, id) => ({ id, vector })));
    const hits = index.search(vs[0], { k: 4500 });
    expect(hits).toHaveLength(4500);
    expect(new Set(hits.map((h) => h.id)).size).toBe(4500);
    expectSorted(hits);
    expect(hits.map((h) => h.id)).toEqual(exactTopK(flatten(vs, dim), 5000, vs[0], 4500).map((h) => h.id));
  });

  it('joins a caller’s transaction: committed together, or rolled back together', () => {
    const index = open();
    const vs = randomUnitVectors(400, DIM, 13);
    db.transaction(() => {
      index.add(rows(vs.slice(0, 200)));
      // Searching inside the transaction must be safe (sqlite-vss only sees the rows at COMMIT).
      expect(() => index.search(vs[10], { k: 5 })).not.toThrow();
    })();
    expect(index.count()).toBe(200);
    expect(index.search(vs[10], { k: 1 })[0].id).toBe(10);
    const rollback = () =>
      db.transaction(() => {
        index.add(rows(vs.slice(200), (i) => 200 + i)); // fills a shard and opens a new one (vss)
        index.remove([10]);
        throw new Error('ingest failed');
      })();
    expect(rollback).toThrow('ingest failed');
    expect(index.count()).toBe(200);
    expect(index.search(vs[10], { k: 1 })[0].id).toBe(10);
    expect(index.search(vs[250], { k: 1 })[0].id).not.toBe(250);
    index.add(rows(vs.slice(200), (i) => 200 + i));
    expect(index.count()).toBe(400);
    expect(index.search(vs[399], { k: 1 })[0].id).toBe(399);
  });

  it('reports stats and drops all of its tables', () => {
    const index = open();
    const other = open('pack_b');
    index.add(rows(randomUnitVectors(320, DIM, 14)));
    other.add(rows(randomUnitVectors(10, DIM, 15)));
    expect(index.stats().bytes).toBeUndefined(); // dbstat is walked only when asked
    const stats = index.stats({ bytes: true });
    expect(stats).toMatchObject({ backend, count: 320, dim: DIM });
    expect(stats.shards).toBe(backend === 'vss' ? 3 : 1);
    expect(stats.bytes).toBeGreaterThan(catalogue ? 320 * 4 : 320 * DIM * 4);
    index.drop();
    const left = db.prepare(`SELECT name FROM sqlite_schema WHERE name LIKE 'vx_pack_a%'`).pluck().all();
    expect(left).toEqual([]);
    expect(other.count()).toBe(10);
    dropVectorIndex(db, 'pack_b');
    dropVectorIndex(db, 'pack_b');
    expect(db.prepare(`SELECT count(*) FROM sqlite_schema WHERE name LIKE 'vx_%'`).pluck().get()).toBe(0);
    expect(open().count()).toBe(0);
  });
});
