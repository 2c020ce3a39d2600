import { describe, expect, it } from 'vitest';
import {
  FLOAT32_EPSILON,
  fbankFrameCount,
  hanningWindow,
  inverseMelScale,
  kaldiFbank,
  melFilterbank,
  melScale,
} from '../../main/core/imagebind/fbank.js';

const OPTS = { sampleRate: 16000, numMelBins: 128, frameLengthMs: 25, frameShiftMs: 10 };

/** Deterministic noise in [-0.5, 0.5). */
function noise(n: number, seed = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

/**
 * A deliberately naive fbank for one frame (O(N²) DFT, dense filter matrix from the textbook
 * formulas), as an independent check of the fast path's FFT, framing and filter application.
 */
function naiveFrame(x: Float32Array, offset: number): number[] {
  const n = 400;
  const raw = Array.from(x.subarray(offset, offset + n));
  const mean = raw.reduce((a, b) => a + b, 0) / n;
  const dc = raw.map((v) => v - mean);
  const pre = dc.map((v, i) => v - 0.97 * (i === 0 ? dc[0] : dc[i - 1]));
  const win = pre.map((v, i) => v * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1))));
  const power = Array.from({ length: 256 }, (_, k) => {
    let re = 0;
    let im = 0;
    for (let t = 0; t < n; t++) {
      re += win[t] * Math.cos((2 * Math.PI * k * t) / 512);
      im -= win[t] * Math.sin((2 * Math.PI * k * t) / 512);
    }
    return re * re + im * im;
  });
  const mel = (f: number): number => 1127 * Math.log(1 + f / 700);
  const lo = mel(20);
  const delta = (mel(8000) - lo) / 129;
  return Array.from({ length: 128 }, (_, b) => {
    let e = 0;
    for (let k = 0; k < 256; k++) {
      const m = mel(k * 31.25);
      const up = (m - (lo + b * delta)) / delta;
      const down = (lo + (b + 2) * delta - m) / delta;
      e += Math.max(0, Math.min(up, down)) * power[k];
    }
    return Math.log(Math.max(e, FLOAT32_EPSILON));
  });
}

describe('Kaldi hanning window', () => {
  it('is the symmetric Hann window 0.5 − 0.5·cos(2πn/(N−1))', () => {
    const w = hanningWindow(400);
    expect(w.length).toBe(400);
    expect(w[0]).toBe(0);
    expect(w[399]).toBeCloseTo(0, 15);
    for (const i of [1, 57, 199, 200, 345]) {
      expect(w[i]).toBeCloseTo(0.5 - 0.5 * Math.cos((2 * Math.PI * i) / 399), 14);
      expect(w[i]).toBeCloseTo(w[399 - i], 14);
    }
    // Symmetric, not periodic: the peak is between samples 199 and 200, not at 200.
    expect(w[199]).toBeCloseTo(w[200], 14);
    expect(w[200]).toBeLessThan(1);
  });
});

describe('mel filterbank', () => {
  const filters = melFilterbank(128, 512, 16000);

  it('uses the Kaldi mel scale 1127·ln(1 + f/700)', () => {
    expect(melScale(700)).toBeCloseTo(1127 * Math.log(2), 10);
    expect(inverseMelScale(melScale(1234.5))).toBeCloseTo(1234.5, 9);
  });

  it('spans 20 Hz to Nyquist in 128 filters evenly spaced in mel', () => {
    expect(filters).toHaveLength(128);
    expect(filters[0].leftHz).toBeCloseTo(20, 9);
    expect(filters[127].rightHz).toBeCloseTo(8000, 6);
    const delta = (melScale(8000) - melScale(20)) / 129;
    expect(melScale(filters[0].centerHz) - melScale(filters[0].leftHz)).toBeCloseTo(delta, 9);
    expect(melScale(filters[64].centerHz)).toBeCloseTo(melScale(20) + 65 * delta, 9);
  });

  it('evaluates triangles at FFT bin centres k·31.25 Hz', () => {
    // Filter 0 spans ~20–48.6 Hz, so it holds just bin 1 (31.25 Hz).
    expect(filters[0].start).toBe(1);
    expect(filters[0].weights).toHaveLength(1);
    const f0 = filters[0];
    const expected = (melScale(31.25) - melScale(f0.leftHz)) / (melScale(f0.centerHz) - melScale(f0.leftHz));
    expect(f0.weights[0]).toBeCloseTo(expected, 12);
    // The top filter reaches up to bin 255; the Nyquist bin (256) never has weight.
    const last = filters[127];
    expect(last.start + last.weights.length).toBe(256);
    expect(last.start * 31.25).toBeGreaterThan(last.leftHz);
    for (const f of filters) {
      expect(f.start + f.weights.length).toBeLessThanOrEqual(256);
      for (const w of f.weights) expect(w).toBeGreaterThan(0);
      for (const w of f.weights) expect(w).toBeLessThanOrEqual(1);
    }
  });

  it('rejects a band outside the spectrum', () => {
    expect(() => melFilterbank(128, 512, 16000, 9000)).toThrow(/bad mel band/);
  });
});

describe('kaldiFbank', () => {
  it('takes whole 25 ms windows every 10 ms (snip_edges)', () => {
    expect(fbankFrameCount(16000, 400, 160)).toBe(98);
    expect(fbankFrameCount(400, 400, 160)).toBe(1);
    expect(fbankFrameCount(399, 400, 160)).toBe(0);
    expect(kaldiFbank(new Float32Array(32000), OPTS).dims).toEqual([198, 128]);
  });

  it('gives zero frames, not an error, for a signal shorter than one window', () => {
    const fb = kaldiFbank(new Float32Array(399), OPTS);
    expect(fb.dims).toEqual([0, 128]);
    expect(fb.data.length).toBe(0);
  });

  it('floors silence at log(float32 epsilon)', () => {
    const fb = kaldiFbank(new Float32Array(1000), OPTS);
    for (const v of fb.data) expect(v).toBeCloseTo(Math.log(FLOAT32_EPSILON), 5);
  });

  it('ignores a DC offset (remove_dc_offset)', () => {
    const x = noise(2000);
    const shifted = x.map((v) => v + 0.25);
    const a = kaldiFbank(x, OPTS).data;
    const b = kaldiFbank(shifted, OPTS).data;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThan(1e-4);
  });

  it('matches a naive DFT implementation of the same recipe', () => {
    const x = noise(1200, 7);
    const fb = kaldiFbank(x, OPTS);
    for (const frame of [0, 3, 5]) {
      const ref = naiveFrame(x, frame * 160);
      for (let b = 0; b < 128; b++) expect(fb.data[frame * 128 + b]).toBeCloseTo(ref[b], 4);
    }
  });

  it('puts a 1 kHz tone in the mel filter centred nearest 1 kHz', () => {
    const x = Float32Array.from({ length: 4000 }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / 16000));
    const fb = kaldiFbank(x, OPTS);
    const row = Array.from(fb.data.subarray(5 * 128, 6 * 128));
    const peak = row.indexOf(Math.max(...row));
    const filters = melFilterbank(128, 512, 16000);
    expect(filters[peak].leftHz).toBeLessThan(1000);
    expect(filters[peak].rightHz).toBeGreaterThan(1000);
  });
});
