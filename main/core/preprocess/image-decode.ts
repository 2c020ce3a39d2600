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
 */
import { readFileSync } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import sharp, { type Sharp, type SharpOptions } from 'sharp';

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
/** RAW previews bigger than this are not believed (a corrupt length field). */
const MAX_PREVIEW_BYTES = 64 * 1024 * 1024;
/** How far into a RAW file to look for JPEG markers when its structure does not say. */
const RAW_SCAN_LIMIT = 32 * 1024 * 1024;

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

// ---------------------------------------------------------------------------------------------
// Byte access: RAW previews are read by offset so a 60 MB raw file is never loaded whole.

interface ByteReader {
  readonly size: number;
  /** Up to `length` bytes from `offset` (fewer at the end of the data, none past it). */
  read(offset: number, length: number): Promise<Buffer>;
}

function bufferReader(buf: Buffer): ByteReader {
  return {
    size: buf.length,
    read: async (offset, length) =>
      buf.subarray(Math.max(0, offset), Math.max(0, Math.min(buf.length, offset + length))),
  };
}

function fileReader(handle: FileHandle, size: number): ByteReader {
  return {
    size,
    async read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      if (offset < 0 || n === 0) return Buffer.alloc(0);
      const buf = Buffer.alloc(n);
      const { bytesRead } = await handle.read(buf, 0, n, offset);
      return buf.subarray(0, bytesRead);
    },
  };
}

/** A view that starts at `base` (for TIFF structures embedded in other containers). */
function offsetReader(r: ByteReader, base: number): ByteReader {
  return { size: Math.max(0, r.size - base), read: (offset, length) => r.read(base + offset, length) };
}

async function withReader<T>(input: ImageInput, fn: (r: ByteReader) => Promise<T>): Promise<T> {
  if (typeof input !== 'string') return fn(bufferReader(input));
  const handle = await open(input, 'r');
  try {
    return await fn(fileReader(handle, (await handle.stat()).size));
  } finally {
    await handle.close();
  }
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
// Container sniffing: by content, never by extension.

type Container = 'tiff' | 'heif' | 'raf' | 'cr3' | 'other';

const HEIF_BRANDS = new Set([
  'heic',
  'heix',
  'hevc',
  'hevx',
  'heim',
  'heis',
  'hevm',
  'hevs',
  'mif1',
  'msf1',
  'avif',
  'avis',
]);

function sniff(head: Buffer): Container {
  const ascii = (from: number, to: number) => head.toString('latin1', from, to);
  const tiffMagic = ['II*\0', 'MM\0*', 'IIRO', 'IIRS', 'MMOR', 'IIU\0'];
  if (tiffMagic.includes(ascii(0, 4))) return 'tiff';
  if (ascii(0, 15) === 'FUJIFILMCCD-RAW') return 'raf';
  if (ascii(4, 8) === 'ftyp') {
    const brand = ascii(8, 12);
    if (brand === 'crx ') return 'cr3';
    if (HEIF_BRANDS.has(brand)) return 'heif';
  }
  return 'other';
}

// ---------------------------------------------------------------------------------------------
// Camera RAW: find the embedded JPEG previews.

interface JpegRef {
  offset: number;
  /** Byte length when the container states it; otherwise found by scanning for the EOI marker. */
  length?: number;
}

interface TiffScan {
  isRaw: boolean;
  orientation?: number;
  jpegs: JpegRef[];
}

interface IfdEntry {
  type: number;
  count: number;
  /** Absolute offset of the value bytes (inline values point into the entry itself). */
  valueOffset: number;
}

/** Bytes per value of each TIFF field type (1 BYTE … 13 IFD), indexed by type. */
const TYPE_SIZES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];
/** Compression codes only raw sensor data uses (Nikon, Sony, Pentax, Kodak, lossy DNG). */
const RAW_COMPRESSIONS = new Set([32767, 32769, 32770, 34713, 34892, 65000]);
const TAG = {
  compression: 0x103,
  photometric: 0x106,
  stripOffsets: 0x111,
  orientation: 0x112,
  stripByteCounts: 0x117,
  subIfds: 0x14a,
  jpegOffset: 0x201,
  jpegLength: 0x202,
  rw2JpgFromRaw: 0x2e,
  dngVersion: 0xc612,
} as const;
const MAX_IFDS = 64;
const MAX_IFD_ENTRIES = 1024;

class TiffWalker {
  private readonly le: boolean;
  constructor(
    private readonly r: ByteReader,
    head: Buffer,
  ) {
    this.le = head[0] === 0x49;
  }

