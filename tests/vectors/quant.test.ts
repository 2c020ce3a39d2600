import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusteredVectors, exactTopK, heldOutQueries, randomUnitVectors } from '../support/vector-data.js';
import { mulberry32 } from '../../app/random.js';
import { IdSlots } from '../../main/core/vectors/quant/id-slots.js';
import {
  defaultBackend,
  openVectorIndex,
  type VectorHit,
  type VectorIndex,
} from '../../main/core/vectors/index.js';
import { Kernels, SPLIT_MIN_CODES } from '../../main/core/vectors/quant/kernels.js';
import { descendingOrder } from '../../main/core/vectors/quant/backend.js';
import { DEFAULT_SEED, Quantizer } from '../../main/core/vectors/quant/quantizer.js';
import { sketchBytes, sketchCosine, writeSketch } from '../../main/core/vectors/quant/sketch.js';

/**
 * The quantized backend beyond the contract suite: the fast path (Hamming cut, estimate,
 * re-rank) on a 20k clustered 1024-d set from the benchmark's generator, where the contract's
 * small indexes are re-ranked whole. Correctness only; speed is the benchmark's business.
 */

const N = 20_000;
const DIM = 1024;

const rows = (data: Float32Array, from: number, to: number, dim = DIM) =>
  Array.from({ length: to - from }, (_, i) => ({
    id: from + i,
    vector: data.subarray((from + i) * dim, (from + i + 1) * dim),
  }));

const ids = (hits: VectorHit[]) => hits.map((h) => h.id);

function recall(got: VectorHit[], truth: VectorHit[]): number {
  const want = new Set(ids(truth));
  return got.filter((h) => want.has(h.id)).length / truth.length;
}

function dot(data: Float32Array, id: number, q: Float32Array): number {
  let s = 0;
  for (let j = 0; j < q.length; j++) s += data[id * q.length + j] * q[j];
  return s;
}

