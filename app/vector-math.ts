/**
 * Pure vector helpers for the engine's query arithmetic (combine: the weighted sum of terms) and
 * segment means (meanDirection). Pure and platform-free, hence in app/; the renderer does not
 * re-rank locally, it asks the engine again when a slider moves.
 */

export function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`dimension mismatch: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}

/** Returns a unit-length copy; a zero vector cannot be normalised and is an error, not NaNs. */
export function normalize(a: Float32Array): Float32Array {
  const n = norm(a);
  if (!(n > 1e-12)) throw new Error('cannot normalise a zero vector (the weighted terms cancel out)');
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] / n;
  return out;
}

/** normalize(Σ wᵢ·eᵢ) over unit term vectors: ImageBind's embedding arithmetic. */
export function combine(vectors: readonly Float32Array[], weights: readonly number[]): Float32Array {
  return normalize(weightedSum(vectors, weights));
}

function weightedSum(vectors: readonly Float32Array[], weights: readonly number[]): Float32Array {
  if (vectors.length === 0 || vectors.length !== weights.length)
    throw new Error('combine needs one weight per vector');
  const out = new Float32Array(vectors[0].length);
  vectors.forEach((v, t) => {
    const w = weights[t];
    if (w === 0) return;
    for (let i = 0; i < out.length; i++) out[i] += w * v[i];
  });
  return out;
}

/**
 * Each term's signed share of a result's score under combine: wᵢ·(eᵢ·v) / ‖Σ wⱼ·eⱼ‖. The shares
 * add up to combine(…)·v, the score itself.
 */
export function termShares(
  vectors: readonly Float32Array[],
  weights: readonly number[],
  v: Float32Array,
): number[] {
  const n = norm(weightedSum(vectors, weights));
  return vectors.map((e, i) => (n > 1e-12 ? (weights[i] * dot(e, v)) / n : 0));
}

/** The mean direction of several unit vectors: a file's vector from its clips, as ImageBind averages clips. */
export function meanDirection(vectors: readonly Float32Array[]): Float32Array {
  return combine(
    vectors,
    vectors.map(() => 1),
  );
}