  u16(b: Buffer, o: number): number {
    return this.le ? b.readUInt16LE(o) : b.readUInt16BE(o);
  }

  u32(b: Buffer, o: number): number {
    return this.le ? b.readUInt32LE(o) : b.readUInt32BE(o);
  }

  /** The entries of the IFD at `offset`, and the offset of the next IFD (0 at the end). */
  async readIfd(offset: number): Promise<{ entries: Map<number, IfdEntry>; next: number } | null> {
    const countBuf = await this.r.read(offset, 2);
    if (countBuf.length < 2) return null;
    const count = this.u16(countBuf, 0);
    if (count === 0 || count > MAX_IFD_ENTRIES) return null;
    const body = await this.r.read(offset + 2, count * 12 + 4);
    if (body.length < count * 12) return null;
    const entries = new Map<number, IfdEntry>();
    for (let i = 0; i < count; i++) {
      const p = i * 12;
      const type = this.u16(body, p + 2);
      const n = this.u32(body, p + 4);
      const inline = (TYPE_SIZES[type] ?? 1) * n <= 4;
      entries.set(this.u16(body, p), {
        type,
        count: n,
        valueOffset: inline ? offset + 2 + p + 8 : this.u32(body, p + 8),
      });
    }
    const next = body.length >= count * 12 + 4 ? this.u32(body, count * 12) : 0;
    return { entries, next };
  }

  /** Unsigned integer values of an entry (BYTE, SHORT, LONG or IFD), at most `max` of them. */
  async values(e: IfdEntry | undefined, max = 64): Promise<number[]> {
    if (!e || ![1, 3, 4, 7, 13].includes(e.type)) return [];
    const size = TYPE_SIZES[e.type];
    const n = Math.min(e.count, max);
    const buf = await this.r.read(e.valueOffset, n * size);
    const out: number[] = [];
    for (let i = 0; i + size <= buf.length; i += size) {
      out.push(size === 1 ? buf[i] : size === 2 ? this.u16(buf, i) : this.u32(buf, i));
    }
    return out;
  }

  async first(e: IfdEntry | undefined): Promise<number | undefined> {
    return (await this.values(e, 1))[0];
  }
}

/** Walks IFD0, its chain and SubIFDs, collecting JPEG streams and the signs of raw sensor data. */
async function scanTiff(r: ByteReader): Promise<TiffScan> {
  const head = await r.read(0, 16);
  const t = new TiffWalker(r, head);
  const magic = t.u16(head, 2);
  const scan: TiffScan = { isRaw: magic !== 42 || head.toString('latin1', 8, 10) === 'CR', jpegs: [] };
  const queue = [t.u32(head, 4)];
  const seen = new Set<number>();
  while (queue.length > 0 && seen.size < MAX_IFDS) {
    const offset = queue.shift() as number;
    if (seen.has(offset) || offset < 8 || offset >= r.size) continue;
    const isIfd0 = seen.size === 0;
    seen.add(offset);
    const ifd = await t.readIfd(offset);
    if (!ifd) continue;
    await inspectIfd(t, ifd.entries, scan, isIfd0);
    if (ifd.next) queue.push(ifd.next);
    queue.push(...(await t.values(ifd.entries.get(TAG.subIfds), 16)));
  }
  return scan;
}

async function inspectIfd(
  t: TiffWalker,
  e: Map<number, IfdEntry>,
  scan: TiffScan,
  isIfd0: boolean,
): Promise<void> {
  const compression = await t.first(e.get(TAG.compression));
  const photometric = await t.first(e.get(TAG.photometric));
  // 32803 = colour filter array, 34892 = linear raw: sensor data, not a picture.
  if (e.has(TAG.dngVersion) || photometric === 32803 || photometric === 34892) scan.isRaw = true;
  if (compression !== undefined && RAW_COMPRESSIONS.has(compression)) scan.isRaw = true;
  if (isIfd0) scan.orientation = await t.first(e.get(TAG.orientation));
  const jpegOffset = await t.first(e.get(TAG.jpegOffset));
  const jpegLength = await t.first(e.get(TAG.jpegLength));
  if (jpegOffset && jpegLength) scan.jpegs.push({ offset: jpegOffset, length: jpegLength });
  const strips = e.get(TAG.stripOffsets);
  if ((compression === 6 || compression === 7) && strips?.count === 1) {
    const [offset] = await t.values(strips, 1);
    const [length] = await t.values(e.get(TAG.stripByteCounts), 1);
    if (offset && length) scan.jpegs.push({ offset, length });
  }
  const rw2 = e.get(TAG.rw2JpgFromRaw);
  if (rw2 && rw2.count > 4) scan.jpegs.push({ offset: rw2.valueOffset, length: rw2.count });
}

