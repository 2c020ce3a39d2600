/**
 * mulberry32: a tiny seedable PRNG built from 32-bit integer operations only, so a seed gives the
 * same sequence on every platform. Production code depends on it: the quant index's random
 * rotation (main/core/vectors/quantizer.ts) is drawn from it, so stored codes are only valid while
 * this sequence never changes; the self-test's inputs come from it too. Also used by the test-pack
 * generator, benchmarks and tests.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
