import { mulberry32 } from '../../app/random.js';
import { float32ToHalf } from '../../main/core/encoders/half.js';
import { bytesOf, DT, GraphBuilder } from '../../main/core/encoders/onnx-builder.js';

/**
 * Seeded random weights for the test pack. Everything here is pure: no clock, no Math.random, no
 * platform-dependent maths, so the same calls give the same bytes.
 */

/** FNV-1a over a string: gives each weight tensor its own seed, so editing one graph leaves the others byte-identical. */
export function seedFrom(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Uniform weights with the given standard deviation. Uniform rather than Gaussian because
 * Box-Muller needs log/cos, whose last bits are not guaranteed across JS engines; sqrt is exact.
 */
export function uniformWeights(seedText: string, count: number, std: number): Float32Array {
  const next = mulberry32(seedFrom(seedText));
  const half = Math.sqrt(3) * std;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * half;
  return out;
}

/** A graph builder whose random weights are seeded by the graph's prefix and the weight's name. */
export class SeededGraph extends GraphBuilder {
  constructor(private readonly prefix: string) {
    super();
  }

  /** Random weights stored as float16 and cast to float32 in the graph (half the bytes on disk). */
  weightF16(name: string, dims: number[], std: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const raw = bytesOf(float32ToHalf(uniformWeights(`${this.prefix}/${name}`, count, std)));
    this.initializer(`${name}_f16`, 'float16', dims, raw);
    return this.op('Cast', [`${name}_f16`], { to: DT.FLOAT }, name);
  }
}
