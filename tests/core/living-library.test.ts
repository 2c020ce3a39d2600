import { copyFile, mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppApi } from '../../app/api.js';
import { viaDispatch } from '../../app/dispatch.js';
import { coreService, type CoreService } from '../../main/core/api/service.js';
import { runFfmpeg } from '../../main/core/codecs/ffmpeg.js';
import { exifDateMs, isoDateMs, iso6709 } from '../../main/core/codecs/capture.js';
import { embeddingCount } from '../../main/core/catalogue/contents.js';
import { Engine } from '../../main/core/engine/engine.js';
import { writeImage } from '../support/synth-media.js';

/**
 * The living library (issue 14), in-process on real files: capture dates from EXIF and container
 * tags, junk files passed over, and the watcher keeping the catalogue true by itself: a copied
 * photo is indexed, a rename re-embeds nothing, a deletion leaves results, a root moved away goes
 * offline and stays searchable, and coming back re-embeds nothing.
 */

let dir: string;
let engine: Engine;
let core: CoreService;
let api: AppApi;
let stopWatching: (() => Promise<void>) | undefined;
const lib = (...p: string[]) => path.join(dir, 'library', ...p);

const TAKEN = Date.UTC(2019, 6, 14, 16, 30, 5); // 2019-07-14 18:30:05 +02:00
const FILMED = Date.UTC(2021, 2, 3, 9, 15, 0);
const OLD_MTIME = new Date(Date.UTC(2015, 0, 1));

async function exifPhoto(file: string): Promise<void> {
  await sharp({ create: { width: 120, height: 90, channels: 3, background: '#3a7' } })
    .jpeg()
    .withExif({
      IFD2: { DateTimeOriginal: '2019:07:14 18:30:05', OffsetTimeOriginal: '+02:00' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 2400/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 21/1 0/1',
      },
    })
    .toFile(file);
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const search = (file: string) =>
  api.search({ terms: [{ modality: 'image', path: file, weight: 1 }], k: 10 }).then((r) => r.results);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-living-'));
  process.env.BINDERY_HOME = path.join(dir, 'home');
  await mkdir(lib('photos', '@eaDir'), { recursive: true });
  await exifPhoto(lib('photos', 'paris.jpg'));
  await writeImage(lib('photos', 'plain.jpg'), 3);
  await writeFile(lib('photos', 'Thumbs.db'), 'not media');
  await writeImage(lib('photos', '@eaDir', 'SYNOPHOTO_THUMB_M.jpg'), 4);
  // prettier-ignore
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=15:duration=3', '-c:v', 'libx264',
    '-metadata', 'creation_time=2021-03-03T09:15:00.000000Z', '-metadata', 'location=+48.8566+002.3522/',
    lib('photos', 'clip.mp4')]);
  for (const f of ['paris.jpg', 'clip.mp4']) await utimes(lib('photos', f), OLD_MTIME, OLD_MTIME);
  engine = await Engine.open({ dbPath: path.join(dir, 'catalogue.db'), backend: 'quant' });
  core = coreService(engine);
  api = viaDispatch(core);
  await api.addRoot({ path: lib('photos') });
  expect(await api.index({})).toMatchObject({ indexed: 3, failed: 0 });
}, 120_000);

afterAll(async () => {
  await stopWatching?.();
  await api?.cancelIndex();
  await engine?.close();
  delete process.env.BINDERY_HOME;
  await rm(dir, { recursive: true, force: true });
});

describe('capture time and place', () => {
  it('reads EXIF and container dates with their offsets, and refuses clocks never set', () => {
    expect(exifDateMs('2019:07:14 18:30:05', '+02:00')).toBe(TAKEN);
    expect(exifDateMs('2019:07:14 18:30:05', '-05:30')).toBe(Date.UTC(2019, 6, 15, 0, 0, 5));
    expect(exifDateMs('0000:00:00 00:00:00', undefined)).toBeNull();
    expect(isoDateMs('2021-03-03T09:15:00.000000Z')).toBe(FILMED);
    expect(isoDateMs('1904-01-01T00:00:00.000000Z')).toBeNull();
    expect(isoDateMs('1999')).toBe(Date.UTC(1999, 0, 1));
    expect(iso6709('+48.8566+002.3522+035.000/')).toEqual({ lat: 48.8566, lon: 2.3522 });
  });

  it('dates a photo by DateTimeOriginal and a video by creation_time, not by their mtimes', async () => {
    const page = await api.browse({});
    const byName = Object.fromEntries(page.items.map((i) => [path.basename(i.path), i]));
    expect(byName['paris.jpg']).toMatchObject({ takenMs: TAKEN, dateSource: 'exif' });
    expect(byName['clip.mp4']).toMatchObject({ takenMs: FILMED, dateSource: 'container' });
    expect(byName['plain.jpg'].dateSource).toBe('mtime');
    // Newest first: the plain photo (written now), then the video (2021), then the photo (2019).
    expect(page.items.map((i) => path.basename(i.path))).toEqual(['plain.jpg', 'clip.mp4', 'paris.jpg']);
    const info = await api.fileInfo({ fileId: byName['paris.jpg'].fileId });
    expect(info.place?.lat).toBeCloseTo(48.8567, 3);
    expect(info.mtimeMs).toBe(OLD_MTIME.getTime());
  });

  it('filters and sorts by capture date, and by place', async () => {
    const in2019 = { dateFrom: Date.UTC(2019, 0, 1), dateTo: Date.UTC(2019, 11, 31) };
    const hits = await api.search({
      terms: [{ modality: 'image', path: lib('photos', 'plain.jpg'), weight: 1 }],
      filters: in2019,
    });
    expect(hits.results.map((h) => path.basename(h.path))).toEqual(['paris.jpg']);
    const paris = { south: 48, west: 2, north: 49, east: 3 };
    const near = await api.browse({ filters: { bbox: paris } });
    expect(near.items.map((i) => path.basename(i.path)).sort()).toEqual(['clip.mp4', 'paris.jpg']);
    const byDate = await api.search({
      terms: [{ modality: 'image', path: lib('photos', 'paris.jpg'), weight: 1 }],
      sort: 'date',
    });
    const dates = byDate.results.map((h) => h.takenMs);
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
  });

  it('pages the timeline without overlap', async () => {
    const first = await api.browse({ limit: 2 });
    expect(first.total).toBe(3);
    const rest = await api.browse({ limit: 2, after: first.next! });
    expect([...first.items, ...rest.items].map((i) => i.fileId)).toHaveLength(3);
    expect(rest.next).toBeNull();
  });
});

