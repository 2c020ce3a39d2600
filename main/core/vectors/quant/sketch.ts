/**
 * int8 sketches for the quantized backend's re-ranking (backend.ts, docs/vector-index.md):
 * each vector as one signed byte per dimension plus two floats, 1 KB at 1024-d, three rows to a
 * 4 KB page of a rowid table. Reading one takes 3–6 µs at a million rows, where a 4 KB float
 * vector from the catalogue's WITHOUT ROWID table takes 40–70 µs (overflow pages), so the
 * re-rank loop reads sketches and only the final few candidates read floats.
 *
 * Layout: q[i] = round(x[i] / step) with step = max|x| / 127; then s = step / |x| and the error
 * scale e = step / (√12 · |x|) as float32s. cos(x, y) ≈ s · (q · y) / |y|, with a standard error
 * of about e (the rounding errors are uniform in ±step/2 per coordinate): ~4e-4 for a 1024-d unit
 * vector, a hundred times finer than the 1-bit estimate, so sketch order is exact order but for
 * near-ties, which the final exact re-score settles (sketchMargin).
 */

/** Bytes of one sketch: a byte per dimension and the floats s and e. */
export const sketchBytes = (dim: number): number => dim + 8;

/** Writes the sketch of `x` at `offset` of `out`. A zero vector gets s = 0 (it matches nothing). */
export function writeSketch(x: Float32Array, out: Buffer, offset: number): void {
  let max = 0;
  let sq = 0;
  for (let i = 0; i < x.length; i++) {
    max = Math.max(max, Math.abs(x[i]));
    sq += x[i] * x[i];
  }
  const step = max > 0 ? max / 127 : 1;
  const q = new Int8Array(out.buffer, out.byteOffset + offset, x.length);
  for (let i = 0; i < x.length; i++) q[i] = Math.round(x[i] / step);
  const length = Math.sqrt(sq);
  out.writeFloatLE(max > 0 ? step / length : 0, offset + x.length);
  out.writeFloatLE(max > 0 ? step / (Math.sqrt(12) * length) : 0, offset + x.length + 4);
}

export interface SketchScore {
  score: number;
  /** The standard error of the score. */
  error: number;
}

/** The sketch's cosine with `query` (its norm given) and that cosine's standard error. */
export function sketchCosine(query: Float32Array, queryNorm: number, sketch: Buffer): SketchScore {
  const dim = query.length;
  const q = new Int8Array(sketch.buffer, sketch.byteOffset, dim);
  let dot = 0;
  for (let i = 0; i < dim; i++) dot += q[i] * query[i];
  if (!(queryNorm > 0)) return { score: 0, error: 0 };
  return { score: (sketch.readFloatLE(dim) * dot) / queryNorm, error: sketch.readFloatLE(dim + 4) };
}