describe('quant backend on 20k clustered vectors', () => {
  let dir: string;
  let file: string;
  let db: Database.Database;
  let index: VectorIndex;
  let data: Float32Array;
  let queries: Float32Array[];
  let truth: VectorHit[][];

  const openDb = () => {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    index = openVectorIndex(db, { backend: 'quant', name: 'q', dim: DIM });
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bindery-quant-'));
    file = path.join(dir, 'catalogue.db');
    data = clusteredVectors(N, DIM, 3);
    queries = heldOutQueries(data, N, DIM, 40, 5);
    truth = queries.map((q) => exactTopK(data, N, q, 10));
    openDb();
    for (let from = 0; from < N; from += 5000) index.add(rows(data, from, from + 5000));
  });
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds at least 95% of the exact top-10 through the Hamming cut and the estimate', () => {
    let sum = 0;
    queries.forEach((q, i) => {
      const hits = index.search(q, { k: 10 });
      expect(hits).toHaveLength(10);
      // Scores are exact cosines, whatever the candidates were.
      for (const h of hits) expect(h.score).toBeCloseTo(dot(data, h.id, q), 5);
      sum += recall(hits, truth[i]);
    });
    expect(sum / queries.length).toBeGreaterThanOrEqual(0.95);
  });

  it('filters with allow and with small and large allowIds sets', () => {
    const allow = (id: number) => id % 3 === 0;
    const few = new Set(Array.from({ length: 60 }, (_, i) => i * 331)); // < the re-rank count: exact
    const many = new Set(Array.from({ length: 6000 }, (_, i) => i * 2)); // 30%: a filtered scan
    let sum = 0;
    for (const q of queries.slice(0, 10)) {
      const byAllow = index.search(q, { k: 10, allow });
      expect(byAllow.every((h) => allow(h.id))).toBe(true);
      sum += recall(byAllow, exactTopK(data, N, q, 10, allow));
      const inFew = index.search(q, { k: 10, allowIds: few });
      expect(ids(inFew)).toEqual(ids(exactTopK(data, N, q, 10, (id) => few.has(id))));
      const inMany = index.search(q, { k: 10, allowIds: many, allow });
      expect(inMany.every((h) => many.has(h.id) && allow(h.id))).toBe(true);
      expect(inMany).toHaveLength(10);
    }
    expect(sum / 10).toBeGreaterThanOrEqual(0.95);
    expect(index.search(queries[0], { k: 10, allowIds: new Set([N + 5]) })).toEqual([]);
  });

  it('never returns removed ids, and re-adds them in place', () => {
    const gone = [...new Set(truth.slice(0, 10).flatMap((t) => ids(t)))];
    index.remove(gone);
    expect(index.count()).toBe(N - gone.length);
    for (const q of queries.slice(0, 10)) {
      const hits = index.search(q, { k: 50 });
      expect(hits.some((h) => gone.includes(h.id))).toBe(false);
    }
    index.add(gone.map((id) => ({ id, vector: data.subarray(id * DIM, (id + 1) * DIM) })));
    expect(index.count()).toBe(N);
    expect(ids(index.search(queries[0], { k: 10 }))).toEqual(ids(truth[0]));
  });

  it('moves an upserted vector', () => {
    const [target] = ids(truth[1]);
    const far = 19_999;
    index.add([{ id: far, vector: data.subarray(target * DIM, (target + 1) * DIM) }]);
    expect(new Set(ids(index.search(queries[1], { k: 2 })))).toEqual(new Set([target, far]));
    index.add([{ id: far, vector: data.subarray(far * DIM, (far + 1) * DIM) }]);
    expect(ids(index.search(queries[1], { k: 1 }))).toEqual([target]);
  });

  it('persists codes: the same results after reopening, and after a rolled-back write', () => {
    const before = queries.slice(0, 5).map((q) => index.search(q, { k: 10 }));
    db.close();
    openDb();
    expect(index.count()).toBe(N);
    expect(queries.slice(0, 5).map((q) => index.search(q, { k: 10 }))).toEqual(before);
    const rollback = () =>
      db.transaction(() => {
        index.remove(ids(before[0]));
        index.add(rows(data, 0, 100).map((r) => ({ id: N + r.id, vector: r.vector })));
        expect(index.count()).toBe(N + 100 - 10);
        throw new Error('ingest failed');
      })();
    expect(rollback).toThrow('ingest failed');
    expect(index.count()).toBe(N);
    expect(index.search(queries[0], { k: 10 })).toEqual(before[0]);
  });

  it('sketches every vector, and an index from before sketches (or of another layout) gets them on open', () => {
    const sketches = () => db.prepare('SELECT count(*) FROM vx_q_sketches').pluck().get() as number;
    const rightSize = () =>
      db.prepare('SELECT count(*) FROM vx_q_sketches WHERE length(q) = ?').pluck().get(sketchBytes(DIM));
    expect(sketches()).toBe(N);
    const before = queries.slice(0, 5).map((q) => index.search(q, { k: 10 }));
    // As an index written before sketches existed: no table rows, no layout in the meta table.
    db.exec(`DELETE FROM vx_q_sketches; DELETE FROM vx_q_meta WHERE key = 'sketches'`);
    db.close();
    openDb();
    expect(sketches()).toBe(N);
    expect(queries.slice(0, 5).map((q) => index.search(q, { k: 10 }))).toEqual(before);
    // Sketches of another layout are redone, not misread.
    db.exec(
      `UPDATE vx_q_sketches SET q = zeroblob(10) WHERE id < 100; UPDATE vx_q_meta SET value = 'int16' WHERE key = 'sketches'`,
    );
    db.close();
    openDb();
    expect(rightSize()).toBe(N);
    expect(queries.slice(0, 5).map((q) => index.search(q, { k: 10 }))).toEqual(before); // A damaged sketch row is not trusted: that vector is scored from its floats.
    const top = before[0][0].id;
    db.prepare('UPDATE vx_q_sketches SET q = zeroblob(3) WHERE id = ?').run(top);
    expect(index.search(queries[0], { k: 10 })).toEqual(before[0]);
  });

  it('refuses to reopen with another rotation seed', () => {
    expect(() => openVectorIndex(db, { backend: 'quant', name: 'q', dim: DIM, seed: 7 })).toThrow(/seed/);
    expect(() => openVectorIndex(db, { backend: 'quant', name: 'q', dim: DIM, floats: () => [] })).toThrow(
      /floats/,
    );
  });
});

