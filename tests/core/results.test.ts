import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SCHEMAS, momentVariant, type AppApi } from '../../app/api.js';
import { mulberry32 } from '../../app/random.js';
import { viaDispatch } from '../../app/dispatch.js';
import type { QueryInput } from '../../app/query.js';
import { runFfmpeg } from '../../main/core/codecs/ffmpeg.js';
import { coreService } from '../../main/core/api/service.js';
import { Engine } from '../../main/core/engine/engine.js';
import { PreviewQueue } from '../../main/core/ingest/previews.js';
import { resolveMedia } from '../../main/core/media/media.js';
import { judgeAgainst } from '../../main/core/search/background.js';
import { copyTestPack } from '../support/pack-server.js';
import { writeImage } from '../support/synth-media.js';
import { gaussian } from '../support/vector-data.js';

/**
 * Results people can read (issue 15): photos in the Moments view, the matched moment's poster made
 * during indexing, each term's signed share of the score, and the good-match signal. The test
 * pack's weights are random, so nothing relies on meaning: only on a file finding itself.
 */

let dir: string;
let engine: Engine;
let service: AppApi;
const lib = (...p: string[]) => path.join(dir, 'library', ...p);

/** Red for 3 s, then blue for 3 s: a poster at 0:04 must be blue. */
async function redThenBlue(file: string): Promise<void> {
  // prettier-ignore
  await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=red:size=160x120:rate=10:duration=3', '-f', 'lavfi',
    '-i', 'color=c=blue:size=160x120:rate=10:duration=3', '-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]',
    '-map', '[v]', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file]);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-results-'));
  process.env.BINDERY_HOME = path.join(dir, 'home');
  await mkdir(lib(), { recursive: true });
  await Promise.all(Array.from({ length: 24 }, (_, i) => writeImage(lib(`p${i}.jpg`), i + 1, 96, 64)));
  await redThenBlue(lib('red-blue.mp4'));
  // A pack that states a background signal: the test pack's graphs, its manifest otherwise.
  const pack = await copyTestPack(path.join(dir, 'pack-bg'), 'pack-bg', 'Background pack', {
    testPack: false,
    matchSignal: { method: 'background', margin: 1, sample: 2048 },
  });
  engine = await Engine.open({ dbPath: path.join(dir, 'catalogue.db'), backend: 'quant', packDir: pack });
  service = viaDispatch(coreService(engine));
  await service.addRoot({ path: lib() });
  expect(await service.index({})).toMatchObject({ indexed: 25, failed: 0 });
}, 180_000);

afterAll(async () => {
  await engine?.close();
  delete process.env.BINDERY_HOME;
  await rm(dir, { recursive: true, force: true });
});

const byPhoto = (file: string, extra: Partial<QueryInput> = {}): QueryInput => ({
  terms: [{ modality: 'image', path: file, weight: 1 }],
  k: 50,
  ...extra,
});

describe('moments', () => {
  it('lists photos in the Moments view as their own moment, beside the video’s clips', async () => {
    const r = await service.search(byPhoto(lib('p3.jpg'), { level: 'segments' }));
    const kinds = new Set(r.results.map((h) => h.kind));
    expect(kinds).toEqual(new Set(['image', 'video']));
    expect(r.results[0].path).toBe(lib('p3.jpg'));
    expect(r.results[0].segment).toBeNull();
    const clips = r.results.filter((h) => h.kind === 'video');
    expect(new Set(clips.map((h) => h.segment!.start)).size).toBe(clips.length);
  });

  it('ends a run whose batches hold nothing new to preview (copies, moves)', async () => {
    const q = new PreviewQueue(engine.db);
    q.addBatch([]);
    await q.drained();
    await q.stop();
  });

  it('made each clip’s poster during indexing, showing that moment’s frame', async () => {
    const thumbs = await readdir(path.join(dir, 'thumbs'));
    // 24 photo thumbnails, the video's poster, and a poster per distinct clip middle.
    expect(thumbs.filter((f) => /-at\d+\.webp$/.test(f)).length).toBeGreaterThanOrEqual(3);
    const r = await service.search(
      byPhoto(lib('p3.jpg'), { level: 'segments', filters: { kinds: ['video'] } }),
    );
    const late = r.results.find((h) => h.segment!.start >= 3.5 && h.segment!.modality === 'vision')!;
    const early = r.results.find((h) => h.segment!.end <= 2.5 && h.segment!.modality === 'vision')!;
    const colour = async (start: number, end: number) => {
      const file = await resolveMedia(engine.db, late.fileId, momentVariant((start + end) / 2));
      const { dominant } = await sharp(file.path).stats();
      return dominant.b > dominant.r ? 'blue' : 'red';
    };
    expect(await colour(late.segment!.start, late.segment!.end)).toBe('blue');
    expect(await colour(early.segment!.start, early.segment!.end)).toBe('red');
  });
});

