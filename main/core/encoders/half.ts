/**
 * IEEE 754 half precision ⇄ float32, for fp16 model weights and fp16 graph inputs and outputs.
 * Round to nearest, ties to even, as numpy and torch do, so a converted weight has exactly the
 * bits `tensor.half()` gives.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds `value >>> shift` to nearest, ties to even. */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return kept + (rest > half || (rest === half && kept & 1) ? 1 : 0);
}

/** float32 bits → half bits (a mantissa carry correctly bumps the exponent). */
function halfFromBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00;
  if (e > 0) return sign | roundShift((e << 23) | mant, 13);
  return e < -10 ? sign : sign | roundShift(mant | 0x800000, 14 - e);
}

/** One float32 → half bits. */
export function halfBits(value: number): number {
  f32[0] = value;
  return halfFromBits(u32[0]);
}

export function float32ToHalf(data: Float32Array): Uint16Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfFromBits(bits[i]);
  return out;
}

/** Half bits → float32, exactly. */
export function halfToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    const mag = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
    out[i] = h & 0x8000 ? -mag : mag;
  }
  return out;
}
