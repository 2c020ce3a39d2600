import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageDecodeError, decodeSamples } from '../../main/core/preprocess/image-decode.js';
import { resizeF32 } from '../../main/core/preprocess/pil-resize.js';
import {
  preprocessDepth,
  preprocessThermal,
  toUnitFloat,
} from '../../main/core/preprocess/single-channel.js';

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

describe('depth (16-bit)', () => {
  it('keeps 16-bit precision: a constant 1001 stays 1001/65535, not an 8-bit level', async () => {
    const file = await grey16Png('depth-const.png', 320, 240, () => 1001);
    const samples = await decodeSamples(file);
    expect([samples.channels, samples.bitDepth]).toEqual([1, 16]);
    const t = await preprocessDepth(file);
    expect(t.dims).toEqual([1, 224, 224]);
    expect(t.data.every((v) => close(v, 1001 / 65535))).toBe(true);
  });

  it('resizes the short side and centre-crops like the vision path (PIL float bicubic)', async () => {
    const w = 448;
    const h = 300;
    const file = await grey16Png('depth-ramp.png', w, h, (x) => x * 100);
    const t = await preprocessDepth(file);
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
    const t = await preprocessDepth(file, { size: 224, mean: 0.25, std: 0.5 });
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
    const t = await preprocessDepth(file);
    expect(t.dims).toEqual([1, 224, 224]);
    const v = t.data[112 * 224 + 112];
    expect(v).toBeGreaterThan(0.3);
    expect(v).toBeLessThan(0.7);
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
    expect(toUnitFloat(samples)[0]).toBeCloseTo(0.299, 6);
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