describe('inputs', () => {
  it('says whether a video term has a soundtrack, so "Audio" is offered only when it does', async () => {
    const silent = await service.embed({ modality: 'video', path: lib('red-blue.mp4') });
    expect(silent.hasAudio).toBe(false);
    await runFfmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=10:duration=2',
      '-f',
      'lavfi',
      '-i',
      'sine=duration=2',
      '-c:v',
      'libx264',
      '-c:a',
      'aac',
      '-shortest',
      path.join(dir, 'sound.mp4'),
    ]);
    expect((await service.embed({ modality: 'video', path: path.join(dir, 'sound.mp4') })).hasAudio).toBe(
      true,
    );
    expect((await service.embed({ modality: 'image', path: lib('p1.jpg') })).hasAudio).toBeUndefined();
  });
});

describe('attribution', () => {
  it('gives each term a signed, weighted share that adds up to the score', async () => {
    const q: QueryInput = {
      terms: [
        { modality: 'image', path: lib('p1.jpg'), weight: 1 },
        { modality: 'image', path: lib('p2.jpg'), weight: -0.5 },
      ],
      k: 10,
    };
    const r = await service.search(q);
    for (const h of r.results) {
      expect(h.contributions).toHaveLength(2);
      expect(h.contributions[0] + h.contributions[1]).toBeCloseTo(h.score, 1);
      // A negative weight turns a positive similarity into a push down.
      if (h.terms[1] > 0) expect(h.contributions[1]).toBeLessThan(0);
    }
    expect(API_SCHEMAS.search.response.safeParse(r).success).toBe(true);
  });
});

describe('good-match signal', () => {
  it('calls a file that finds itself a strong match, above the rest of the library', async () => {
    const r = await service.search(byPhoto(lib('p5.jpg')));
    expect(r.signal.method).toBe('background');
    expect(r.results[0]).toMatchObject({ path: lib('p5.jpg'), strong: true });
    expect(r.results[0].percentile).toBeGreaterThan(r.results[1].percentile!);
    // Strong results come first; the count says where the divider goes.
    const strong = r.results.map((h) => h.strong);
    const n = r.signal.method === 'background' ? r.signal.strongCount : -1;
    expect(strong).toEqual(strong.map((_, i) => i < n));
  });

  it('says the test pack cannot tell', async () => {
    const test = await Engine.open({ dbPath: path.join(dir, 'test-pack.db'), backend: 'quant' });
    const api = viaDispatch(coreService(test));
    await api.addRoot({ path: lib() });
    await api.index({});
    const r = await api.search(byPhoto(lib('p5.jpg')));
    await test.close();
    expect(r.signal).toMatchObject({ method: 'none', reason: expect.stringMatching(/random weights/) });
    expect(r.results.every((h) => h.strong === null && h.percentile === null)).toBe(true);
  }, 120_000);
});

describe('the background rule', () => {
  const unrelated = (n: number, seed: number) => {
    const g = gaussian(mulberry32(seed));
    return Float64Array.from({ length: n }, () => 0.2 + 0.03 * g());
  };

  it('finds no strong match among unrelated scores, whatever the library size', () => {
    for (const n of [100, 2048, 100_000]) {
      const sims = unrelated(Math.min(n, 2048), n);
      const best = Math.max(...unrelated(n, n + 1));
      expect(judgeAgainst(sims, n, 1).judge(best).strong).toBe(false);
    }
  });

  it('finds planted matches far above the background, and ranks by percentile', () => {
    const { judge, signal } = judgeAgainst(unrelated(2048, 7), 10_000, 1);
    expect(judge(0.2 + 0.03 * 8).strong).toBe(true);
    expect(judge(0.2).percentile).toBeCloseTo(0.5, 1);
    expect(judge(0.26).percentile!).toBeGreaterThan(judge(0.23).percentile!);
    expect(signal).toMatchObject({ method: 'background', sampled: 2048 });
  });
});