interface JpegInfo {
  ref: JpegRef;
  width: number;
  height: number;
  /** Where the entropy-coded data of the first scan starts. */
  scanStart: number;
}

/**
 * Reads a JPEG's marker segments up to its frame header. Only baseline, extended and progressive
 * Huffman frames count: lossless JPEG (SOF3) is how CR2 and DNG store sensor data.
 */
async function inspectJpeg(r: ByteReader, ref: JpegRef): Promise<JpegInfo | null> {
  let p = ref.offset;
  const soi = await r.read(p, 2);
  if (soi.length < 2 || soi[0] !== 0xff || soi[1] !== 0xd8) return null;
  p += 2;
  let frame: { width: number; height: number } | null = null;
  for (let segments = 0; segments < 256; segments++) {
    const hdr = await r.read(p, 9);
    if (hdr.length < 4 || hdr[0] !== 0xff) return null;
    const marker = hdr[1];
    const length = hdr.readUInt16BE(2);
    if (marker === 0xff) {
      p += 1; // fill byte
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (marker > 0xc2 || hdr.length < 9) return null;
      frame = { height: hdr.readUInt16BE(5), width: hdr.readUInt16BE(7) };
    }
    if (marker === 0xda)
      return frame && frame.width > 0 && frame.height > 0
        ? { ref, ...frame, scanStart: p + 2 + length }
        : null;
    if (length < 2) return null;
    p += 2 + length;
  }
  return null;
}

/** Finds a JPEG's end (EOI) after its first scan; 0xFFD9 cannot occur inside entropy-coded data. */
async function jpegLength(r: ByteReader, info: JpegInfo): Promise<number | null> {
  const chunk = 1 << 20;
  for (let p = info.scanStart; p < r.size && p - info.ref.offset < MAX_PREVIEW_BYTES; p += chunk - 1) {
    const buf = await r.read(p, chunk);
    for (let i = buf.indexOf(0xff); i >= 0 && i + 1 < buf.length; i = buf.indexOf(0xff, i + 1)) {
      if (buf[i + 1] === 0xd9) return p + i + 2 - info.ref.offset;
    }
  }
  return null;
}

/** Offsets of every SOI+marker triple (FF D8 FF) in the first `limit` bytes. */
async function scanForJpegs(r: ByteReader, limit: number): Promise<JpegRef[]> {
  const found: JpegRef[] = [];
  const chunk = 1 << 20;
  const end = Math.min(r.size, limit);
  for (let p = 0; p < end && found.length < 256; p += chunk - 2) {
    const buf = await r.read(p, Math.min(chunk, end - p + 2));
    for (let i = buf.indexOf(0xff); i >= 0 && i + 2 < buf.length; i = buf.indexOf(0xff, i + 1)) {
      if (buf[i + 1] === 0xd8 && buf[i + 2] === 0xff && !found.some((f) => f.offset === p + i))
        found.push({ offset: p + i });
    }
  }
  return found;
}

/** The largest decodable JPEG among the candidates, as bytes. */
async function largestJpeg(r: ByteReader, refs: JpegRef[]): Promise<Buffer | null> {
  const infos = (await Promise.all(refs.map((ref) => inspectJpeg(r, ref)))).filter(
    (i): i is JpegInfo => i !== null,
  );
  infos.sort((a, b) => b.width * b.height - a.width * a.height);
  for (const info of infos) {
    const length = info.ref.length ?? (await jpegLength(r, info));
    if (!length || length > MAX_PREVIEW_BYTES) continue;
    const bytes = await r.read(info.ref.offset, length);
    if (bytes.length === length) return bytes;
  }
  return null;
}

interface RawPreview {
  jpeg: Buffer;
  /** The raw container's EXIF orientation, if it states one. */
  orientation?: number;
}

/** For RAF: the header points at the embedded JPEG (which carries its own EXIF orientation). */
async function rafPreview(r: ByteReader): Promise<RawPreview | null> {
  const hdr = await r.read(84, 8);
  if (hdr.length < 8) return null;
  const jpeg = await largestJpeg(r, [{ offset: hdr.readUInt32BE(0), length: hdr.readUInt32BE(4) }]);
  return jpeg ? { jpeg } : null;
}

