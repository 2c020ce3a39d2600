import { randomUUID } from 'node:crypto';
import { mkdir, realpath, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { MediaVariant } from '../../../app/api.js';
import { ApiError } from '../../../app/errors.js';
import type { MediaKind } from '../../../app/modality.js';
import type { Db } from '../catalogue/open.js';
import { mediaRow, type MediaRow } from '../catalogue/files.js';
import { isInside } from '../paths.js';
import { ffTime, inputPath, probeMedia, runFfmpeg } from '../codecs/ffmpeg.js';
import { thumbnail } from '../codecs/image-decode.js';

export const THUMB_SIDE = 320;

export interface ServedFile {
  path: string;
  mime: string;
  size: number;
}

/**
 * Resolves an opaque file id to bytes a transport may serve. Only catalogued files under a
 * library folder qualify, and the real path (symlinks resolved) must still lie inside that
 * folder, so neither a crafted id nor a link swapped in after indexing reaches anything else.
 */
export async function resolveMedia(db: Db, fileId: number, variant: MediaVariant): Promise<ServedFile> {
  const row = mediaRow(db, fileId);
  if (!row) throw new MediaError(404, `no file with id ${fileId}`);
  if (row.status === 'missing')
    return cachedThumb(
      db,
      row,
      variant,
      new MediaError(404, `${path.basename(row.path)} was deleted from disk`),
    );
  const realRoot = await realpath(row.root).catch(() => null);
  if (!realRoot) return offline(db, row, variant);
  const real = await realpath(row.path).catch(() => null);
  if (!real) throw new MediaError(404, 'the file is no longer on disk');
  if (!isInside(real, realRoot)) throw new MediaError(403, 'the file resolves outside its library folder');
  if (variant === 'original')
    return { path: real, mime: mimeOf(row.kind, real), size: (await stat(real)).size };
  return thumbFor(db, row, real);
}

/**
 * A file whose library folder is not reachable: its thumbnail still shows when one was made (they
 * are cached by content beside the catalogue); anything else says where the file lives.
 */
function offline(db: Db, row: MediaRow, variant: MediaVariant): Promise<ServedFile> {
  const why = `${path.basename(row.path)} is in ${row.root}, which is not connected (an unplugged drive or an unmounted share?)`;
  return cachedThumb(db, row, variant, new MediaError(503, why));
}

/** A file that cannot be read now: its cached thumbnail when one was made and asked for, else `error`. */
async function cachedThumb(
  db: Db,
  row: MediaRow,
  variant: MediaVariant,
  error: MediaError,
): Promise<ServedFile> {
  const file = row.hash ? thumbPath(db, row.hash, '') : null;
  const cached = variant === 'thumb' && file ? await stat(file).catch(() => null) : null;
  if (cached && file) return { path: file, mime: 'image/webp', size: cached.size };
  throw error;
}

const CODE_OF_STATUS = { 403: 'forbidden', 404: 'not_found', 415: 'unsupported', 503: 'offline' } as const;

/** An ApiError that also carries the HTTP status the media transports answer with. */
export class MediaError extends ApiError {
  constructor(
    readonly status: 403 | 404 | 415 | 503,
    message: string,
  ) {
    super(CODE_OF_STATUS[status], message);
  }
}

/** Where a content's thumbnail is cached: beside the catalogue, by content hash (else by path). */
function thumbPath(db: Db, hash: string | null, real: string): string {
  const key = (hash ?? real).replace(/[^a-z0-9]/gi, '').slice(-40);
  return path.join(path.dirname(db.name), 'thumbs', `${key}-${THUMB_SIDE}.webp`);
}

/** Thumbnails (photos) and poster frames (videos), cached by content hash beside the catalogue. */
async function thumbFor(db: Db, row: MediaRow, real: string): Promise<ServedFile> {
  if (row.kind !== 'image' && row.kind !== 'video')
    throw new MediaError(415, `no thumbnail for ${row.kind ?? 'this'} file`);
  const file = thumbPath(db, row.hash, real);
  const dir = path.dirname(file);
  const cached = await stat(file).catch(() => null);
  if (!cached) {
    const bytes = row.kind === 'image' ? await thumbnail(real, THUMB_SIDE) : await posterFrame(real);
    await mkdir(dir, { recursive: true });
    // Written beside, then renamed: a reader never sees half a thumbnail.
    // Unique per request: two requests for one content's thumbnail may run at once.
    const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  }
  return { path: file, mime: 'image/webp', size: (await stat(file)).size };
}

async function posterFrame(file: string): Promise<Buffer> {
  const probe = await probeMedia(file);
  const at = Math.min(1, (probe.durationS || 0) / 2);
  const png = await runFfmpeg(
    ['-ss', ffTime(at), '-i', inputPath(file), '-frames:v', '1', '-f', 'image2pipe', '-vcodec', 'png', '-'],
    { timeoutMs: 30_000, maxBytes: 64 * 1024 * 1024 },
  );
  return sharp(png).resize(THUMB_SIDE, THUMB_SIDE, { fit: 'inside' }).webp({ quality: 80 }).toBuffer();
}

/** Peak amplitudes of the first ten minutes, for a waveform drawing. */
export async function waveformPeaks(file: string, points: number): Promise<number[]> {
  const pcm = await runFfmpeg(
    [
      '-t',
      '600',
      '-i',
      inputPath(file),
      '-vn',
      '-ac',
      '1',
      '-ar',
      '4000',
      '-f',
      'f32le',
      '-acodec',
      'pcm_f32le',
      '-',
    ],
    { timeoutMs: 60_000, maxBytes: 600 * 4000 * 4 + 1024 },
  );
  const samples = new Float32Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.byteLength / 4));
  const per = Math.max(1, Math.floor(samples.length / points));
  const peaks: number[] = [];
  for (let p = 0; p < points && p * per < samples.length; p++) {
    let m = 0;
    for (let i = p * per; i < Math.min((p + 1) * per, samples.length); i++)
      m = Math.max(m, Math.abs(samples[i]));
    peaks.push(Math.round(Math.min(m, 1) * 1000) / 1000);
  }
  return peaks;
}

const MIME: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  heic: 'image/heic',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
};

function mimeOf(kind: MediaKind | null, file: string): string {
  return MIME[path.extname(file).slice(1).toLowerCase()] ?? (kind ? `${kind}/*` : 'application/octet-stream');
}
