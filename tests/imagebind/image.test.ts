import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VISION_PARAMS } from '../../app/pack.js';
import {
  decodeImage,
  ImageDecodeError,
  thumbnail,
  type RgbImage,
} from '../../main/core/codecs/image-decode.js';
import {
  centerCrop,
  normalizeToChw,
  normalizationTables,
  preprocessImage,
  roundHalfEven,
  shortSideSize,
  transformRgb,
} from '../../main/core/imagebind/image.js';
import { FIXTURES_DIR, ORACLE_DIR, REPO_ROOT } from '../support/paths.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bindery-image-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string) => path.join(dir, name);

// ---------------------------------------------------------------------------------------------
// Test media

/** Six 8×8 blocks of distinct colours, 3 across and 2 down: any flip or rotation shows. */
const BLOCK = 8;
const COLOURS = [
  [230, 30, 30],
  [30, 200, 30],
  [30, 30, 230],
  [240, 240, 40],
  [40, 220, 220],
  [220, 40, 220],
];

function blocksImage(): { data: Buffer; width: number; height: number } {
  const width = 3 * BLOCK;
  const height = 2 * BLOCK;
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set(COLOURS[Math.floor(y / BLOCK) * 3 + Math.floor(x / BLOCK)], (y * width + x) * 3);
    }
  }
  return { data, width, height };
}

const raw = (img: { width: number; height: number }, channels: 1 | 2 | 3 | 4 = 3) => ({
  raw: { width: img.width, height: img.height, channels },
});

/** EXIF orientation as the spec defines it: where each displayed pixel comes from in storage. */
function orient(src: { data: Uint8Array; width: number; height: number }, o: number): RgbImage {
  const { width: w, height: h } = src;
  const swap = o >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(ow * oh * 3);
  const from: Record<number, (x: number, y: number) => [number, number]> = {
    1: (x, y) => [x, y],
    2: (x, y) => [w - 1 - x, y],
    3: (x, y) => [w - 1 - x, h - 1 - y],
    4: (x, y) => [x, h - 1 - y],
    5: (x, y) => [y, x],
    6: (x, y) => [y, h - 1 - x],
    7: (x, y) => [w - 1 - y, h - 1 - x],
    8: (x, y) => [w - 1 - y, x],
  };
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const [sx, sy] = from[o](x, y);
      out.set(src.data.subarray((sy * w + sx) * 3, (sy * w + sx) * 3 + 3), (y * ow + x) * 3);
    }
  }
  return { data: out, width: ow, height: oh, channels: 3, bitDepth: 8 };
}

/** Largest per-sample difference, sampling block centres only (JPEG smears the edges). */
function blockCentreDiff(a: RgbImage, b: RgbImage): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let worst = 0;
  for (let y = BLOCK / 2; y < a.height; y += BLOCK) {
    for (let x = BLOCK / 2; x < a.width; x += BLOCK) {
      for (let c = 0; c < 3; c++) {
        const i = (y * a.width + x) * 3 + c;
        worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
      }
    }
  }
  return worst;
}

function pixel(img: RgbImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return Array.from(img.data.subarray(i, i + 3));
}

// ---------------------------------------------------------------------------------------------
// A minimal TIFF writer for synthetic camera RAW files.

type TiffValue = { type: 1 | 3 | 4 | 7; values: number[] } | { type: 7; bytes: Buffer };

class TiffWriter {
  private readonly parts: Buffer[] = [];
  private pos = 8;
  constructor(readonly le: boolean) {}

  private int(n: number, size: 1 | 2 | 4): Buffer {
    const b = Buffer.alloc(size);
    if (size === 1) b.writeUInt8(n);
    else if (size === 2) b[this.le ? 'writeUInt16LE' : 'writeUInt16BE'](n);
    else b[this.le ? 'writeUInt32LE' : 'writeUInt32BE'](n);
    return b;
  }

  /** Appends bytes (word-aligned) and returns their offset. */
  blob(bytes: Buffer): number {
    if (this.pos % 2) this.push(Buffer.alloc(1));
    const at = this.pos;
    this.push(bytes);
    return at;
  }

  private push(b: Buffer): void {
    this.parts.push(b);
    this.pos += b.length;
  }

