import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomUnitVectors } from '../support/vector-data.js';
import { loadVectorExtensions, openVectorIndex } from '../../main/core/vectors/index.js';

/** sqlite-vec specifics: paging through ties, and pins of the vec0 behaviour the backend relies on. */

const DIM = 8;
const blob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

describe('sqlite-vec backend', () => {
  let db: Database.Database;
  beforeEach(() => {
    db = new Database(':memory:');
    loadVectorExtensions(db, ['vec']);
  });
  afterEach(() => db.close());

  it('pages through more than 4096 results when many vectors tie', () => {
    const index = openVectorIndex(db, { backend: 'vec', name: 'ties', dim: DIM });
    const [a, b, c] = randomUnitVectors(3, DIM, 1);
    // 2000 exact copies each of a, b and c: pages of 4096 must end and resume inside a tie.
    index.add(Array.from({ length: 6000 }, (_, id) => ({ id, vector: [a, b, c][Math.floor(id / 2000)] })));
    const hits = index.search(a, { k: 5000 });
    expect(hits).toHaveLength(5000);
    expect(new Set(hits.map((h) => h.id)).size).toBe(5000);
    expect(hits.slice(0, 2000).every((h) => h.id < 2000)).toBe(true);
    // Which of ten exact ties make the top 5 is arbitrary; that they are five distinct ones is not.
    const selective = index.search(a, { k: 5, allow: (id) => id >= 5990 });
    expect(new Set(selective.map((h) => h.id)).size).toBe(5);
    expect(selective.every((h) => h.id >= 5990)).toBe(true);
  });

  describe('pins of sqlite-vec 0.1.9 behaviour', () => {
    beforeEach(() =>
      db.exec(`CREATE VIRTUAL TABLE raw USING vec0(embedding float[${DIM}] distance_metric=cosine)`),
    );

    it('refuses rowids bound as JS numbers (REAL); BigInt works', () => {
      const [a] = randomUnitVectors(1, DIM, 2);
      expect(() => db.prepare('INSERT INTO raw(rowid, embedding) VALUES (?, ?)').run(1, blob(a))).toThrow(
        /integer/i,
      );
      db.prepare('INSERT INTO raw(rowid, embedding) VALUES (?, ?)').run(1n, blob(a));
    });

    it('caps k at 4096 and reports cosine distance as 1 - cos', () => {
      const [a, b] = randomUnitVectors(2, DIM, 3);
      db.prepare('INSERT INTO raw(rowid, embedding) VALUES (?, ?)').run(1n, blob(b));
      const knn = db.prepare('SELECT rowid AS id, distance FROM raw WHERE embedding MATCH ? AND k = ?');
      const dot = a.reduce((s, x, i) => s + x * b[i], 0);
      expect((knn.get(blob(a), 1) as { distance: number }).distance).toBeCloseTo(1 - dot, 5);
      expect(() => knn.all(blob(a), 4097)).toThrow(/4096/);
    });
  });
});
