import FFT from 'fft.js';
import { floatTensor, type FloatTensor } from './tensor.js';

/**
 * torchaudio.compliance.kaldi.fbank with the options ImageBind passes (imagebind/data.py
 * waveform2melspec) and Kaldi's defaults for the rest: snip_edges, remove_dc_offset, pre-emphasis
 * 0.97, a power-of-two FFT, the power spectrum, low_freq 20, high_freq 0 (= Nyquist), no energy,
 * and log(max(x, float32 epsilon)). Arithmetic is in float64; torchaudio's float32 differs by
 * ~1e-6 relative, far below the oracle tolerance.
 */

export interface FbankOptions {
  sampleRate: number;
  numMelBins: number;
  frameLengthMs: number;
  frameShiftMs: number;
  /** Defaults 20 Hz and 0 (0 or less counts back from Nyquist), as in Kaldi. */
  lowFreq?: number;
  highFreq?: number;
  /** Default 0.97. */
  preemphasis?: number;
}

/** std::numeric_limits<float>::epsilon(): Kaldi's floor before the log. */
export const FLOAT32_EPSILON = 1.1920928955078125e-7;

/** Kaldi's mel scale (HTK formula with the natural log). */
export function melScale(freq: number): number {
  return 1127 * Math.log(1 + freq / 700);
}

export function inverseMelScale(mel: number): number {
  return 700 * (Math.exp(mel / 1127) - 1);
}

/** Kaldi's "hanning": the symmetric Hann window 0.5 − 0.5·cos(2πn/(N−1)) (torch.hann_window periodic=False). */
export function hanningWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  if (n === 1) w[0] = 1;
  else for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  return w;
}

/** One triangular mel filter: weights for FFT bins [start, start + weights.length). */
export interface MelFilter {
  start: number;
  weights: Float64Array;
  /** Left edge, centre and right edge in Hz (for inspection and tests). */
  leftHz: number;
  centerHz: number;
  rightHz: number;
}

/**
 * Kaldi/torchaudio get_mel_banks without VTLN: filters evenly spaced on the mel scale between
 * low and high, triangular in mel, evaluated at FFT bin centres k·sr/N for k < N/2 (the Nyquist
 * bin gets no weight, as torchaudio pads the matrix with a zero column).
 */
export function melFilterbank(
  numBins: number,
  paddedWindow: number,
  sampleRate: number,
  lowFreq = 20,
  highFreq = 0,
): MelFilter[] {
  const nyquist = sampleRate / 2;
  const high = highFreq <= 0 ? highFreq + nyquist : highFreq;
  if (!(lowFreq >= 0 && lowFreq < high && high <= nyquist)) {
    throw new Error(`bad mel band ${lowFreq}..${high} Hz for sample rate ${sampleRate}`);
  }
  const fftBins = paddedWindow / 2;
  const binWidth = sampleRate / paddedWindow;
  const melLow = melScale(lowFreq);
  const delta = (melScale(high) - melLow) / (numBins + 1);
  const binMel = Float64Array.from({ length: fftBins }, (_, k) => melScale(binWidth * k));
  const filters: MelFilter[] = [];
  for (let b = 0; b < numBins; b++) {
    const left = melLow + b * delta;
    const center = melLow + (b + 1) * delta;
    const right = melLow + (b + 2) * delta;
    const weights: number[] = [];
    let start = -1;
    for (let k = 0; k < fftBins; k++) {
      const w = Math.max(
        0,
        Math.min((binMel[k] - left) / (center - left), (right - binMel[k]) / (right - center)),
      );
      if (w <= 0) continue;
      if (start < 0) start = k;
      weights[k - start] = w;
    }
    filters.push({
      start: Math.max(start, 0),
      weights: Float64Array.from(weights),
      leftHz: inverseMelScale(left),
      centerHz: inverseMelScale(center),
      rightHz: inverseMelScale(right),
    });
  }
  return filters;
}

