/**
 * A port of torchaudio.functional.resample with its defaults (resampling_method "sinc_interp_hann"
 * a.k.a. "sinc_interpolation", lowpass_filter_width 6, rolloff 0.99). ImageBind resamples with it,
 * and its windowed-sinc kernel shapes the mel spectrogram's top bins, so a different (even better)
 * resampler visibly moves the audio embedding.
 *
 * torchaudio builds one kernel per output phase over `2·width + orig` input taps and convolves with
 * stride `orig`. Only about `2·lowpass_filter_width·orig/base` of those taps are non-zero (the rest
 * are clamped to the window's zero), so each phase keeps just its non-zero span; the result is the
 * same sum, an order of magnitude faster.
 */

export interface ResampleOptions {
  lowpassFilterWidth?: number;
  rolloff?: number;
}

interface PhaseKernel {
  /** Offset of the first non-zero tap from the block's first padded input sample. */
  first: number;
  taps: Float64Array;
}

export interface ResampleKernel {
  /** Rates reduced by their gcd, as torchaudio does before building the kernel. */
  orig: number;
  target: number;
  /** Zero padding torchaudio adds on the left (and `width + orig` on the right). */
  width: number;
  phases: PhaseKernel[];
}

const kernelCache = new Map<string, ResampleKernel>();

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** The reduced, per-phase sinc kernels for `origFreq → newFreq`, cached per rate pair. */
export function resampleKernel(
  origFreq: number,
  newFreq: number,
  opts: ResampleOptions = {},
): ResampleKernel {
  if (!Number.isInteger(origFreq) || !Number.isInteger(newFreq) || origFreq <= 0 || newFreq <= 0) {
    throw new Error(`resample rates must be positive integers (got ${origFreq} → ${newFreq})`);
  }
  const lpw = opts.lowpassFilterWidth ?? 6;
  const rolloff = opts.rolloff ?? 0.99;
  const key = `${origFreq}:${newFreq}:${lpw}:${rolloff}`;
  let k = kernelCache.get(key);
  if (!k) {
    k = buildKernel(origFreq, newFreq, lpw, rolloff);
    kernelCache.set(key, k);
  }
  return k;
}

function buildKernel(origFreq: number, newFreq: number, lpw: number, rolloff: number): ResampleKernel {
  const g = gcd(origFreq, newFreq);
  const orig = origFreq / g;
  const target = newFreq / g;
  const base = Math.min(orig, target) * rolloff;
  const width = Math.ceil((lpw * orig) / base);
  const span = 2 * width + orig;
  const scale = base / orig;
  const phases: PhaseKernel[] = [];
  for (let i = 0; i < target; i++) {
    const values: number[] = [];
    let first = -1;
    for (let j = 0; j < span; j++) {
      // Tap j sits at input offset idx = j - width; t is in units of the low-pass period.
      const t = (-i / target + (j - width) / orig) * base;
      // Outside |t| < lpw torchaudio clamps t to ±lpw, where the Hann window is cos²(π/2) = 0.
      if (Math.abs(t) >= lpw) continue;
      if (first < 0) first = j;
      const window = Math.cos((t * Math.PI) / lpw / 2) ** 2;
      const x = t * Math.PI;
      values[j - first] = (x === 0 ? 1 : Math.sin(x) / x) * window * scale;
    }
    phases.push({ first: Math.max(first, 0), taps: Float64Array.from(values) });
  }
  return { orig, target, width, phases };
}

/** Output length for `n` input samples: `ceil(target·n/orig)` with the gcd-reduced rates. */
export function resampledLength(n: number, origFreq: number, newFreq: number): number {
  const g = gcd(origFreq, newFreq);
  return Math.ceil(((newFreq / g) * n) / (origFreq / g));
}

/**
 * Resamples a mono signal like `torchaudio.functional.resample(x, origFreq, newFreq)`: zero-padded
 * at both ends, output length `ceil(n·new/orig)` (rates reduced by gcd).
 */
export function resample(
  x: Float32Array,
  origFreq: number,
  newFreq: number,
  opts: ResampleOptions = {},
): Float32Array {
  if (origFreq === newFreq) return x.slice();
  const k = resampleKernel(origFreq, newFreq, opts);
  const outLen = resampledLength(x.length, origFreq, newFreq);
  const out = new Float32Array(outLen);
  const n = x.length;
  for (let j = 0; j < outLen; j++) {
    const phase = k.phases[j % k.target];
    // Input index of this phase's first non-zero tap (padded index minus the left padding).
    const start = Math.floor(j / k.target) * k.orig - k.width + phase.first;
    const taps = phase.taps;
    const lo = Math.max(0, -start);
    const hi = Math.min(taps.length, n - start);
    let acc = 0;
    for (let t = lo; t < hi; t++) acc += taps[t] * x[start + t];
    out[j] = acc;
  }
  return out;
}
