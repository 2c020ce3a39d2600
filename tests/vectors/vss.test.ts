import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exactTopK, randomUnitVectors } from '../support/vector-data.js';
import { defaultShardRows, parseFactory } from '../../main/core/vectors/vss/faiss-factory.js';
import { availableBackends, loadVectorExtensions, openVectorIndex } from '../../main/core/vectors/index.js';

/** sqlite-vss specifics: sharding, factories, and pins of the extension quirks the backend works around. */

const DIM = 16;
const rows = (vs: Float32Array[], base = 0) => vs.map((vector, i) => ({ id: base + i, vector }));

describe.skipIf(!availableBackends().includes('vss'))('sqlite-vss backend', () => {
  let dir: string;
  let file: string;
  let db: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bindery-vss-'));
    file = path.join(dir, 'catalogue.db');
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    loadVectorExtensions(db, ['vss']);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const shardCounts = (name: string, shards: number) =>
    Array.from({ length: shards }, (_, s) =>
      db.prepare(`SELECT count(*) FROM vx_${name}_s${s}_data WHERE rowid >= 0`).pluck().get(),
    );

  it('spreads rows over shards of the given cap, searches them together and keeps ids in place', () => {
    const index = openVectorIndex(db, { backend: 'vss', name: 'sh', dim: DIM, shardRows: 40 });
    const vs = randomUnitVectors(230, DIM, 1);
    index.add(rows(vs));
    expect(index.stats().shards).toBe(6);
    expect(shardCounts('sh', 6)).toEqual([40, 40, 40, 40, 40, 30]);
    const data = new Float32Array(230 * DIM);
    vs.forEach((v, i) => data.set(v, i * DIM));
    for (const q of randomUnitVectors(10, DIM, 2)) {
      expect(index.search(q, { k: 10 }).map((h) => h.id)).toEqual(
        exactTopK(data, 230, q, 10).map((h) => h.id),
      );
    }
    // An upsert stays in its shard; removals free room that new ids then fill.
    index.add([{ id: 45, vector: vs[0] }]);
    index.remove([0, 1, 2]);
    index.add(rows(randomUnitVectors(5, DIM, 3), 1000));
    expect(shardCounts('sh', 6)).toEqual([40, 40, 40, 40, 40, 32]);
    expect(index.stats().shards).toBe(6);
    expect(index.search(vs[0], { k: 1 })[0].id).toBe(45);
  });

  it('sizes default shards from the dimension and factory', () => {
    const flat = parseFactory('Flat,IDMap2', 1024);
    expect(flat).toMatchObject({ bytesPerVector: 4104, trained: false });
    expect(defaultShardRows(flat)).toBe(Math.floor((16 * 2 ** 20) / 4104)); // 4088: 16 MiB per BLOB
    const pq = parseFactory('IVF4096,PQ64', 1024);
    expect(pq).toMatchObject({ bytesPerVector: 72, trained: true, minTrainingRows: 4096 });
    expect(defaultShardRows(pq)).toBe(Math.floor((256 * 2 ** 20) / 72)); // trained: few, big shards
    // The BLOB cap wins over the write target when fixed costs are large (IVF centroids).
    const big = parseFactory('IVF60000,Flat', 2048);
    expect(defaultShardRows(big)).toBe(Math.floor((500_000_000 - big.fixedBytes) / big.bytesPerVector));
    expect(defaultShardRows(big)).toBeLessThan(Math.floor((256 * 2 ** 20) / big.bytesPerVector));
    expect(() => defaultShardRows(parseFactory('IVF65536,Flat', 2048))).toThrow(/does not fit/);
    expect(() => parseFactory('HNSW32', 1024)).toThrow(/unsupported/);
    expect(() => parseFactory('Flat', 1024)).toThrow(/IDMap2/);
    expect(() => parseFactory('PQ7,IDMap2', 1024)).toThrow(/divide/);
    expect(() => parseFactory('Flat,IDMap2"); DROP TABLE x; --', 1024)).toThrow(/invalid/);
  });

  it('trains a trained factory on the batch, and says so when the batch is too small', () => {
    const vs = randomUnitVectors(400, DIM, 4);
    const ivf = openVectorIndex(db, { backend: 'vss', name: 'ivf', dim: DIM, factory: 'IVF4,Flat' });
    expect(() => ivf.add(rows(vs.slice(0, 3)))).toThrow(/at least 4 vectors/);
    ivf.add(rows(vs));
    expect(ivf.count()).toBe(400);
    for (const i of [0, 123, 399]) expect(ivf.search(vs[i], { k: 1 })[0]).toMatchObject({ id: i });
    const sq = openVectorIndex(db, {
      backend: 'vss',
      name: 'sq',
      dim: DIM,
      factory: 'SQ8,IDMap2',
      shardRows: 100,
    });
    sq.add(rows(vs));
    expect(sq.stats()).toMatchObject({ shards: 4, factory: 'SQ8,IDMap2', count: 400 });
    expect(sq.search(vs[321], { k: 1 })[0].id).toBe(321);
    expect(sq.search(vs[321], { k: 1 })[0].score).toBeGreaterThan(0.99);
    // Training happens at COMMIT, so a new trained shard cannot be opened inside a transaction.
    expect(() => db.transaction(() => sq.add(rows(randomUnitVectors(200, DIM, 5), 1000)))()).toThrow(
      /transaction/,
    );
    expect(sq.count()).toBe(400);
  });

  it('refuses to reopen with another factory', () => {
    openVectorIndex(db, { backend: 'vss', name: 'f', dim: DIM });
    expect(() => openVectorIndex(db, { backend: 'vss', name: 'f', dim: DIM, factory: 'SQ8,IDMap2' })).toThrow(
      /factory/,
    );
    expect(() => openVectorIndex(db, { backend: 'vec', name: 'f', dim: DIM })).toThrow(/backend/);
  });

  it('stores vectors whose bytes start like sqlite-vss’s own vector format', () => {
    const index = openVectorIndex(db, { backend: 'vss', name: 'hdr', dim: DIM });
    const vs = randomUnitVectors(50, DIM, 6);
    const tricky = withFormatPrefix(vs[0]);
    index.add([{ id: 7, vector: tricky }, ...rows(vs.slice(1), 100)]);
    const [top] = index.search(tricky, { k: 1 });
    expect(top.id).toBe(7);
    expect(top.score).toBeGreaterThan(0.999);
    expect(index.search(vs[10], { k: 1 })[0].id).toBe(109);
  });

  describe('pins of sqlite-vss 0.1.2 behaviour', () => {
    beforeEach(() => db.exec(`CREATE VIRTUAL TABLE raw USING vss0(embedding(${DIM}))`));
    const blob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    const search = (q: Float32Array, k: number) =>
      db
        .prepare('SELECT rowid AS id, distance FROM raw WHERE vss_search(embedding, ?) LIMIT ?')
        .all(blob(q), k) as { id: number; distance: number }[];

    it('reports squared L2 distances (so cos = 1 - d/2 for unit vectors)', () => {
      const [a, b] = randomUnitVectors(2, DIM, 7);
      db.prepare('INSERT INTO raw(rowid, embedding) VALUES (?, ?)').run(1, blob(b));
      const dot = a.reduce((s, x, i) => s + x * b[i], 0);
      expect(search(a, 1)[0].distance).toBeCloseTo(2 - 2 * dot, 5);
    });

    it('does not show rows to searches until COMMIT', () => {
      const [a, b] = randomUnitVectors(2, DIM, 8);
      db.prepare('INSERT INTO raw(rowid, embedding) VALUES (?, ?)').run(1, blob(a));
      db.transaction(() => {
        db.prepare('INSERT INTO raw(rowid, embedding) VALUES (?, ?)').run(2, blob(b));
        expect(search(b, 2).map((r) => r.id)).toEqual([1]);
      })();
      expect(search(b, 2).map((r) => r.id)).toEqual([2, 1]);
    });

    it('misreads a raw float BLOB that starts with the bytes "v", 0x01', () => {
      const v = withFormatPrefix(randomUnitVectors(1, DIM, 9)[0]);
      db.prepare('INSERT INTO raw(rowid, embedding) VALUES (?, ?)').run(1, blob(v));
      const stored = db.prepare('SELECT embedding FROM raw WHERE rowid = 1').pluck().get() as Buffer;
      expect(new Float32Array(stored.buffer, stored.byteOffset, DIM)[0]).not.toBeCloseTo(v[0], 3);
    });

    it('has no UPDATE', () => {
      const [a] = randomUnitVectors(1, DIM, 10);
      db.prepare('INSERT INTO raw(rowid, embedding) VALUES (?, ?)').run(1, blob(a));
      expect(() => db.prepare('UPDATE raw SET embedding = ? WHERE rowid = 1').run(blob(a))).toThrow(
        /not supported/,
      );
    });
  });
});

/** A unit vector whose first float's little-endian bytes begin 0x76 ('v'), 0x01. */
function withFormatPrefix(v: Float32Array): Float32Array {
  const out = new Float32Array(v);
  new Uint8Array(out.buffer, 0, 4).set([0x76, 0x01, 0x00, 0x3e]); // ≈ 0.125
  let rest = 0;
  for (let i = 1; i < out.length; i++) rest += out[i] * out[i];
  const scale = Math.sqrt((1 - out[0] * out[0]) / rest);
  for (let i = 1; i < out.length; i++) out[i] *= scale;
  return out;
}