  /** Writes an IFD (entries sorted by tag) and returns its offset. */
  ifd(entries: Record<number, TiffValue>, next = 0): number {
    const tags = Object.keys(entries)
      .map(Number)
      .sort((a, b) => a - b);
    const encoded = tags.map((tag) => {
      const e = entries[tag];
      const size = e.type === 3 ? 2 : e.type === 4 ? 4 : 1;
      const bytes = 'bytes' in e ? e.bytes : Buffer.concat(e.values.map((v) => this.int(v, size)));
      const count = 'bytes' in e ? e.bytes.length : e.values.length;
      const value =
        bytes.length <= 4
          ? Buffer.concat([bytes, Buffer.alloc(4 - bytes.length)])
          : this.int(this.blob(bytes), 4);
      return Buffer.concat([this.int(tag, 2), this.int(e.type, 2), this.int(count, 4), value]);
    });
    return this.blob(Buffer.concat([this.int(tags.length, 2), ...encoded, this.int(next, 4)]));
  }

  finish(ifd0: number, magic = 42): Buffer {
    const header = Buffer.concat([
      Buffer.from(this.le ? 'II' : 'MM', 'latin1'),
      this.int(magic, 2),
      this.int(ifd0, 4),
    ]);
    return Buffer.concat([header, ...this.parts]);
  }
}

const long = (...values: number[]): TiffValue => ({ type: 4, values });
const short = (...values: number[]): TiffValue => ({ type: 3, values });

interface RawOptions {
  le: boolean;
  orientation: number;
  preview: Buffer;
  thumb: Buffer;
  /** Put the preview in a SubIFD as a JPEG strip (DNG) instead of JPEGInterchangeFormat (NEF). */
  previewAsStrip: boolean;
}

/** A DNG/NEF-shaped file: an RGB thumbnail in IFD0, CFA sensor data and a JPEG preview in SubIFDs. */
function syntheticRaw(o: RawOptions): Buffer {
  const t = new TiffWriter(o.le);
  // Sensor data stored as lossless JPEG (SOF3), which must never be mistaken for a preview.
  const sof3 = Buffer.from([
    0xff, 0xd8, 0xff, 0xc3, 0, 11, 8, 0x0b, 0xb8, 0x0f, 0xa0, 1, 1, 0x11, 0, 0xff, 0xda, 0, 2,
  ]);
  const sensor = t.blob(Buffer.concat([sof3, Buffer.alloc(64)]));
  const rawIfd = t.ifd({
    0xfe: long(0),
    0x100: long(4000),
    0x101: long(3000),
    0x103: short(7),
    0x106: short(32803),
    0x111: long(sensor),
    0x117: long(sof3.length + 64),
  });
  const previewAt = t.blob(o.preview);
  const previewIfd = o.previewAsStrip
    ? t.ifd({
        0xfe: long(1),
        0x103: short(7),
        0x106: short(6),
        0x111: long(previewAt),
        0x117: long(o.preview.length),
      })
    : t.ifd({ 0xfe: long(1), 0x103: short(6), 0x201: long(previewAt), 0x202: long(o.preview.length) });
  const thumbAt = t.blob(o.thumb);
  const ifd1 = t.ifd({ 0x103: short(6), 0x201: long(thumbAt), 0x202: long(o.thumb.length) });
  const rgbThumb = t.blob(Buffer.alloc(4 * 3 * 3, 90));
  // An RGB thumbnail in IFD0, as DNG and NEF have: libvips alone would show just this.
  const ifd0Entries: Record<number, TiffValue> = {
    0xfe: long(1),
    0x100: long(4),
    0x101: long(3),
    0x102: short(8, 8, 8),
    0x103: short(1),
    0x106: short(2),
    0x111: long(rgbThumb),
    0x112: short(o.orientation),
    0x115: short(3),
    0x116: long(3),
    0x117: long(36),
    0x14a: long(rawIfd, previewIfd),
  };
  if (o.previewAsStrip) ifd0Entries[0xc612] = { type: 1, values: [1, 4, 0, 0] }; // DNGVersion
  const ifd0 = t.ifd(ifd0Entries, ifd1);
  return t.finish(ifd0);
}

// ---------------------------------------------------------------------------------------------
// A minimal HEIF writer: one HEVC-coded item, made with ffmpeg's libx265.

function hasLibx265(): boolean {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('libx265');
}

