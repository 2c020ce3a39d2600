import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { mulberry32 } from '../../app/random.js';
import type { VectorHit } from '../../main/core/vectors/index.js';

/**
 * Seeded synthetic vectors for the vector benchmark: clustered 1024-d unit vectors, held-out
 * queries near members, and exact ground truth. A million 1024-d vectors are 4 GB, so the data
 * is generated chunk by chunk into a file (streamed back for each backend, from the page cache)
 * and the ground truth is computed over the same chunks for all queries at once.
 */

export const CLUSTERS = 1000;
/** Member = normalize(centre + SPREAD·e) with |e| ≈ 1: cos(member, centre) ≈ 0.8, as for related photos. */
const SPREAD = 0.75;
/** Query = normalize(member + QUERY_NOISE·e): near a member, never equal to one. */
const QUERY_NOISE = 0.35;

/** Standard normal samples (Box–Muller, both values used). */
export function gaussian(rand: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const th = 2 * Math.PI * rand();
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
}

export function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}

/** Writes normalize(base + scale·e), e ~ N(0, I/dim), into `out`. */
function perturb(out: Float32Array, base: Float32Array, scale: number, gauss: () => number): Float32Array {
  const s = scale / Math.sqrt(out.length);
  for (let i = 0; i < out.length; i++) out[i] = base[i] + s * gauss();
  return normalize(out);
}

/** n independent uniformly random unit vectors. */
export function randomUnitVectors(n: number, dim: number, seed: number): Float32Array[] {
  const gauss = gaussian(mulberry32(seed));
  const zero = new Float32Array(dim);
  return Array.from({ length: n }, () => perturb(new Float32Array(dim), zero, Math.sqrt(dim), gauss));
}

/**
 * Rows 0…n-1 of the clustered data set in chunks of `rows` (the last may be shorter): members of
 * `clusters` Gaussian clusters, uniformly assigned. The same seed gives the same rows whatever
 * the chunk size, and the first m rows of a larger n are the rows of n = m.
 */
export function* clusteredChunks(
  n: number,
  dim: number,
  seed: number,
  rows = 4096,
  clusters = CLUSTERS,
): Generator<Float32Array> {
  const rand = mulberry32(seed);
  const gauss = gaussian(rand);
  const centres = randomUnitVectors(clusters, dim, seed ^ 0x5eed);
  for (let start = 0; start < n; start += rows) {
    const count = Math.min(rows, n - start);
    const chunk = new Float32Array(count * dim);
    for (let i = 0; i < count; i++) {
      const row = chunk.subarray(i * dim, (i + 1) * dim);
      perturb(row, centres[Math.floor(rand() * clusters)], SPREAD, gauss);
    }
    yield chunk;
  }
}

/** n·dim floats, row i = vector i (clusteredChunks in one array; for data sets that fit memory). */
export function clusteredVectors(n: number, dim: number, seed: number, clusters = CLUSTERS): Float32Array {
  const data = new Float32Array(n * dim);
  let at = 0;
  for (const chunk of clusteredChunks(n, dim, seed, 4096, clusters)) {
    data.set(chunk, at);
    at += chunk.length;
  }
  return data;
}

/** Held-out queries: perturbed copies of random members among the first n rows. */
export function heldOutQueries(
  data: Float32Array,
  n: number,
  dim: number,
  count: number,
  seed: number,
): Float32Array[] {
  const sources = querySources(n, count, seed);
  return perturbQueries(
    sources.map((i) => data.subarray(i * dim, (i + 1) * dim)),
    seed,
  );
}

/** Which rows queries are made from: `count` seeded draws in [0, n). */
export function querySources(n: number, count: number, seed: number): number[] {
  const rand = mulberry32(seed);
  return Array.from({ length: count }, () => Math.floor(rand() * n));
}

export function perturbQueries(sources: Float32Array[], seed: number): Float32Array[] {
  const gauss = gaussian(mulberry32(seed ^ 0x9e3779b9));
  return sources.map((row) => perturb(new Float32Array(row.length), row, QUERY_NOISE, gauss));
}

/** A sorted top-k by score (ties by id) that rejects most candidates with one comparison. */
export class TopK {
  readonly hits: VectorHit[] = [];
  constructor(private readonly k: number) {}