describe('quant backend, exact when the re-rank count covers the index', () => {
  it('returns the exact top-k of 3000 random vectors with rerank ≥ n', () => {
    const db = new Database(':memory:');
    try {
      const dim = 64;
      const vs = randomUnitVectors(3000, dim, 21);
      const flat = new Float32Array(3000 * dim);
      vs.forEach((v, i) => flat.set(v, i * dim));
      const index = openVectorIndex(db, { backend: 'quant', name: 'x', dim, rerank: 3000 });
      index.add(vs.map((vector, id) => ({ id, vector })));
      for (const q of randomUnitVectors(10, dim, 22)) {
        for (const k of [1, 10, 200]) {
          const hits = index.search(q, { k });
          const exact = exactTopK(flat, 3000, q, k);
          expect(ids(hits)).toEqual(ids(exact));
          hits.forEach((h, i) => expect(h.score).toBeCloseTo(exact[i].score, 5));
        }
      }
      expect(() => openVectorIndex(db, { backend: 'quant', name: 'y', dim, rerank: 0 })).toThrow(/rerank/);
    } finally {
      db.close();
    }
  });
});

describe('quantizer and kernels', () => {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

  it('keeps the rotation of a seed: codes of a fixed vector are pinned', () => {
    // Stored codes are only valid under the rotation that made them: if this changes, every
    // persisted 'quant' index must be rebuilt (bump the seed or the identity in meta).
    const [v] = randomUnitVectors(1, 100, 1);
    const code = (seed: number) => {
      const quantizer = new Quantizer(100, seed);
      quantizer.kernels.reserve(1);
      const factor = quantizer.encode(v, 0);
      return { code: hex(quantizer.kernels.code(0).subarray(0, quantizer.codeBytes)), factor };
    };
    const pinned = code(DEFAULT_SEED);
    expect(pinned.code).toBe('112f917e6142efddc4323d3029b31a62');
    expect(pinned.factor).toBeCloseTo(0.108798338, 8);
    expect(code(DEFAULT_SEED)).toEqual(pinned);
    expect(code(DEFAULT_SEED + 1).code).not.toBe(pinned.code);
  });

  it('splits a large Hamming pass with a helper thread, with the same distances, and survives its death', () => {
    const dim = 256;
    const n = SPLIT_MIN_CODES + 999; // odd: the halves differ by one
    const quantizer = new Quantizer(dim, 5);
    const kernels: Kernels = quantizer.kernels;
    kernels.reserve(n);
    const rand = mulberry32(17);
    for (let slot = 0; slot < n; slot++)
      kernels.code(slot).set(Array.from({ length: 32 }, () => rand() * 256));
    quantizer.prepare(randomUnitVectors(1, dim, 3)[0]);
    const scalar = (slot: number) => {
      let bits = 0;
      const code = kernels.code(slot);
      for (let j = 0; j < kernels.stride; j++) bits += popcount(code[j] ^ kernels.queryBits[j]);
      return bits;
    };
    const check = () => {
      const { distances, histogram } = kernels.hamming(n);
      const want = new Int32Array(dim + 1);
      for (let slot = 0; slot < n; slot++) {
        const d = scalar(slot);
        want[d]++;
        if (distances[slot] !== d) expect(distances[slot], `slot ${slot}`).toBe(d);
      }
      expect([...histogram]).toEqual([...want]);
    };
    check();
    const helper = (kernels as unknown as { helper: { stop(): void } | null }).helper;
    expect(helper, 'this runtime has shared WebAssembly memory and worker threads').toBeTruthy();
    helper!.stop(); // as if it died: the caller scans both halves
    check();
    check();
  });

  it('rotates orthogonally and counts Hamming distances like a scalar popcount', () => {
    for (const dim of [5, 24, 100, 1024, 3000]) {
      const quantizer = new Quantizer(dim, 9);
      const [a, b] = randomUnitVectors(2, dim, dim);
      const ra = Float32Array.from(quantizer.kernels.rotate(a));
      const rb = Float32Array.from(quantizer.kernels.rotate(b));
      const p = quantizer.kernels.p;
      let d0 = 0;
      let d1 = 0;
      for (let i = 0; i < dim; i++) d0 += a[i] * b[i];
      for (let i = 0; i < p; i++) d1 += ra[i] * rb[i];
      expect(d1 / p ** 3).toBeCloseTo(d0, 4); // three unnormalised Hadamard rounds: × p^1.5 each side
      const kernels: Kernels = quantizer.kernels;
      const vs = randomUnitVectors(50, dim, dim + 1);
      kernels.reserve(vs.length);
      vs.forEach((v, slot) => quantizer.encode(v, slot));
      quantizer.prepare(a);
      const { distances, histogram } = kernels.hamming(vs.length);
      vs.forEach((_, slot) => {
        let bits = 0;
        const code = kernels.code(slot);
        for (let j = 0; j < kernels.stride; j++) bits += popcount(code[j] ^ kernels.queryBits[j]);
        expect(distances[slot]).toBe(bits);
      });
      expect(histogram.reduce((s, x) => s + x, 0)).toBe(vs.length);
      const threshold = [...distances].sort((x, y) => x - y)[9] + 1;
      expect([...kernels.below(vs.length, threshold)]).toEqual(
        vs.map((_, slot) => slot).filter((slot) => distances[slot] < threshold),
      );
    }
  });
});

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

