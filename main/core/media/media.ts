import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { momentOfVariant, type MediaVariant } from '../../../app/api.js';
import { ApiError } from '../../../app/errors.js';
import type { MediaKind } from '../../../app/modality.js';
import type { Db } from '../catalogue/open.js';
import { mediaRow, type MediaRow } from '../catalogue/files.js';
import { isInside } from '../paths.js';
import { ensureMomentPoster, ensureThumb, thumbFile } from './previews.js';

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
  return thumbFor(db, row, real, variant);
}

/**
 * A file whose library folder is not reachable: its thumbnail still shows when one was made (they
 * are cached by content beside the catalogue); anything else says where the file lives.
 */
function offline(db: Db, row: MediaRow, variant: MediaVariant): Promise<ServedFile> {
  const why = `${path.basename(row.path)} is in ${row.root}, which is not connected (an unplugged drive or an unmounted share?)`;
  return cachedThumb(db, row, variant, new MediaError(503, why));
}

/**
 * A file that cannot be read now: its cached poster at the moment asked for, else its thumbnail,
 * when one was made; else `error`.
 */
async function cachedThumb(
  db: Db,
  row: MediaRow,
  variant: MediaVariant,
  error: MediaError,
): Promise<ServedFile> {
  if (variant === 'original' || !row.hash) throw error;
  const atMs = row.kind === 'video' ? momentOfVariant(variant) : null;
  for (const file of new Set([thumbFile(db, row.hash, '', atMs), thumbFile(db, row.hash, '')])) {
    const cached = await stat(file).catch(() => null);
    if (cached) return { path: file, mime: 'image/webp', size: cached.size };
  }
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

/**
 * Thumbnails (photos), posters (videos) and a video's frame at a moment (`at<ms>`: a matched
 * clip's poster; a photo's is its thumbnail), cached by content (previews.ts).
 */
async function thumbFor(db: Db, row: MediaRow, real: string, variant: MediaVariant): Promise<ServedFile> {
  if (row.kind !== 'image' && row.kind !== 'video')
    throw new MediaError(415, `no thumbnail for ${row.kind ?? 'this'} file`);
  const src = { hash: row.hash, path: real, kind: row.kind };
  const atMs = momentOfVariant(variant);
  const file =
    atMs === null || row.kind === 'image'
      ? await ensureThumb(db, src)
      : await ensureMomentPoster(db, src, atMs);
  return { path: file, mime: 'image/webp', size: (await stat(file)).size };
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
