// Size: the sharp pipeline and its entry points; RAW, HEIF and offset reads have their own modules.
/**
 * Image decoding for every modality that starts from a picture (docs/architecture.md §5, "Decoding").
 *
 * - **sharp/libvips** decodes JPEG, PNG, WebP, AVIF, TIFF and GIF (first frame), applies the EXIF
 *   orientation (ImageBind's PIL code does not; Bindery does on purpose, so a phone photo is
 *   embedded the way a person sees it), converts CMYK, greyscale, palette and 16-bit sources to
 *   8-bit sRGB, and honours an embedded ICC profile by converting to sRGB (PIL ignores profiles;
 *   `icc: 'ignore'` gives PIL's behaviour). Files without a profile are unaffected either way.
 * - **Alpha** is flattened onto white by default, which is what a person sees in the thumbnail
 *   grid and is robust to garbage under fully transparent pixels. PIL's `convert('RGB')` instead
 *   discards alpha and keeps whatever colour lies underneath (`alpha: 'discard'` matches it).
 * - **HEIC/HEIF**: the prebuilt libvips only has libheif's AV1 decoder (AVIF), so HEVC-coded files
 *   go through `libheif-js` (WebAssembly libheif + libde265). libheif applies the container's
 *   `irot`/`imir`/`clap` transforms, which the HEIF spec says replace EXIF orientation.
 * - **Camera RAW** (DNG, CR2, NEF, ARW, ORF, RW2, PEF, RAF, CR3…) is never demosaiced: the largest
 *   embedded JPEG preview is decoded instead, with the raw container's orientation applied.
 * - **Big images** are decoded with bounded memory: when the caller says what short side it will
 *   resize to, libvips shrinks on load (JPEG DCT scaling, then a lanczos3 reduce; other formats
 *   stream through the reduce) to an intermediate short side, 4× the target for `image.ts`, before
 *   the exact PIL bicubic step. The PIL step then filters an already antialiased image instead of
 *   the full one, so the tensor is no longer bit-exact: on a textured 3024×4032 photo the gap to
 *   the full-resolution path is mean |Δ| 0.0024, max 0.028 (normalised units; the oracle tolerance
 *   is 0.01 / 0.1), for about a quarter of the time and a small fraction of the memory (a
 *   12000×9000 JPEG adds under 10 MiB of RSS). Images up to 4× the target stay exact.
 * - **Failures** (missing, zero-byte, truncated, corrupt, non-image, unsupported) reject with an
 *   {@link ImageDecodeError} whose message is one readable line naming the input. libvips runs with
 *   `failOn: 'error'` (truncation and decoder errors fail, cosmetic warnings do not) and a timeout.
 *
 * This file is the sharp pipeline and the public entry points; the RAW preview search lives in
 * raw-preview.ts, HEVC HEIF in heif.ts, offset reads in byte-reader.ts.
 */
import { readFile, stat } from 'node:fs/promises';
import sharp, { type Sharp, type SharpOptions } from 'sharp';
import { withReader } from './byte-reader.js';
import { decodeHeifWithLibheif } from './heif.js';
import { cr3Preview, rafPreview, sniff, tiffRawPreview } from './raw-preview.js';

export type ImageInput = string | Buffer;

/** 8-bit sRGB pixels, interleaved RGB, row-major, no padding. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
  bitDepth: 8;
}

/** Source samples without colour management, for depth and thermal maps. */
export interface SampleImage {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  channels: 1 | 3;
  bitDepth: 8 | 16;
}

export interface DecodeOptions {
  /**
   * Shrink-on-load for big images: when the oriented short side exceeds `above` (or the image has
   * more than {@link EXACT_PIXEL_BUDGET} pixels), libvips reduces it so the short side becomes `to`.
   */
  preShrink?: { above: number; to: number };
  /** 'white' (default) flattens transparency onto white; 'discard' drops alpha as PIL does. */
  alpha?: 'white' | 'discard';
  /** 'srgb' (default) converts an embedded ICC profile to sRGB; 'ignore' reads values as PIL does. */
  icc?: 'srgb' | 'ignore';
  /** Refuse images with more pixels than this (libvips checks the header before decoding). */
  maxPixels?: number;
}

export interface SampleDecodeOptions {
  preShrink?: DecodeOptions['preShrink'];
  maxPixels?: number;
}