const be32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const be16 = (n: number) => Buffer.from([n >> 8, n & 255]);
const box = (type: string, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([be32(body.length + 8), Buffer.from(type, 'latin1'), body]);
};
const fullBox = (type: string, version: number, ...parts: Buffer[]) =>
  box(type, Buffer.from([version, 0, 0, 0]), ...parts);

/** Finds a box by path in an MP4 (sample entries have fixed-size headers before child boxes). */
function findBox(
  buf: Buffer,
  names: string[],
  start = 0,
  end = buf.length,
): { start: number; end: number } | null {
  const skip: Record<string, number> = { stsd: 8, hvc1: 78, hev1: 78 };
  for (let p = start; p + 8 <= end;) {
    const size = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    if (size < 8) return null;
    if (type === names[0]) {
      if (names.length === 1) return { start: p, end: p + size };
      const inner = findBox(buf, names.slice(1), p + 8 + (skip[type] ?? 0), p + size);
      if (inner) return inner;
    }
    p += size;
  }
  return null;
}

/** Encodes RGB pixels as a one-item HEIC (HEVC) file; `irot` rotates by 90° steps anticlockwise. */
function makeHeic(img: { width: number; height: number }, png: string, irot?: number): Buffer {
  const mp4 = tmp(`heic-${irot ?? 0}.mp4`);
  execFileSync('ffmpeg', [
    '-y',
    '-loglevel',
    'error',
    '-i',
    png,
    '-frames:v',
    '1',
    '-c:v',
    'libx265',
    '-x265-params',
    'log-level=none',
    '-pix_fmt',
    'yuv420p',
    '-tag:v',
    'hvc1',
    mp4,
  ]);
  const m = readFileSync(mp4);
  const hvcC = findBox(m, ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'hvc1', 'hvcC']);
  const mdat = findBox(m, ['mdat']);
  if (!hvcC || !mdat) throw new Error('ffmpeg produced no HEVC sample');
  const data = m.subarray(mdat.start + 8, mdat.end);
  const props = [m.subarray(hvcC.start, hvcC.end), fullBox('ispe', 0, be32(img.width), be32(img.height))];
  if (irot !== undefined) props.push(box('irot', Buffer.from([irot])));
  const assoc = irot !== undefined ? [0x81, 0x02, 0x83] : [0x81, 0x02];
  const ftyp = box('ftyp', Buffer.from('heic'), be32(0), Buffer.from('mif1heic'));
  const meta = (offset: number) =>
    fullBox(
      'meta',
      0,
      fullBox('hdlr', 0, be32(0), Buffer.from('pict'), Buffer.alloc(13)),
      fullBox('pitm', 0, be16(1)),
      fullBox(
        'iloc',
        0,
        Buffer.from([0x44, 0]),
        be16(1),
        be16(1),
        be16(0),
        be16(1),
        be32(offset),
        be32(data.length),
      ),
      fullBox('iinf', 0, be16(1), fullBox('infe', 2, be16(1), be16(0), Buffer.from('hvc1'), Buffer.alloc(1))),
      box(
        'iprp',
        box('ipco', ...props),
        fullBox('ipma', 0, be32(1), be16(1), Buffer.from([assoc.length, ...assoc])),
      ),
    );
  const dataOffset = ftyp.length + meta(0).length + 8;
  return Buffer.concat([ftyp, meta(dataOffset), box('mdat', data)]);
}

// ---------------------------------------------------------------------------------------------

const DOG = () => path.join(FIXTURES_DIR, 'dog_image.jpg');

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

