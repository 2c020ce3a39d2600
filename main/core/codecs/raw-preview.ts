// Size: the TIFF, RAF and CR3 preview searches share one IFD walker.
import { offsetReader, type ByteReader } from './byte-reader.js';

/**
 * Camera RAW without demosaicing (docs/architecture.md §5): the container is recognised by its
 * bytes, never its extension, and the largest embedded JPEG preview is found through the TIFF
 * structure (DNG, CR2, NEF, ARW, ORF, RW2, PEF), the RAF header or the CR3 boxes, with the raw
 * container's orientation.
 */

/** RAW previews bigger than this are not believed (a corrupt length field). */
const MAX_PREVIEW_BYTES = 64 * 1024 * 1024;
/** How far into a RAW file to look for JPEG markers when its structure does not say. */
const RAW_SCAN_LIMIT = 32 * 1024 * 1024;

// Container sniffing: by content, never by extension.

export type Container = 'tiff' | 'heif' | 'raf' | 'cr3' | 'other';

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

export function sniff(head: Buffer): Container {
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

export interface RawPreview {
  jpeg: Buffer;
  /** The raw container's EXIF orientation, if it states one. */
  orientation?: number;
}

/** For RAF: the header points at the embedded JPEG (which carries its own EXIF orientation). */
export async function rafPreview(r: ByteReader): Promise<RawPreview | null> {
  const hdr = await r.read(84, 8);
  if (hdr.length < 8) return null;
  const jpeg = await largestJpeg(r, [{ offset: hdr.readUInt32BE(0), length: hdr.readUInt32BE(4) }]);
  return jpeg ? { jpeg } : null;
}

/** For CR3: the PRVW JPEG sits before the media data; the orientation lives in the CMT1 TIFF box. */
export async function cr3Preview(r: ByteReader): Promise<RawPreview | null> {
  const head = await r.read(0, 1 << 20);
  const cmt1 = head.indexOf('CMT1', 0, 'latin1');
  let orientation: number | undefined;
  if (cmt1 >= 4) orientation = (await scanTiff(offsetReader(r, cmt1 + 4))).orientation;
  const jpeg = await largestJpeg(r, await scanForJpegs(r, RAW_SCAN_LIMIT));
  return jpeg ? { jpeg, orientation } : null;
}

/** The preview of a TIFF-structured raw file, or null when it is an ordinary TIFF. */
export async function tiffRawPreview(r: ByteReader): Promise<RawPreview | null> {
  const scan = await scanTiff(r);
  if (!scan.isRaw) return null;
  // Olympus keeps its preview in the maker note, which this walk does not parse: scan for it.
  const jpeg =
    (scan.jpegs.length > 0 ? await largestJpeg(r, scan.jpegs) : null) ??
    (await largestJpeg(r, await scanForJpegs(r, RAW_SCAN_LIMIT)));
  if (!jpeg) throw new Error('camera RAW file without a decodable embedded JPEG preview');
  return { jpeg, orientation: scan.orientation };
}