  offer(id: number, score: number): void {
    const top = this.hits;
    if (top.length === this.k && score <= top[this.k - 1].score) return;
    let at = top.length;
    while (at > 0 && top[at - 1].score < score) at--;
    top.splice(at, 0, { id, score });
    if (top.length > this.k) top.pop();
  }
}

/** Exact top-k by cosine (dot product of unit vectors) over the first n rows; ties by id (row index). */
export function exactTopK(
  data: Float32Array,
  n: number,
  q: Float32Array,
  k: number,
  allow?: (id: number) => boolean,
): VectorHit[] {
  const dim = q.length;
  const top = new TopK(k);
  for (let id = 0; id < n; id++) {
    if (allow && !allow(id)) continue;
    let s = 0;
    for (let j = 0, o = id * dim; j < dim; j++) s += data[o + j] * q[j];
    top.offer(id, s);
  }
  return top.hits;
}

export function recallAt(k: number, got: VectorHit[], truth: VectorHit[]): number {
  const want = new Set(truth.slice(0, k).map((h) => h.id));
  return got.slice(0, k).filter((h) => want.has(h.id)).length / Math.max(1, Math.min(k, want.size));
}

/** The data set in a file of float32 rows; rows are streamed back in chunks or read by id. */
export class VectorFile {
  private constructor(
    readonly file: string,
    readonly n: number,
    readonly dim: number,
  ) {}

  /** Generates n rows into `file`, calling `each(chunk, firstRow)` on the way. */
  static generate(
    file: string,
    n: number,
    dim: number,
    seed: number,
    each?: (chunk: Float32Array, first: number) => void,
  ): VectorFile {
    const fd = openSync(file, 'w');
    try {
      let first = 0;
      for (const chunk of clusteredChunks(n, dim, seed)) {
        writeSync(fd, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        each?.(chunk, first);
        first += chunk.length / dim;
      }
    } finally {
      closeSync(fd);
    }
    return new VectorFile(file, n, dim);
  }

  /** Rows [0, n) in chunks of `rows`, as { first row, rows × dim floats }. */
  *chunks(n: number, rows: number): Generator<{ first: number; data: Float32Array }> {
    const fd = openSync(this.file, 'r');
    try {
      for (let first = 0; first < n; first += rows) {
        const data = new Float32Array(Math.min(rows, n - first) * this.dim);
        readSync(fd, new Uint8Array(data.buffer), 0, data.byteLength, first * this.dim * 4);
        yield { first, data };
      }
    } finally {
      closeSync(fd);
    }
  }

  /** The given rows, one array each. */
  rows(ids: readonly number[]): Float32Array[] {
    const fd = openSync(this.file, 'r');
    try {
      return ids.map((id) => {
        const v = new Float32Array(this.dim);
        readSync(fd, new Uint8Array(v.buffer), 0, v.byteLength, id * this.dim * 4);
        return v;
      });
    } finally {
      closeSync(fd);
    }
  }
}

/** <data row at offset o, q> with four partial sums (a third faster than one in V8). */
function dotAt(data: Float32Array, o: number, q: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const dim = q.length;
  let j = 0;
  for (; j + 4 <= dim; j += 4) {
    s0 += data[o + j] * q[j];
    s1 += data[o + j + 1] * q[j + 1];
    s2 += data[o + j + 2] * q[j + 2];
    s3 += data[o + j + 3] * q[j + 3];
  }
  for (; j < dim; j++) s0 += data[o + j] * q[j];
  return s0 + s1 + s2 + s3;
}

/** Rows per block: 64 rows of 4 KB stay in L2 while every query passes over them. */
const GT_BLOCK = 64;

/** Exact top-k of every query over rows [0, n) of the file, one pass over the data. */
export function groundTruth(file: VectorFile, n: number, queries: Float32Array[], k: number): VectorHit[][] {
  const tops = queries.map(() => new TopK(k));
  const dim = file.dim;
  for (const { first, data } of file.chunks(n, 8192)) {
    const rows = data.length / dim;
    for (let b = 0; b < rows; b += GT_BLOCK) {
      for (let qi = 0; qi < queries.length; qi++) {
        const q = queries[qi];
        const top = tops[qi];
        for (let r = b; r < Math.min(rows, b + GT_BLOCK); r++) top.offer(first + r, dotAt(data, r * dim, q));
      }
    }
  }
  return tops.map((t) => t.hits);
}