function errors(a: Float32Array, b: Float32Array): { mean: number; max: number } {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

describe('ImageBind oracle', () => {
  it('preprocessImage(dog) matches load_and_transform_vision_data (PIL 9.4, torchvision 0.14.1)', async () => {
    const t = await preprocessImage(DOG());
    expect(t.dims).toEqual([3, 224, 224]);
    const ref = readF32(path.join(ORACLE_DIR, 'imagebind-preprocess', 'dog_image.jpg.f32'));
    expect(ref.length).toBe(3 * 224 * 224);
    const { mean, max } = errors(t.data, ref);
    console.log(`image oracle: mean |Δ| = ${mean.toExponential(3)}, max |Δ| = ${max.toExponential(3)}`);
    expect(mean).toBeLessThanOrEqual(0.01);
    expect(max).toBeLessThanOrEqual(0.1);
  });

  it('agrees with the summary statistics in expected.json', async () => {
    const expected = JSON.parse(
      readFileSync(path.join(ORACLE_DIR, 'imagebind-preprocess', 'expected.json'), 'utf8'),
    );
    const stats = expected.image.find((e: { file: string }) => e.file === 'dog_image.jpg');
    const t = await preprocessImage(DOG());
    const plane = 224 * 224;
    for (let c = 0; c < 3; c++) {
      const ch = t.data.subarray(c * plane, (c + 1) * plane);
      const mean = ch.reduce((a, b) => a + b, 0) / plane;
      const std = Math.sqrt(ch.reduce((a, b) => a + (b - mean) ** 2, 0) / plane);
      expect(mean).toBeCloseTo(stats.channel_mean[c], 3);
      expect(std).toBeCloseTo(stats.channel_std[c], 3);
    }
    const row = Array.from({ length: 28 }, (_, i) => t.data[112 * 224 + i * 8]);
    row.forEach((v, i) => expect(v).toBeCloseTo(stats.row_112_channel0_every_8th[i], 3));
  });

  it('follows the pack size parameter', async () => {
    const t = await preprocessImage(DOG(), { ...DEFAULT_VISION_PARAMS, size: 160 });
    expect(t.dims).toEqual([3, 160, 160]);
  });

  it('ICC handling does not matter for the fixtures (their profile is sRGB)', async () => {
    const a = await preprocessImage(DOG(), DEFAULT_VISION_PARAMS, { icc: 'ignore' });
    const b = await preprocessImage(DOG());
    expect(errors(a.data, b.data).max).toBe(0);
  });

  it('throughput on the fixtures', async () => {
    // Distinct copies, so libvips' operation cache cannot serve a repeat decode.
    const files = Array.from({ length: 15 }, (_, i) => {
      const copy = tmp(`throughput-${i}.jpg`);
      writeFileSync(
        copy,
        readFileSync(path.join(FIXTURES_DIR, `${['dog', 'car', 'bird'][i % 3]}_image.jpg`)),
      );
      return copy;
    });
    await preprocessImage(DOG());
    let start = performance.now();
    for (const f of files.slice(0, 9)) await preprocessImage(f);
    const sequential = 9 / ((performance.now() - start) / 1000);
    start = performance.now();
    await Promise.all(files.slice(9).map((f) => preprocessImage(f)));
    const concurrent = 6 / ((performance.now() - start) / 1000);
    console.log(
      `preprocessImage throughput: ${sequential.toFixed(1)} images/s sequential, ${concurrent.toFixed(1)} images/s with 6 in flight`,
    );
    expect(sequential).toBeGreaterThan(1);
  });
});

describe('geometry helpers (torchvision semantics)', () => {
  it('shortSideSize truncates the long side like int(size * long / short)', () => {
    expect(shortSideSize(640, 848, 224)).toEqual({ width: 224, height: 296 });
    expect(shortSideSize(640, 360, 224)).toEqual({ width: 398, height: 224 });
    expect(shortSideSize(300, 300, 224)).toEqual({ width: 224, height: 224 });
    expect(shortSideSize(100, 301, 224)).toEqual({ width: 224, height: 674 });
  });

  it('roundHalfEven is Python round()', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, 7].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3, 7]);
  });

  it('centerCrop uses int(round((h - size) / 2))', () => {
    expect(centerCrop(224, 296, 224)).toEqual({ left: 0, top: 36, width: 224, height: 224 });
    expect(centerCrop(225, 224, 224).left).toBe(0); // round(0.5) = 0
    expect(centerCrop(227, 224, 224).left).toBe(2); // round(1.5) = 2
    expect(centerCrop(229, 224, 224).left).toBe(2); // round(2.5) = 2
    expect(() => centerCrop(100, 300, 224)).toThrow(/does not fit/);
  });

  it('normalizeToChw writes planes in float32 torch arithmetic', () => {
    const tables = normalizationTables(DEFAULT_VISION_PARAMS.mean, DEFAULT_VISION_PARAMS.std);
    const rgb = new Uint8Array([255, 0, 128, 10, 20, 30]);
    const out = normalizeToChw(rgb, 2, { left: 0, top: 0, width: 2, height: 1 }, tables);
    const f = Math.fround;
    const expectOne = (v: number, c: number) =>
      f(f(f(v / 255) - f(DEFAULT_VISION_PARAMS.mean[c])) / f(DEFAULT_VISION_PARAMS.std[c]));
    expect(Array.from(out)).toEqual([
      expectOne(255, 0),
      expectOne(10, 0),
      expectOne(0, 1),
      expectOne(20, 1),
      expectOne(128, 2),
      expectOne(30, 2),
    ]);
  });
});