/** Images above this many pixels are pre-shrunk even when their short side is small (panoramas). */
export const EXACT_PIXEL_BUDGET = 40_000_000;
const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff;
const SHARP_TIMEOUT_S = 60;

/** A decoding failure, with a one-line message that names the input. */
export class ImageDecodeError extends Error {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`cannot decode image ${input}: ${oneLine(reason)}`);
    this.name = 'ImageDecodeError';
  }
}

function oneLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  // libvips repeats the same complaint for every retry; keep each distinct line once.
  return [...new Set(lines)].join('; ') || 'unknown error';
}

function describe(input: ImageInput): string {
  return typeof input === 'string' ? JSON.stringify(input) : `<buffer of ${input.length} bytes>`;
}

/** Refuses what cannot be an image before any decoder sees it: missing, not a file, empty. */
async function checkInput(input: ImageInput): Promise<void> {
  if (typeof input !== 'string') {
    if (input.length === 0) throw new Error('empty input (0 bytes)');
    return;
  }
  const info = await stat(input).catch((e: NodeJS.ErrnoException) => {
    throw new Error(e.code === 'ENOENT' ? 'file not found' : `cannot read file (${e.code ?? e.message})`);
  });
  if (!info.isFile()) throw new Error('not a regular file');
  if (info.size === 0) throw new Error('empty file (0 bytes)');
}

// ---------------------------------------------------------------------------------------------
// Resolving an input to something sharp can read.

/** What sharp reads, plus how to orient it. */
interface Resolved {
  input: string | Buffer;
  /** Set when `input` is already-decoded RGBA pixels (HEIF through libheif). */
  raw?: { width: number; height: number; channels: 4 };
  /** An orientation to apply explicitly (RAW container); otherwise the file's own EXIF tag is used. */
  orientation?: number;
}

async function resolve(input: ImageInput): Promise<Resolved> {
  await checkInput(input);
  return withReader(input, async (r) => {
    const container = sniff(await r.read(0, 16));
    if (container === 'heif') return resolveHeif(input);
    if (container === 'other') return { input };
    const preview = await (container === 'raf'
      ? rafPreview(r)
      : container === 'cr3'
        ? cr3Preview(r)
        : tiffRawPreview(r));
    if (!preview) {
      if (container === 'tiff') return { input }; // an ordinary TIFF
      throw new Error('camera RAW file without a decodable embedded JPEG preview');
    }
    // A preview that carries its own EXIF orientation is oriented by it, never twice.
    const own = (await sharp(preview.jpeg).metadata()).orientation;
    return { input: preview.jpeg, orientation: own ? undefined : preview.orientation };
  });
}

/** AVIF goes to libvips (its libheif has the AV1 decoder); anything else to libheif-js. */
async function resolveHeif(input: ImageInput): Promise<Resolved> {
  const meta = await sharp(input)
    .metadata()
    .catch(() => null);
  if (meta?.compression === 'av1') return { input };
  const bytes = typeof input === 'string' ? await readFile(input) : input;
  const px = await decodeHeifWithLibheif(bytes);
  return { input: px.data, raw: { width: px.width, height: px.height, channels: 4 } };
}

/** sharp's rotate/flip/flop for each EXIF orientation (verified against libvips' autoOrient). */
const ORIENT_OPS: Record<number, { angle: number; flip?: boolean; flop?: boolean }> = {
  2: { angle: 0, flop: true },
  3: { angle: 180 },
  4: { angle: 0, flip: true },
  5: { angle: 90, flip: true },
  6: { angle: 90 },
  7: { angle: 90, flop: true },
  8: { angle: 270 },
};

function pipeline(res: Resolved, options: SharpOptions): Sharp {
  const explicit =
    res.orientation !== undefined && res.orientation > 1 ? ORIENT_OPS[res.orientation] : undefined;
  let img = sharp(res.input, {
    failOn: 'error',
    autoOrient: !res.raw && res.orientation === undefined,
    pages: 1,
    ...options,
    ...(res.raw ? { raw: res.raw } : {}),
  }).timeout({ seconds: SHARP_TIMEOUT_S });
  if (explicit) {
    if (explicit.angle) img = img.rotate(explicit.angle);
    if (explicit.flip) img = img.flip();
    if (explicit.flop) img = img.flop();
  }
  return img;
}