/** For CR3: the PRVW JPEG sits before the media data; the orientation lives in the CMT1 TIFF box. */
async function cr3Preview(r: ByteReader): Promise<RawPreview | null> {
  const head = await r.read(0, 1 << 20);
  const cmt1 = head.indexOf('CMT1', 0, 'latin1');
  let orientation: number | undefined;
  if (cmt1 >= 4) orientation = (await scanTiff(offsetReader(r, cmt1 + 4))).orientation;
  const jpeg = await largestJpeg(r, await scanForJpegs(r, RAW_SCAN_LIMIT));
  return jpeg ? { jpeg, orientation } : null;
}

/** The preview of a TIFF-structured raw file, or null when it is an ordinary TIFF. */
async function tiffRawPreview(r: ByteReader): Promise<RawPreview | null> {
  const scan = await scanTiff(r);
  if (!scan.isRaw) return null;
  // Olympus keeps its preview in the maker note, which this walk does not parse: scan for it.
  const jpeg =
    (scan.jpegs.length > 0 ? await largestJpeg(r, scan.jpegs) : null) ??
    (await largestJpeg(r, await scanForJpegs(r, RAW_SCAN_LIMIT)));
  if (!jpeg) throw new Error('camera RAW file without a decodable embedded JPEG preview');
  return { jpeg, orientation: scan.orientation };
}

// ---------------------------------------------------------------------------------------------
// HEIF with HEVC: libheif compiled to WebAssembly.

interface HeifError {
  code: unknown;
  message: string;
}
interface HeifChannel {
  data: Uint8Array;
  width: number;
  height: number;
  stride: number;
}
/** The slice of libheif-js's embind API that is used here (its own typings describe the raw C API). */
interface LibHeif {
  heif_error_code: { heif_error_Ok: unknown };
  heif_colorspace: { heif_colorspace_RGB: unknown };
  heif_chroma: { heif_chroma_interleaved_RGBA: unknown };
  heif_context_alloc(): unknown;
  heif_context_free(ctx: unknown): void;
  heif_context_read_from_memory(ctx: unknown, data: Uint8Array): HeifError;
  heif_js_context_get_primary_image_handle(ctx: unknown): unknown;
  heif_image_handle_release(handle: unknown): void;
  heif_js_decode_image2(
    handle: unknown,
    colorspace: unknown,
    chroma: unknown,
  ): Promise<HeifDecoded | HeifError>;
  heif_image_release(image: unknown): void;
}
interface HeifDecoded {
  image: unknown;
  width: number;
  height: number;
  channels: HeifChannel[];
}

let libheifModule: LibHeif | undefined;

function libheif(): LibHeif {
  if (!libheifModule) {
    const require = createRequire(import.meta.url);
    // Load the wasm build with an explicit binary path: the package's own `wasm.js` resolves it
    // against the current directory.
    const factory = require('libheif-js/libheif-wasm/libheif.js') as (opts: {
      wasmBinary: Buffer;
    }) => LibHeif;
    const wasmBinary = readFileSync(require.resolve('libheif-js/libheif-wasm/libheif.wasm'));
    libheifModule = factory({ wasmBinary });
  }
  return libheifModule;
}

interface RgbaPixels {
  data: Buffer;
  width: number;
  height: number;
}

/** Decodes the primary image of a HEIF file to RGBA with libheif (transforms applied). */
export async function decodeHeifWithLibheif(bytes: Buffer): Promise<RgbaPixels> {
  const lib = libheif();
  const ctx = lib.heif_context_alloc();
  let handle: unknown;
  try {
    const err = lib.heif_context_read_from_memory(ctx, bytes);
    if (err.code !== lib.heif_error_code.heif_error_Ok) throw new Error(`HEIF: ${err.message}`);
    handle = lib.heif_js_context_get_primary_image_handle(ctx);
    const img = await lib.heif_js_decode_image2(
      handle,
      lib.heif_colorspace.heif_colorspace_RGB,
      lib.heif_chroma.heif_chroma_interleaved_RGBA,
    );
    if (!('channels' in img)) throw new Error(`HEIF: ${(img as HeifError).message ?? 'decoding failed'}`);
    try {
      return packRgba(img.channels[0]);
    } finally {
      lib.heif_image_release(img.image);
    }
  } finally {
    if (handle) lib.heif_image_handle_release(handle);
    lib.heif_context_free(ctx);
  }
}

function packRgba(ch: HeifChannel | undefined): RgbaPixels {
  if (!ch || ch.width <= 0 || ch.height <= 0) throw new Error('HEIF: decoder returned no pixels');
  const row = ch.width * 4;
  const data = Buffer.alloc(row * ch.height);
  for (let y = 0; y < ch.height; y++) data.set(ch.data.subarray(y * ch.stride, y * ch.stride + row), y * row);
  return { data, width: ch.width, height: ch.height };
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