describe('decodeImage: EXIF orientation', () => {
  for (let o = 1; o <= 8; o++) {
    it(`orientation ${o} is applied`, async () => {
      const img = blocksImage();
      const file = tmp(`orient-${o}.jpg`);
      await sharp(img.data, raw(img))
        .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
        .withMetadata({ orientation: o })
        .toFile(file);
      expect((await sharp(file).metadata()).orientation).toBe(o);
      const decoded = await decodeImage(file);
      expect(blockCentreDiff(decoded, orient(img, o))).toBeLessThan(12);
    });
  }

  it('preprocessImage orients too (a rotated copy gives the rotated tensor of the upright one)', async () => {
    const dog = await sharp(DOG()).raw().toBuffer({ resolveWithObject: true });
    const rotated = tmp('dog-rot.png');
    // Stored rotated 90° anticlockwise, tagged 6 (rotate 90° clockwise to display).
    await sharp(dog.data, raw(dog.info as { width: number; height: number }))
      .rotate(270)
      .png()
      .withMetadata({ orientation: 6 })
      .toFile(rotated);
    const upright = tmp('dog-upright.png');
    await sharp(dog.data, raw(dog.info as { width: number; height: number }))
      .png()
      .toFile(upright);
    const a = await preprocessImage(rotated);
    const b = await preprocessImage(upright);
    expect(errors(a.data, b.data).max).toBe(0);
  });
});

