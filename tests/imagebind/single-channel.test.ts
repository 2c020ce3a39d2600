import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageDecodeError, decodeSamples } from '../../main/core/codecs/image-decode.js';
import { resizeF32 } from '../../main/core/imagebind/pil-resize.js';
import {
  DEFAULT_DEPTH_PARAMS,
  DEFAULT_THERMAL_PARAMS,
  preprocessDepth,
  preprocessThermal,
  sampleValues,
  thermalToUnit,
} from '../../main/core/imagebind/single-channel.js';

/** A 16-bit disparity image, unnormalised: what the geometry tests below look at. */
const DISPARITY16 = { ...DEFAULT_DEPTH_PARAMS, input: 'disparity' as const, mean: 0, std: 1 };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bindery-single-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string) => path.join(dir, name);

async function grey16Png(
  name: string,
  width: number,
  height: number,
  value: (x: number, y: number) => number,
): Promise<string> {
  const v = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) v[y * width + x] = value(x, y);
  const file = tmp(name);
  await sharp(v, { raw: { width, height, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(file);
  return file;
}

async function grey8(
  name: string,
  width: number,
  height: number,
  value: (x: number, y: number) => number,
): Promise<string> {
  const v = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) v[y * width + x] = value(x, y);
  const file = tmp(name);
  await sharp(v, { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .toFile(file);
  return file;
}

/** sharp writes TIFF at 8 bits only, so the 16-bit TIFF comes from ffmpeg. */
const HAVE_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0;

const close = (a: number, b: number, eps = 1e-6) => Math.abs(a - b) <= eps;

describe('depth geometry (16-bit disparity)', () => {
  it('keeps 16-bit precision: a constant 1001 stays 1001/65535, not an 8-bit level', async () => {
    const file = await grey16Png('depth-const.png', 320, 240, () => 1001);
    const samples = await decodeSamples(file);
    expect([samples.channels, samples.bitDepth]).toEqual([1, 16]);
    const t = await preprocessDepth(file, DISPARITY16);
    expect(t.dims).toEqual([1, 224, 224]);
    expect(t.data.every((v) => close(v, 1001 / 65535))).toBe(true);
  });

  it('resizes the short side and centre-crops like the vision path (PIL float bicubic)', async () => {
    const w = 448;
    const h = 300;
    const file = await grey16Png('depth-ramp.png', w, h, (x) => x * 100);
    const t = await preprocessDepth(file, DISPARITY16);
    // Reference: the same ramp as floats, resized to 334x224 by PIL's F-mode bicubic, cropped at left 55.
    const ramp = Float32Array.from({ length: w * h }, (_, i) => ((i % w) * 100) / 65535);
    const ref = resizeF32(ramp, w, h, 334, 224);
    for (const y of [0, 100, 223]) {
      for (const x of [0, 50, 223]) expect(t.data[y * 224 + x]).toBeCloseTo(ref[y * 334 + x + 55], 6);
    }
    // A horizontal ramp stays a ramp: increasing along x, constant along y (away from the border).
    expect(t.data[10 * 224 + 120]).toBeGreaterThan(t.data[10 * 224 + 100]);
    expect(t.data[10 * 224 + 100]).toBeCloseTo(t.data[200 * 224 + 100], 6);
  });

  it('applies the pack mean and std', async () => {
    const file = await grey16Png('depth-norm.png', 224, 224, () => 32768);
    const t = await preprocessDepth(file, { ...DISPARITY16, mean: 0.25, std: 0.5 });
    expect(close(t.data[0], (32768 / 65535 - 0.25) / 0.5)).toBe(true);
  });

  it.skipIf(!HAVE_FFMPEG)('reads a 16-bit TIFF (made by ffmpeg) and pre-shrinks a big map', async () => {
    const file = tmp('depth16.tif');
    execFileSync('ffmpeg', [
      '-y',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'color=c=gray:s=2000x1500',
      '-frames:v',
      '1',
      '-pix_fmt',
      'gray16le',
      file,
    ]);
    const samples = await decodeSamples(file);
    expect([samples.bitDepth, samples.channels]).toEqual([16, 1]);
    const t = await preprocessDepth(file, DISPARITY16);
    expect(t.dims).toEqual([1, 224, 224]);
    const v = t.data[112 * 224 + 112];
    expect(v).toBeGreaterThan(0.3);
    expect(v).toBeLessThan(0.7);
  });
});

describe('depth: metric maps become disparity, then DepthNorm', () => {
  const P = DEFAULT_DEPTH_PARAMS;
  /** What the default recipe gives a depth of `mm` millimetres, before mean/std. */
  const expected = (mm: number) => {
    const disparity = mm > 0 ? (P.baselineM * P.focalPx) / (mm / 1000) : 0;
    return Math.min(Math.max(disparity, P.minDisparity), P.maxDisparity) / P.maxDisparity;
  };

  it('a 16-bit PNG in millimetres: disparity = baseline × focal / depth, clamped and scaled, normalised', async () => {
    for (const mm of [1000, 2500, 8000]) {
      const t = await preprocessDepth(await grey16Png(`depth-${mm}mm.png`, 256, 256, () => mm));
      const want = (expected(mm) - P.mean) / P.std;
      expect(t.data[0], `${mm} mm`).toBeCloseTo(Math.fround(want), 4);
    }
    // Nearer than baseline·focal/75 saturates at the maximum disparity; 0 (no reading) is the minimum.
    const near = await preprocessDepth(await grey16Png('depth-near.png', 256, 256, () => 300), {
      ...P,
      mean: 0,
      std: 1,
    });
    expect(near.data[0]).toBeCloseTo(1, 6);
    const none = await preprocessDepth(await grey16Png('depth-none.png', 256, 256, () => 0), {
      ...P,
      mean: 0,
      std: 1,
    });
    expect(none.data[0]).toBeCloseTo(P.minDisparity / P.maxDisparity, 6);
  });

  it('nearer is larger: disparity inverts depth', async () => {
    const file = await grey16Png('depth-slope.png', 256, 256, (x) => 1000 + x * 20);
    const t = await preprocessDepth(file);
    expect(t.data[100 * 224 + 20]).toBeGreaterThan(t.data[100 * 224 + 200]);
  });

  it('an 8-bit image is taken as disparity as is; camera constants and units are settings', async () => {
    const t = await preprocessDepth(await grey8('disp8.png', 256, 256, () => 102), { ...P, mean: 0, std: 1 });
    expect(t.data[0]).toBeCloseTo(102 / 255, 6);
    const metres = await grey16Png('depth-cm.png', 256, 256, () => 250); // 2.5 m in centimetres
    const cm = await preprocessDepth(metres, { ...P, depthUnitM: 0.01, mean: 0, std: 1 });
    expect(cm.data[0]).toBeCloseTo(Math.fround(expected(2500)), 5);
  });
});

describe('thermal (16-bit radiometric)', () => {
  it('stretches the 1st..99th percentiles to the 8-bit range and quantises like an 8-bit frame', async () => {
    // Raw counts from 20000 to 30000 across the frame, plus a few hot outliers at 65000.
    const file = await grey16Png('thermal16.png', 400, 300, (x, y) =>
      y === 0 && x < 3 ? 65000 : 20000 + x * 25,
    );
    const t = await preprocessThermal(file, { ...DEFAULT_THERMAL_PARAMS });
    const values = Array.from(t.data);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    // Before resizing, every value is an 8-bit level k/255.
    const unit = thermalToUnit(await decodeSamples(file), DEFAULT_THERMAL_PARAMS);
    expect(unit.every((v) => Math.abs(v * 255 - Math.round(v * 255)) < 1e-4)).toBe(true);
    // The outliers do not compress the scene: the middle of the frame sits mid-range.
    expect(t.data[112 * 224 + 112]).toBeGreaterThan(0.4);
    expect(t.data[112 * 224 + 112]).toBeLessThan(0.6);
  });

  it('a flat 16-bit frame gives zeros, not NaN', async () => {
    const t = await preprocessThermal(await grey16Png('thermal-flat.png', 256, 256, () => 31000));
    expect(t.data.every((v) => v === 0)).toBe(true);
  });
});

describe('thermal (8-bit)', () => {
  it('scales 8-bit by 1/255', async () => {
    const file = await grey8('thermal.png', 640, 512, () => 128);
    const t = await preprocessThermal(file);
    expect(t.dims).toEqual([1, 224, 224]);
    expect(t.data.every((v) => close(v, 128 / 255))).toBe(true);
  });

  it('reads 8-bit TIFF and drops alpha', async () => {
    const tif = tmp('thermal.tif');
    await sharp(Buffer.alloc(300 * 200, 51), { raw: { width: 300, height: 200, channels: 1 } })
      .toColourspace('b-w')
      .tiff({ compression: 'lzw' })
      .toFile(tif);
    expect((await preprocessThermal(tif)).data[0]).toBeCloseTo(0.2, 6);
    const ga = Buffer.alloc(300 * 200 * 2);
    for (let i = 0; i < 300 * 200; i++) ga.set([77, i % 2 ? 0 : 255], i * 2);
    const png = tmp('thermal-alpha.png');
    await sharp(ga, { raw: { width: 300, height: 200, channels: 2 } })
      .toColourspace('b-w')
      .png()
      .toFile(png);
    const s = await decodeSamples(png);
    expect([s.channels, s.bitDepth]).toEqual([1, 8]);
    expect((await preprocessThermal(png)).data.every((v) => close(v, 77 / 255))).toBe(true);
  });

  it('turns an RGB image into luma with PIL convert("L") weights', async () => {
    const file = tmp('thermal-rgb.png');
    await sharp({ create: { width: 300, height: 240, channels: 3, background: { r: 255, g: 0, b: 0 } } })
      .png()
      .toFile(file);
    const t = await preprocessThermal(file);
    expect(t.data[5000]).toBeCloseTo(0.299, 6);
    const samples = await decodeSamples(file);
    expect(sampleValues(samples)[0]).toBeCloseTo(0.299 * 255, 4);
  });

  it('reports undecodable input readably', async () => {
    writeFileSync(tmp('bad.png'), 'not a png');
    for (const run of [() => preprocessThermal(tmp('bad.png')), () => preprocessDepth(Buffer.alloc(0))]) {
      const err = await run().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageDecodeError);
      expect((err as Error).message).not.toMatch(/\n/);
    }
  });
});