describe('int8 sketches and the re-rank order', () => {
  it('score within a few of their stated standard errors of the exact cosine', () => {
    const dim = 1024;
    const vs = randomUnitVectors(400, dim, 31);
    const qs = randomUnitVectors(5, dim, 32);
    const buf = Buffer.alloc(sketchBytes(dim));
    let worst = 0;
    let sumSq = 0;
    let sumErr = 0;
    for (const v of vs) {
      writeSketch(
        v.map((x) => x * 3),
        buf,
        0,
      ); // the length must not matter
      for (const q of qs) {
        let exact = 0;
        for (let i = 0; i < dim; i++) exact += v[i] * q[i];
        const { score, error } = sketchCosine(q, 1, buf);
        worst = Math.max(worst, Math.abs(score - exact) / error);
        sumSq += (score - exact) ** 2;
        sumErr += error;
      }
    }
    const n = vs.length * qs.length;
    expect(worst).toBeLessThan(5);
    // The stated error is the measured one, within 30%.
    expect(Math.sqrt(sumSq / n) / (sumErr / n)).toBeGreaterThan(0.7);
    expect(Math.sqrt(sumSq / n) / (sumErr / n)).toBeLessThan(1.3);
    writeSketch(new Float32Array(dim), buf, 0);
    expect(sketchCosine(qs[0], 1, buf).score).toBe(0);
  });

  it('orders indices by value, largest first, ties by index, negatives and zeros included', () => {
    const values = Float32Array.from([0.5, -0.25, 0, -0, 2.5, 0.5, -3, 1e-9, -1e-9, 0.5]);
    // Equal values keep index order; +0 sorts above -0 (both are zero).
    expect([...descendingOrder(values)]).toEqual([4, 0, 5, 9, 7, 2, 3, 8, 1, 6]);
    const rand = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i * 12.9898) * 2);
    const got = [...descendingOrder(rand)];
    expect(got.map((i) => rand[i])).toEqual([...rand].sort((a, b) => b - a));
  });
});

describe('IdSlots', () => {
  it('agrees with a Map through random inserts, updates and deletes, large ids included', () => {
    const slots = new IdSlots();
    const map = new Map<number, number>();
    let seed = 1;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 50_000; step++) {
      const id = rand() < 0.5 ? Math.floor(rand() * 5000) : 2 ** 40 + Math.floor(rand() * 5000) * 4096;
      if (rand() < 0.3) expect(slots.delete(id)).toBe(map.delete(id));
      else {
        slots.set(id, step);
        map.set(id, step);
      }
    }
    expect(slots.size).toBe(map.size);
    for (const [id, slot] of map) expect(slots.get(id)).toBe(slot);
    expect(slots.get(123_456)).toBe(-1);
  });
});

describe('defaultBackend', () => {
  it('is quant wherever WebAssembly SIMD runs, sqlite-vec elsewhere, never sqlite-vss', () => {
    expect(defaultBackend('linux', 'x64')).toBe('quant');
    expect(defaultBackend('darwin', 'arm64')).toBe('quant');
    expect(defaultBackend('win32', 'x64')).toBe('quant');
    expect(defaultBackend('linux', 'ia32')).toBe('vec');
    expect(defaultBackend()).toBe('quant'); // this machine
  });
});
