import { dot, norm } from '../../app/vector-math.js';

/**
 * The converter's yardsticks, free of file paths (so the GPU bench bundles them too): the golden
 * inputs' formula and the two distances every check reports.
 */

/** make_golden.py's formula_input, exactly: ((i·7919 + salt·104729) mod 1000) / 500 − 1 in float32. */
export function formulaInput(count: number, salt: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = ((i * 7919 + salt * 104729) % 1000) / 500 - 1;
  return out;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  return dot(a, b) / (norm(a) * norm(b));
}

/** The largest element-wise difference; Infinity when the lengths differ. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