interface FbankPlan {
  windowSize: number;
  windowShift: number;
  padded: number;
  window: Float64Array;
  filters: MelFilter[];
  fft: FFT;
  preemphasis: number;
}

const plans = new Map<string, FbankPlan>();

function plan(o: FbankOptions): FbankPlan {
  const key = JSON.stringify(o);
  let p = plans.get(key);
  if (p) return p;
  // Kaldi truncates: int(sample_frequency * frame_length_ms * 0.001).
  const windowSize = Math.trunc(o.sampleRate * o.frameLengthMs * 0.001);
  const windowShift = Math.trunc(o.sampleRate * o.frameShiftMs * 0.001);
  if (windowSize < 2 || windowShift < 1)
    throw new Error('fbank frame length/shift too small for the sample rate');
  const padded = 2 ** Math.ceil(Math.log2(windowSize));
  p = {
    windowSize,
    windowShift,
    padded,
    window: hanningWindow(windowSize),
    filters: melFilterbank(o.numMelBins, padded, o.sampleRate, o.lowFreq ?? 20, o.highFreq ?? 0),
    fft: new FFT(padded),
    preemphasis: o.preemphasis ?? 0.97,
  };
  plans.set(key, p);
  return p;
}

/** Frames Kaldi takes with snip_edges: only whole windows, none when the signal is shorter than one. */
export function fbankFrameCount(numSamples: number, windowSize: number, windowShift: number): number {
  return numSamples < windowSize ? 0 : 1 + Math.floor((numSamples - windowSize) / windowShift);
}

/**
 * Log mel filterbank energies of a mono signal, `[numFrames, numMelBins]`. A signal shorter than
 * one window gives zero frames (dims `[0, numMelBins]`), like torchaudio's empty result.
 */
export function kaldiFbank(wave: Float32Array, opts: FbankOptions): FloatTensor {
  const p = plan(opts);
  const frames = fbankFrameCount(wave.length, p.windowSize, p.windowShift);
  const bins = p.filters.length;
  const out = new Float32Array(frames * bins);
  const frame = new Float64Array(p.padded);
  const spectrum = new Float64Array(2 * p.padded);
  const power = new Float64Array(p.padded / 2);
  for (let f = 0; f < frames; f++) {
    prepareFrame(wave, f * p.windowShift, p, frame);
    p.fft.realTransform(spectrum, frame);
    for (let k = 0; k < power.length; k++) power[k] = spectrum[2 * k] ** 2 + spectrum[2 * k + 1] ** 2;
    applyFilters(power, p.filters, out, f * bins);
  }
  return floatTensor(out, [frames, bins]);
}

/** Copies one window into `frame` (zero-padded to the FFT size): DC removal, pre-emphasis, Hann. */
function prepareFrame(wave: Float32Array, offset: number, p: FbankPlan, frame: Float64Array): void {
  const n = p.windowSize;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += wave[offset + i];
  mean /= n;
  for (let i = 0; i < n; i++) frame[i] = wave[offset + i] - mean;
  // Pre-emphasis runs backwards so each step still sees the previous raw sample; sample 0 uses
  // itself as its predecessor (torchaudio's replicate padding).
  for (let i = n - 1; i > 0; i--) frame[i] -= p.preemphasis * frame[i - 1];
  frame[0] -= p.preemphasis * frame[0];
  for (let i = 0; i < n; i++) frame[i] *= p.window[i];
  frame.fill(0, n);
}

function applyFilters(power: Float64Array, filters: MelFilter[], out: Float32Array, at: number): void {
  for (let b = 0; b < filters.length; b++) {
    const { start, weights } = filters[b];
    let e = 0;
    for (let i = 0; i < weights.length; i++) e += weights[i] * power[start + i];
    out[at + b] = Math.log(Math.max(e, FLOAT32_EPSILON));
  }
}