describe('decodeImage: formats and colour', () => {
  const img = blocksImage();

  it('decodes WebP (lossless), AVIF, TIFF and PNG to the same pixels', async () => {
    const encoders: [string, (s: sharp.Sharp) => sharp.Sharp, number][] = [
      ['png', (s) => s.png(), 0],
      ['webp', (s) => s.webp({ lossless: true }), 0],
      ['tiff', (s) => s.tiff({ compression: 'lzw' }), 0],
      ['avif', (s) => s.avif({ quality: 90, chromaSubsampling: '4:4:4' }), 16],
    ];
    for (const [ext, encode, tolerance] of encoders) {
      const file = tmp(`fmt.${ext}`);
      await encode(sharp(img.data, raw(img))).toFile(file);
      const d = await decodeImage(file);
      expect(
        blockCentreDiff(d, { ...img, data: img.data, channels: 3, bitDepth: 8 }),
        ext,
      ).toBeLessThanOrEqual(tolerance);
    }
  });

  it('flattens alpha onto white by default, or discards it as PIL does', async () => {
    const rgba = Buffer.alloc(4 * 2 * 4);
    rgba.set([200, 10, 10, 255, 0, 0, 0, 0, 10, 200, 10, 128, 0, 0, 200, 0]);
    const file = tmp('alpha.png');
    await sharp(rgba, { raw: { width: 4, height: 2, channels: 4 } })
      .png()
      .toFile(file);
    const white = await decodeImage(file);
    expect(pixel(white, 0, 0)).toEqual([200, 10, 10]);
    expect(pixel(white, 1, 0)).toEqual([255, 255, 255]);
    expect(pixel(white, 2, 0)[1]).toBeGreaterThan(200); // half-transparent green over white
    const discard = await decodeImage(file, { alpha: 'discard' });
    expect(pixel(discard, 1, 0)).toEqual([0, 0, 0]);
    expect(pixel(discard, 3, 0)).toEqual([0, 0, 200]); // the colour under transparency survives
  });

  it('expands greyscale (with and without alpha) to three equal channels', async () => {
    for (const channels of [1, 2] as const) {
      const grey = Buffer.alloc(6 * 4 * channels);
      for (let i = 0; i < 24; i++) {
        grey[i * channels] = i * 10;
        if (channels === 2) grey[i * channels + 1] = 255;
      }
      const file = tmp(`grey${channels}.png`);
      await sharp(grey, { raw: { width: 6, height: 4, channels } })
        .toColourspace('b-w')
        .png()
        .toFile(file);
      const d = await decodeImage(file);
      expect(d.channels).toBe(3);
      for (let i = 0; i < 24; i++)
        expect(Array.from(d.data.subarray(i * 3, i * 3 + 3))).toEqual([i * 10, i * 10, i * 10]);
    }
  });

  it('reduces 16-bit PNG to 8 bits by the high byte', async () => {
    const v = Uint16Array.from({ length: 8 * 4 * 3 }, (_, i) => (i * 997 + 300) % 65536);
    const file = tmp('rgb16.png');
    await sharp(v, { raw: { width: 8, height: 4, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toFile(file);
    expect((await sharp(file).metadata()).depth).toBe('ushort');
    const d = await decodeImage(file);
    for (let i = 0; i < v.length; i++) expect(Math.abs(d.data[i] - (v[i] >> 8))).toBeLessThanOrEqual(1);
  });

  it('converts CMYK JPEG to sRGB', async () => {
    const file = tmp('cmyk.jpg');
    await sharp(img.data, raw(img)).toColourspace('cmyk').jpeg({ quality: 100 }).toFile(file);
    expect((await sharp(file).metadata()).space).toBe('cmyk');
    const d = await decodeImage(file);
    expect(d.channels).toBe(3);
    // Through a CMYK profile saturated colours lose gamut, but each block keeps its dominant channel.
    for (let b = 0; b < 3; b++) {
      const got = pixel(d, b * BLOCK + BLOCK / 2, BLOCK / 2);
      expect(got.indexOf(Math.max(...got))).toBe(COLOURS[b].indexOf(Math.max(...COLOURS[b])));
    }
  });

  it('takes the first frame of an animated palette GIF', async () => {
    const frame = (rgb: number[]) =>
      sharp({
        create: { width: 10, height: 6, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } },
      })
        .png()
        .toBuffer();
    const file = tmp('anim.gif');
    await sharp([await frame([255, 0, 0]), await frame([0, 0, 255])], { join: { animated: true } })
      .gif()
      .toFile(file);
    expect((await sharp(file).metadata()).pages).toBe(2);
    const d = await decodeImage(file);
    expect([d.width, d.height]).toEqual([10, 6]);
    expect(pixel(d, 5, 3)).toEqual([255, 0, 0]);
  });
});

describe('decodeImage: HEIC', () => {
  const haveEncoder = hasLibx265();
  // Neither sharp nor libheif-js can encode HEVC and no installed package ships a .heic sample, so
  // the test file is made with ffmpeg's libx265; without it these tests are skipped, and say why.
  const why = haveEncoder ? '' : ' [skipped: ffmpeg has no libx265 to make an HEVC test file]';

  it.skipIf(!haveEncoder)(`decodes an HEVC-coded HEIC through libheif-js (sharp cannot)${why}`, async () => {
    const img = blocksImage();
    const png = tmp('heic-src.png');
    await sharp(img.data, raw(img)).png().toFile(png);
    const file = tmp('test.heic');
    writeFileSync(file, makeHeic(img, png));
    // The prebuilt libvips reads the header but has no HEVC decoder.
    expect((await sharp(file).metadata()).compression).toBe('hevc');
    await expect(sharp(file).raw().toBuffer()).rejects.toThrow();
    const d = await decodeImage(file);
    expect(blockCentreDiff(d, { ...img, channels: 3, bitDepth: 8 })).toBeLessThan(24);
    const tensor = await preprocessImage(readFileSync(file));
    expect(tensor.dims).toEqual([3, 224, 224]);
    // Cut inside the coded image: libheif's error comes back as one line.
    const bytes = readFileSync(file);
    const err = await decodeImage(bytes.subarray(0, bytes.length - 10)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect((err as Error).message).toMatch(/HEIF/);
    expect((err as Error).message).not.toMatch(/\n/);
  });

  it.skipIf(!haveEncoder)(
    `applies the HEIF irot transform (which replaces EXIF orientation)${why}`,
    async () => {
      const img = blocksImage();
      const png = tmp('heic-src2.png');
      await sharp(img.data, raw(img)).png().toFile(png);
      const file = tmp('rot.heic');
      writeFileSync(file, makeHeic(img, png, 1)); // 90° anticlockwise
      const d = await decodeImage(file);
      expect(blockCentreDiff(d, orient(img, 8))).toBeLessThan(24);
      const thumb = await sharp(await thumbnail(file, 64)).metadata();
      expect([thumb.format, thumb.width, thumb.height]).toEqual(['webp', 16, 24]);
    },
  );

  it('reports a corrupt HEIF readably', async () => {
    const ftyp = box('ftyp', Buffer.from('heic'), be32(0), Buffer.from('mif1heic'));
    const broken = Buffer.concat([ftyp, box('meta', Buffer.alloc(20, 7))]);
    const err = await decodeImage(broken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect((err as Error).message).toMatch(/^cannot decode image <buffer of \d+ bytes>: .*HEIF/);
    expect((err as Error).message).not.toMatch(/\n/);
  });
});

describe('decodeImage: camera RAW through the embedded preview', () => {
  let preview: Buffer;
  let thumb: Buffer;
  const img = blocksImage();
  beforeAll(async () => {
    // The preview is 6× the blocks image; a smaller IFD1 thumbnail must lose against it.
    preview = await sharp(img.data, raw(img))
      .resize(img.width * 6, img.height * 6, { kernel: 'nearest' })
      .jpeg({ quality: 95 })
      .toBuffer();
    thumb = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#000' } })
      .jpeg()
      .toBuffer();
  });

  for (const [name, le, previewAsStrip] of [
    ['DNG-like (little-endian, JPEG strip, DNGVersion)', true, true],
    ['NEF-like (big-endian, JPEGInterchangeFormat)', false, false],
  ] as const) {
    it(`${name}: largest preview, container orientation applied`, async () => {
      const file = tmp(`raw-${le}.dng`);
      writeFileSync(file, syntheticRaw({ le, orientation: 6, preview, thumb, previewAsStrip }));
      const d = await decodeImage(file);
      expect([d.width, d.height]).toEqual([img.height * 6, img.width * 6]);
      const small = await sharp(Buffer.from(d.data), raw(d))
        .resize(img.height, img.width, { kernel: 'nearest' })
        .raw()
        .toBuffer();
      expect(
        blockCentreDiff({ ...d, data: small, width: img.height, height: img.width }, orient(img, 6)),
      ).toBeLessThan(12);
      const t = await sharp(await thumbnail(file, 40)).metadata();
      expect([t.width, t.height]).toEqual([27, 40]);
    });
  }

  it('RAF: the header points at a JPEG with its own EXIF orientation', async () => {
    const jpeg = await sharp(preview).withMetadata({ orientation: 3 }).jpeg().toBuffer();
    const header = Buffer.alloc(100);
    header.write('FUJIFILMCCD-RAW 0201FF383501', 0, 'latin1');
    header.writeUInt32BE(100, 84);
    header.writeUInt32BE(jpeg.length, 88);
    const d = await decodeImage(Buffer.concat([header, jpeg, Buffer.alloc(500, 0x55)]));
    expect([d.width, d.height]).toEqual([img.width * 6, img.height * 6]);
    expect(pixel(d, 4, 4)[2]).toBeGreaterThan(180); // bottom-right block (magenta) is now top-left
    expect(pixel(d, 4, 4)[1]).toBeLessThan(80);
  });

  it('a raw file without a usable preview, and a looping IFD chain, fail readably', async () => {
    const t = new TiffWriter(true);
    const ifd0 = t.ifd({ 0x100: long(10), 0x101: long(10), 0x106: short(32803), 0x103: short(1) }, 8);
    const err = await decodeImage(t.finish(ifd0)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect((err as Error).message).toMatch(/camera RAW file without a decodable embedded JPEG preview/);
  });

  it('an ordinary TIFF still goes to libvips', async () => {
    const file = tmp('plain.tif');
    await sharp(img.data, raw(img)).tiff().toFile(file);
    const d = await decodeImage(file);
    expect([d.width, d.height]).toEqual([img.width, img.height]);
  });
});

describe('decodeImage: malformed input gives one readable line', () => {
  const cases: [string, () => Promise<string | Buffer>][] = [
    ['zero-byte file', async () => (writeFileSync(tmp('empty.jpg'), ''), tmp('empty.jpg'))],
    ['zero-length buffer', async () => Buffer.alloc(0)],
    ['missing file', async () => tmp('does-not-exist.jpg')],
    ['a directory', async () => (mkdirSync(tmp('adir.jpg'), { recursive: true }), tmp('adir.jpg'))],
    [
      'text named .jpg',
      async () => (writeFileSync(tmp('text.jpg'), 'this is not a JPEG\n'.repeat(20)), tmp('text.jpg')),
    ],
    [
      'random bytes',
      async () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)),
    ],
    [
      'truncated JPEG',
      async () => {
        const jpg = await sharp({
          create: {
            width: 300,
            height: 200,
            channels: 3,
            background: '#888',
            noise: { type: 'gaussian', mean: 128, sigma: 40 },
          },
        })
          .jpeg()
          .toBuffer();
        writeFileSync(tmp('trunc.jpg'), jpg.subarray(0, jpg.length >> 1));
        return tmp('trunc.jpg');
      },
    ],
    ['JPEG header only', async () => Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0])],
    ['TIFF header pointing nowhere', async () => Buffer.from([0x49, 0x49, 42, 0, 0xff, 0xff, 0xff, 0x7f])],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      const input = await make();
      for (const run of [
        () => decodeImage(input),
        () => preprocessImage(input),
        () => thumbnail(input, 64),
      ]) {
        const err = await run().catch((e: unknown) => e);
        expect(err, name).toBeInstanceOf(ImageDecodeError);
        const message = (err as Error).message;
        expect(message).toMatch(/^cannot decode image /);
        expect(message).not.toMatch(/\n/);
        if (typeof input === 'string') expect(message).toContain(path.basename(input));
      }
    });
  }
});

