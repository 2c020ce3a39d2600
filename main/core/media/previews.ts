import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { MediaKind } from '../../../app/modality.js';
import type { Db } from '../catalogue/open.js';
import { ffTime, inputPath, probeMedia, runFfmpeg } from '../codecs/ffmpeg.js';
import { thumbnail } from '../codecs/image-decode.js';

/**
 * Tile previews (docs/architecture.md §8): a photo's thumbnail, a video's poster and one poster per
 * matched moment, an audio file's peaks. Cached by content hash beside the catalogue, so a copy or
 * a moved file shares them and an unplugged drive's tiles still show. Indexing makes them
 * (makePreviews), so the first screen of results is not grey; a request for one that is missing
 * (an older catalogue, a moment between clips) makes it then.
 */

export const THUMB_SIDE = 320;
/** Bars in a tile's waveform (the preview asks for more, made on demand). */
export const TILE_PEAKS = 96;

/** What a content's previews are made from. */
export interface PreviewSource {
  hash: string | null;
  /** The file's real path (symlinks resolved). */
  path: string;
  kind: MediaKind;
  /** A video's matched moments (clip midpoints), in ms. */
  momentsMs?: readonly number[];
}

function cacheKey(hash: string | null, real: string): string {
  return (hash ?? real).replace(/[^a-z0-9]/gi, '').slice(-40);
}

/** A thumbnail or poster: the file's (`atMs` null) or a moment's. */
export function thumbFile(db: Db, hash: string | null, real: string, atMs: number | null = null): string {
  const moment = atMs === null ? '' : `-at${atMs}`;
  return path.join(path.dirname(db.name), 'thumbs', `${cacheKey(hash, real)}-${THUMB_SIDE}${moment}.webp`);
}

function peaksFile(db: Db, hash: string | null, real: string, points: number): string {
  return path.join(path.dirname(db.name), 'thumbs', `${cacheKey(hash, real)}-peaks${points}.json`);
}

/** Written beside and renamed (unique per writer: two requests may make one preview at once). */
async function writeAtomically(file: string, bytes: Buffer | string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

/** The file's thumbnail (photo) or poster (video), made if missing; resolves to its path. */
export async function ensureThumb(db: Db, src: PreviewSource): Promise<string> {
  const file = thumbFile(db, src.hash, src.path);
  if (await exists(file)) return file;
  if (src.kind === 'image') await writeAtomically(file, await thumbnail(src.path, THUMB_SIDE));
  else {
    const durationS = (await probeMedia(src.path)).durationS;
    await writePosters(src, [{ ms: posterMs(durationS), file }], durationS);
  }
  return file;
}

/** A video's poster at `atMs` (clamped into the video), made if missing; resolves to its path. */
export async function ensureMomentPoster(db: Db, src: PreviewSource, atMs: number): Promise<string> {
  const file = thumbFile(db, src.hash, src.path, atMs);
  if (!(await exists(file)))
    await writePosters(src, [{ ms: atMs, file }], (await probeMedia(src.path)).durationS);
  return file;
}

/** The file's own poster: a second in (past a fade from black), or the middle of a shorter video. */
const posterMs = (durationS: number | null) => Math.min(1, (durationS || 0) / 2) * 1000;

interface Shot {
  ms: number;
  file: string;
}

/** Posters at several moments from one ffmpeg run (a seek per moment, a PNG each), as thumbnails. */
async function writePosters(src: PreviewSource, shots: readonly Shot[], durationS: number | null) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-posters-'));
  try {
    const last = Math.max(0, (durationS || Infinity) - 0.1);
    const args: string[] = [];
    for (const s of shots) args.push('-ss', ffTime(Math.min(s.ms / 1000, last)), '-i', inputPath(src.path));
    shots.forEach((_, i) =>
      args.push('-map', `${i}:v:0`, '-frames:v', '1', '-update', '1', path.join(dir, `${i}.png`)),
    );
    await runFfmpeg(args, { timeoutMs: 30_000 + 5_000 * shots.length, maxBytes: 1024 * 1024 });
    for (const [i, s] of shots.entries()) {
      const png = await readFile(path.join(dir, `${i}.png`));
      const webp = sharp(png).resize(THUMB_SIDE, THUMB_SIDE, { fit: 'inside' }).webp({ quality: 80 });
      await writeAtomically(s.file, await webp.toBuffer());
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An audio file's peaks for `points` bars: cached for the tile's size, computed for others. */
export async function filePeaks(db: Db, src: PreviewSource, points: number): Promise<number[]> {
  const file = peaksFile(db, src.hash, src.path, points);
  const cached = await readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as number[],
    () => null,
  );
  if (cached) return cached;
  const peaks = await waveformPeaks(src.path, points);
  if (points === TILE_PEAKS) await writeAtomically(file, JSON.stringify(peaks));
  return peaks;
}

/**
 * Everything a tile of this content shows, made now (during indexing): the thumbnail or poster,
 * a poster per moment, the waveform. A failure is not the file's: the tile falls back to making
 * it on view, or to its kind's icon.
 */
export async function makePreviews(db: Db, src: PreviewSource): Promise<void> {
  try {
    if (src.kind === 'image') await ensureThumb(db, src);
    else if (src.kind === 'audio') await filePeaks(db, src, TILE_PEAKS);
    else if (src.kind === 'video') await videoPreviews(db, src);
  } catch {
    // Made on first view instead (media.ts), where a real failure is reported.
  }
}

async function videoPreviews(db: Db, src: PreviewSource): Promise<void> {
  const durationS = (await probeMedia(src.path)).durationS;
  const wanted: Shot[] = [
    { ms: posterMs(durationS), file: thumbFile(db, src.hash, src.path) },
    ...[...new Set(src.momentsMs ?? [])].map((ms) => ({ ms, file: thumbFile(db, src.hash, src.path, ms) })),
  ];
  const todo: Shot[] = [];
  for (const shot of wanted) if (!(await exists(shot.file))) todo.push(shot);
  if (todo.length > 0) await writePosters(src, todo, durationS);
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