describe('junk files', () => {
  it('passes over Thumbs.db and @eaDir by default, listed with their reason', async () => {
    const root = (await api.listRoots())[0];
    const skipped = root.skipped.map((s) => path.basename(s.path)).sort();
    expect(skipped).toEqual(['@eaDir', 'Thumbs.db']);
    expect(root.skipped[0].reason).toMatch(/clutter/);
    expect(await api.settings()).toEqual({ ignoreJunk: true });
  });
});

describe('watching', () => {
  let vectors: number;
  const embedded = () => embeddingCount(engine.db, engine.active.id);

  beforeAll(async () => {
    stopWatching = await core.watch({ settleMs: 300, healthMs: 300, missingGraceMs: 60_000 });
    vectors = embedded();
  });

  it('indexes a photo copied into a watched folder by itself', async () => {
    const started = Date.now();
    await copyFile(lib('photos', 'paris.jpg'), lib('photos', 'copied.jpg'));
    await writeImage(lib('photos', 'new.jpg'), 11);
    await until('the new photo to be found', async () =>
      (await search(lib('photos', 'new.jpg'))).some((h) => h.path === lib('photos', 'new.jpg')),
    );
    console.log(`watched: a new photo was searchable ${Date.now() - started} ms after it was written`);
    expect(embedded()).toBeGreaterThan(vectors);
    vectors = embedded();
  });

  it('follows a rename by content, embedding nothing', async () => {
    await rename(lib('photos', 'new.jpg'), lib('photos', 'renamed.jpg'));
    const hits = await until('the renamed photo', async () => {
      const r = await search(lib('photos', 'renamed.jpg'));
      return r.some((h) => h.path === lib('photos', 'renamed.jpg')) && r;
    });
    expect(hits.some((h) => h.path === lib('photos', 'new.jpg'))).toBe(false);
    expect(embedded()).toBe(vectors);
  });

  it('takes a deleted file out of results at once', async () => {
    await rm(lib('photos', 'copied.jpg'));
    await until('the deleted copy to leave results', async () => {
      const r = await search(lib('photos', 'paris.jpg'));
      return r[0]?.copies === 0;
    });
    // Asked for, the catalogue still shows it, marked deleted (a move within the grace period finds it).
    const remembered = await api.browse({ filters: { includeMissing: true } });
    const copy = remembered.items.find((i) => i.path === lib('photos', 'copied.jpg'));
    expect(copy?.missing).toBe(true);
    expect((await api.browse({})).items.some((i) => i.path === lib('photos', 'copied.jpg'))).toBe(false);
  });

  it('keeps an unplugged folder searchable and offline, and re-embeds nothing when it returns', async () => {
    const missingBefore = (await api.status()).files.missing;
    await rename(lib('photos'), lib('away'));
    await until('the folder to go offline', async () => (await api.listRoots())[0].status === 'offline');
    const hits = await api.browse({});
    expect(hits.items.length).toBeGreaterThan(0);
    expect(hits.items.every((i) => i.offline)).toBe(true);
    // Nothing on the drive was declared missing: it is away, not emptied.
    expect((await api.status()).files.missing).toBe(missingBefore);
    await rename(lib('away'), lib('photos'));
    await until('the folder to come back', async () => {
      const root = (await api.listRoots())[0];
      return root.status === 'online' && !(await api.status()).indexing && root.files.indexed === 4;
    });
    expect(embedded()).toBe(vectors);
    expect((await api.browse({})).items.every((i) => !i.offline)).toBe(true);
  });
});