describe('big images', () => {
  it('a 12000×9000 JPEG decodes with bounded memory', async () => {
    const file = tmp('huge.jpg');
    // Made in a child process, so encoding it does not inflate this process's memory.
    const script = `require('sharp')({ create: { width: 12000, height: 9000, channels: 3, background: '#808080' } })
      .composite([{ input: { create: { width: 600, height: 450, channels: 3, background: '#204080' } }, left: 300, top: 200 }])
      .jpeg({ quality: 70 }).toFile(${JSON.stringify(file)}).catch((e) => { console.error(e); process.exit(1); });`;
    execFileSync(process.execPath, ['-e', script], { cwd: REPO_ROOT });
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
    const t = await preprocessImage(file);
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    const growthMiB = (peak - before) / 2 ** 20;
    console.log(
      `12000x9000 JPEG: peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB, growth ${growthMiB.toFixed(0)} MiB (a full RGB decode alone is 309 MiB)`,
    );
    expect(t.dims).toEqual([3, 224, 224]);
    expect(growthMiB).toBeLessThan(160);
  });

  it('pre-shrinking a 3024×4032 photo stays within the oracle tolerance of the exact path', async () => {
    const file = tmp('big-photo.jpg');
    const texture = await sharp({
      create: {
        width: 3024,
        height: 4032,
        channels: 3,
        background: '#808080',
        noise: { type: 'gaussian', mean: 128, sigma: 20 },
      },
    })
      .png()
      .toBuffer();
    await sharp(DOG())
      .resize(3024, 4032, { kernel: 'lanczos3' })
      .composite([{ input: texture, blend: 'overlay' }])
      .jpeg({ quality: 92 })
      .toFile(file);
    const exact = await preprocessImage(file, DEFAULT_VISION_PARAMS, { preShrink: false });
    const shrunk = await preprocessImage(file);
    const { mean, max } = errors(exact.data, shrunk.data);
    console.log(
      `pre-shrink vs exact PIL path on 3024x4032: mean |Δ| = ${mean.toFixed(4)}, max |Δ| = ${max.toFixed(4)}`,
    );
    expect(mean).toBeLessThanOrEqual(0.01);
    expect(max).toBeLessThanOrEqual(0.1);
  });
});

describe('thumbnail', () => {
  it('makes an oriented WebP no larger than maxSide and never enlarges', async () => {
    const img = blocksImage();
    const file = tmp('thumb-src.jpg');
    await sharp(img.data, raw(img)).jpeg().withMetadata({ orientation: 6 }).toFile(file);
    const small = await sharp(await thumbnail(file, 12)).metadata();
    expect([small.format, small.width, small.height]).toEqual(['webp', 8, 12]);
    const same = await sharp(await thumbnail(file, 1000)).metadata();
    expect([same.width, same.height]).toEqual([img.height, img.width]);
  });
});

describe('transformRgb', () => {
  it('is the oracle pipeline on already-decoded pixels', async () => {
    const decoded = await decodeImage(DOG());
    const t = transformRgb(decoded);
    const ref = readF32(path.join(ORACLE_DIR, 'imagebind-preprocess', 'dog_image.jpg.f32'));
    expect(errors(t, ref).max).toBe(0);
  });
});
