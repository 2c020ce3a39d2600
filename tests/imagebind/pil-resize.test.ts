import { describe, expect, it } from 'vitest';
import {
  resizeBicubicU8,
  resizeBilinearU8,
  resizeF32,
  resizeU8,
} from '../../main/core/imagebind/pil-resize.js';

/**
 * Expected values come from Pillow's own accuracy tests (Tests/test_image_resample.py,
 * TestImagingCoreResampleAccuracy, Pillow 9.4): an image of two dark and two bright squares, and
 * the top-left quarter of its resize, hex-encoded. The other quarters follow by symmetry.
 */
function makeCase(size: number, color: number, channels: number): Uint8Array {
  const out = new Uint8Array(size * size * channels);
  const half = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dark = (x < half && y < half) || (x >= half && y >= half);
      out.fill(dark ? color : 255 - color, (y * size + x) * channels, (y * size + x + 1) * channels);
    }
  }
  return out;
}

function makeSample(data: string, size: number): Uint8Array {
  const hex = data.replace(/ /g, '');
  const out = new Uint8Array(size * size);
  const h = size / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < h; x++) {
      const v = parseInt(hex.slice((y * h + x) * 2, (y * h + x) * 2 + 2), 16);
      out[y * size + x] = v;
      out[(size - y - 1) * size + size - x - 1] = v;
      out[(size - y - 1) * size + x] = 255 - v;
      out[y * size + size - x - 1] = 255 - v;
    }
  }
  return out;
}

function channel(px: Uint8Array, channels: number, c: number): Uint8Array {
  return px.filter((_, i) => i % channels === c);
}

const PILLOW_CASES = [
  { name: 'reduce bicubic 12→6', filter: 'bicubic', from: 12, to: 6, data: 'e1 e3 d4 e3 e5 d6 d4 d6 c9' },
  {
    name: 'enlarge bicubic 4→8',
    filter: 'bicubic',
    from: 4,
    to: 8,
    data: 'e1 e5 ee b9 e5 e9 f3 bc ee f3 fd c1 b9 bc c1 a2',
  },
  { name: 'reduce bilinear 8→4', filter: 'bilinear', from: 8, to: 4, data: 'e1 c9 c9 b7' },
  { name: 'enlarge bilinear 2→4', filter: 'bilinear', from: 2, to: 4, data: 'e1 b0 b0 98' },
] as const;