/** What the header says: size after orientation, and the sample layout. */
interface SourceInfo {
  width: number;
  height: number;
  /** Colour channels, alpha excluded. */
  colours: number;
  /** More than 8 bits per sample. */
  wide: boolean;
}

async function inspect(res: Resolved): Promise<SourceInfo> {
  if (res.raw) return { width: res.raw.width, height: res.raw.height, colours: 3, wide: false };
  const meta = await sharp(res.input, { pages: 1 }).metadata();
  if (!meta.width || !meta.height) throw new Error('image has no dimensions');
  const swap = (res.orientation ?? meta.orientation ?? 1) >= 5;
  return {
    width: swap ? meta.height : meta.width,
    height: swap ? meta.width : meta.height,
    colours: meta.channels - (meta.hasAlpha ? 1 : 0),
    wide: !['uchar', 'char'].includes(meta.depth ?? 'uchar'),
  };
}

/**
 * The libvips reduction that bounds memory: none unless the short side exceeds `pre.above` or
 * the image is over the pixel budget; then the short side becomes `pre.to`.
 */
function preShrink(img: Sharp, size: SourceInfo, pre: DecodeOptions['preShrink']): Sharp {
  if (!pre) return img;
  const short = Math.min(size.width, size.height);
  if (short <= pre.above && size.width * size.height <= EXACT_PIXEL_BUDGET) return img;
  const scale = pre.to / short;
  if (scale >= 1) return img;
  const width = Math.max(1, Math.round(size.width * scale));
  const height = Math.max(1, Math.round(size.height * scale));
  return img.resize(width, height, { fit: 'fill', kernel: 'lanczos3', fastShrinkOnLoad: true });
}

async function toRaw(
  img: Sharp,
  depth: 'uchar' | 'ushort' = 'uchar',
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await img.raw({ depth }).toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

async function guarded<T>(input: ImageInput, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError(describe(input), e instanceof Error ? e.message : String(e));
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Decodes any supported image to oriented 8-bit sRGB RGB. */
export function decodeImage(input: ImageInput, opts: DecodeOptions = {}): Promise<RgbImage> {
  return guarded(input, async () => {
    const res = await resolve(input);
    const info = await inspect(res);
    const limits = {
      limitInputPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS,
      ignoreIcc: opts.icc === 'ignore',
    };
    let img = preShrink(pipeline(res, limits), info, opts.preShrink);
    img = opts.alpha === 'discard' ? img.removeAlpha() : img.flatten({ background: '#ffffff' });
    const out = await toRaw(img.toColourspace('srgb'));
    if (out.channels !== 3) throw new Error(`unexpected ${out.channels}-channel output`);
    const data = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
    return { data, width: out.width, height: out.height, channels: 3, bitDepth: 8 };
  });
}

/**
 * Decodes the samples of a depth or thermal map: no colour management, alpha dropped, single-
 * channel sources kept single-channel, 16-bit sources kept 16-bit (deeper ones are cast to 16).
 */
export function decodeSamples(input: ImageInput, opts: SampleDecodeOptions = {}): Promise<SampleImage> {
  return guarded(input, async () => {
    const res = await resolve(input);
    const info = await inspect(res);
    const limits = { limitInputPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS, ignoreIcc: true };
    const img = preShrink(pipeline(res, limits), info, opts.preShrink).removeAlpha();
    // sharp's default output is 8-bit sRGB, so the wanted interpretation must be named.
    const grey = info.colours === 1;
    const space = grey ? (info.wide ? 'grey16' : 'b-w') : info.wide ? 'rgb16' : 'srgb';
    const out = await toRaw(img.toColourspace(space), info.wide ? 'ushort' : 'uchar');
    if (out.channels !== 1 && out.channels !== 3)
      throw new Error(`unexpected ${out.channels}-channel output`);
    const bytes = out.data;
    const data = info.wide
      ? new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    return {
      data,
      width: out.width,
      height: out.height,
      channels: out.channels,
      bitDepth: info.wide ? 16 : 8,
    };
  });
}

/** A WebP thumbnail whose long side is at most `maxSide` (never enlarged), oriented, alpha kept. */
export function thumbnail(input: ImageInput, maxSide: number, quality = 80): Promise<Buffer> {
  return guarded(input, async () => {
    const res = await resolve(input);
    return pipeline(res, { limitInputPixels: DEFAULT_MAX_PIXELS })
      .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality })
      .toBuffer();
  });
}
