import { mulberry32 } from '../../../../app/random.js';
import { ROUNDS } from './kernel-code.js';
import { Kernels } from './kernels.js';

/**
 * 1-bit quantization with a random rotation, after RaBitQ (Gao & Long, SIGMOD 2024):
 *  - Rotate: x' = P·x/|x| with P a seeded random orthogonal transform (three rounds of random
 *    signs and a Walsh–Hadamard transform, p = the dimension rounded up to a power of two). The
 *    rotation spreads every direction evenly over the p coordinates, so one sign bit each keeps
 *    about the same information wherever the data's variance lies.
 *  - Code: s = sign(x') as p bits (bit set = negative), plus one float per vector,
 *    factor = |x'|₂ / |x'|₁, RaBitQ's correction 1 / <s/√p, x̂'> folded with the 1/√p of s.
 *  - Estimate, asymmetrically (the query stays float): cos(x, q) ≈ factor · <s, q'> with q' the
 *    rotated unit query. This is RaBitQ's unbiased estimator; its error shrinks as 1/√p (≈ 0.02
 *    at 1024-d). <s, q'> is computed exactly for the code from per-byte tables: for each code
 *    byte b, lut[b][v] = Σⱼ ±q'[8b + j] over the 8 bits of v, so a code costs p/8 lookups.
 *  - Symmetric Hamming distance between the code and the query's own sign bits is a cruder
 *    estimate, but SIMD popcount makes it ~15× cheaper: it preselects the candidates that the
 *    asymmetric estimate then ranks (see backend.ts).
 * The seed is stored with the index: codes are only comparable under the same rotation.
 */

export const DEFAULT_SEED = 0x5eedb1d;

export function paddedDim(dim: number): number {
  let p = 8;
  while (p < dim) p *= 2;
  return p;
}

/** ±1 per coordinate and round, from the seed (mulberry32: the same on every platform). */
function rotationSigns(p: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: ROUNDS * p }, () => (rand() < 0.5 ? -1 : 1));
}

export interface PreparedQuery {
  /** codeBytes × 256 partial dot products of the rotated unit query. */
  lut: Float32Array;
}

export class Quantizer {
  readonly kernels: Kernels;
  readonly codeBytes: number;

  constructor(
    readonly dim: number,
    readonly seed: number,
  ) {
    const p = paddedDim(dim);
    this.kernels = new Kernels(p, rotationSigns(p, seed));
    this.codeBytes = this.kernels.codeBytes;
  }

  /** Writes `v`'s code into `slot` of the kernels' code table; returns its correction factor. */
  encode(v: Float32Array, slot: number): number {
    return this.kernels.encode(v, slot);
  }

  /** Sets the query's sign bits for the Hamming pass and builds its lookup tables. */
  prepare(q: Float32Array): PreparedQuery {
    const x = this.kernels.encodeQuery(q);
    let l2 = 0;
    for (let i = 0; i < x.length; i++) l2 += x[i] * x[i];
    const scale = l2 > 0 ? 1 / Math.sqrt(l2) : 0;
    const lut = new Float32Array(this.codeBytes * 256);
    for (let b = 0; b < this.codeBytes; b++) {
      let all = 0;
      for (let j = 0; j < 8; j++) all += x[8 * b + j] * scale;
      // Entry v differs from entry v without its lowest set bit j by flipping q'ⱼ's sign.
      const o = 256 * b;
      lut[o] = all;
      for (let v = 1; v < 256; v++) {
        const low = v & -v;
        lut[o + v] = lut[o + (v ^ low)] - 2 * scale * x[8 * b + 31 - Math.clz32(low)];
      }
    }
    return { lut };
  }
}