describe('resizeU8 matches Pillow 9.4', () => {
  for (const tc of PILLOW_CASES) {
    for (const channels of [1, 3, 4]) {
      it(`${tc.name}, ${channels} channel(s)`, () => {
        const src = makeCase(tc.from, 0xe1, channels);
        const out = resizeU8(src, tc.from, tc.from, channels, tc.to, tc.to, tc.filter);
        const want = makeSample(tc.data, tc.to);
        for (let c = 0; c < channels; c++)
          expect(Array.from(channel(out, channels, c))).toEqual(Array.from(want));
      });
    }
  }

  it('keeps a constant image constant through extreme aspect changes (Pillow consistency test)', () => {
    const src = new Uint8Array(512 * 9 * 3);
    for (let i = 0; i < src.length; i += 3) src.set([0, 64, 255], i);
    const out = resizeBicubicU8(src, 512, 9, 3, 9, 512);
    for (let i = 0; i < out.length; i += 3) expect([out[i], out[i + 1], out[i + 2]]).toEqual([0, 64, 255]);
  });

  it('returns a copy when the size does not change', () => {
    const src = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => i * 7);
    const out = resizeBicubicU8(src, 4, 3, 3, 4, 3);
    expect(Array.from(out)).toEqual(Array.from(src));
    expect(out).not.toBe(src);
  });

  it('resizes one axis only when the other keeps its size', () => {
    const src = Uint8Array.from({ length: 10 * 6 }, (_, i) => (i * 37) % 256);
    const wide = resizeBicubicU8(src, 10, 6, 1, 5, 6);
    const tall = resizeBicubicU8(src, 10, 6, 1, 10, 3);
    expect(wide.length).toBe(5 * 6);
    expect(tall.length).toBe(10 * 3);
    // A horizontal-only resize treats rows independently.
    const row0 = resizeBicubicU8(src.subarray(0, 10), 10, 1, 1, 5, 1);
    expect(Array.from(wide.subarray(0, 5))).toEqual(Array.from(row0));
  });

  it('computes a region exactly as resize-then-crop', () => {
    const w = 37;
    const h = 23;
    const src = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 2654435761) >>> 24);
    for (const [outW, outH] of [
      [19, 11],
      [60, 40],
      [37, 11],
      [19, 23],
    ]) {
      const full = resizeBicubicU8(src, w, h, 3, outW, outH);
      const region = { left: 3, top: 2, width: outW - 5, height: outH - 4 };
      const part = resizeBicubicU8(src, w, h, 3, outW, outH, region);
      for (let y = 0; y < region.height; y++) {
        const from = ((region.top + y) * outW + region.left) * 3;
        expect(Array.from(part.subarray(y * region.width * 3, (y + 1) * region.width * 3))).toEqual(
          Array.from(full.subarray(from, from + region.width * 3)),
        );
      }
    }
  });

  it('bilinear wrapper and clipping of bicubic overshoot to 0..255', () => {
    const src = new Uint8Array([0, 255, 0, 255, 255, 0, 255, 0]);
    const up = resizeBicubicU8(src, 8, 1, 1, 32, 1);
    expect(Math.max(...up)).toBe(255);
    expect(Math.min(...up)).toBe(0);
    expect(resizeBilinearU8(src, 8, 1, 1, 4, 1).length).toBe(4);
  });

  it('rejects inconsistent sizes and regions', () => {
    expect(() => resizeBicubicU8(new Uint8Array(10), 4, 3, 1, 2, 2)).toThrow(/expected 4x3x1/);
    expect(() => resizeBicubicU8(new Uint8Array(12), 4, 3, 1, 0, 2)).toThrow(/positive integers/);
    expect(() =>
      resizeBicubicU8(new Uint8Array(12), 4, 3, 1, 2, 2, { left: 1, top: 0, width: 2, height: 2 }),
    ).toThrow(/outside/);
  });
});

describe('resizeF32 (Pillow mode F)', () => {
  it('keeps a constant image exactly constant (Pillow consistency test, 32f)', () => {
    const out = resizeF32(new Float32Array(512 * 9).fill(1), 512, 9, 9, 512);
    expect(out.every((v) => v === 1)).toBe(true);
  });

  it('agrees with the 8-bit path up to its rounding', () => {
    const w = 30;
    const h = 20;
    const u8 = Uint8Array.from({ length: w * h }, (_, i) => (Math.sin(i / 5) * 0.5 + 0.5) * 255);
    const f = resizeF32(Float32Array.from(u8), w, h, 13, 9);
    const ref = resizeBicubicU8(u8, w, h, 1, 13, 9);
    // Two 8-bit roundings (one per pass) against none: at most about one level apart.
    for (let i = 0; i < f.length; i++)
      expect(Math.abs(Math.min(255, Math.max(0, f[i])) - ref[i])).toBeLessThanOrEqual(1.01);
  });

  it('is not clipped: bicubic overshoot survives in float', () => {
    const src = new Float32Array([0, 1, 0, 1, 1, 0, 1, 0]);
    const up = resizeF32(src, 8, 1, 32, 1);
    expect(Math.max(...up)).toBeGreaterThan(1);
    expect(Math.min(...up)).toBeLessThan(0);
  });

  it('supports regions like the 8-bit path', () => {
    const src = Float32Array.from({ length: 25 * 17 }, (_, i) => Math.cos(i));
    const full = resizeF32(src, 25, 17, 12, 30);
    const part = resizeF32(src, 25, 17, 12, 30, 'bicubic', { left: 2, top: 5, width: 8, height: 20 });
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 8; x++) expect(part[y * 8 + x]).toBe(full[(y + 5) * 12 + x + 2]);
    }
  });
});
