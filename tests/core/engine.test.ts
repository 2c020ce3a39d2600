import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryInput } from '../../app/query.js';
import { Engine } from '../../main/core/engine/engine.js';
import { runFfmpeg } from '../../main/core/codecs/ffmpeg.js';
import { API_SCHEMAS, type AppApi } from '../../app/api.js';
import { viaDispatch } from '../../app/dispatch.js';
import { coreService } from '../../main/core/api/service.js';
import { copyTestPack } from '../support/pack-server.js';

/**
 * The engine in-process on a temporary catalogue (no CLI, no transport): search grouping and
 * filters, status, removing a folder, and pack promotion. The test pack's weights are random, so
 * nothing here relies on meaning: only on a file finding itself (the same vector) first.
 */

let dir: string;
let engine: Engine;
let service: AppApi;
const lib = (...p: string[]) => path.join(dir, 'library', ...p);

async function photo(file: string, seed: number): Promise<void> {
  const raw = Buffer.alloc(96 * 64 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * (seed * 31 + 7) + seed * 97) % 251;
  await sharp(raw, { raw: { width: 96, height: 64, channels: 3 } })
    .jpeg()
    .toFile(file);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-core-'));
  process.env.BINDERY_HOME = path.join(dir, 'home');
  await mkdir(lib('a'), { recursive: true });
  await mkdir(lib('b'), { recursive: true });
  await Promise.all([1, 2, 3].map((i) => photo(lib('a', `p${i}.jpg`), i)));
  await copyFile(lib('a', 'p1.jpg'), lib('b', 'p1-copy.jpg'));
  // prettier-ignore
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=15:duration=5', '-f', 'lavfi',
    '-i', 'sine=duration=5', '-c:v', 'libx264', '-c:a', 'aac', '-shortest', lib('b', 'clip.mp4')]);
  engine = await Engine.open({ dbPath: path.join(dir, 'catalogue.db'), backend: 'quant' });
  service = viaDispatch(coreService(engine));
  await service.addRoot({ path: lib('a') });
  await service.addRoot({ path: lib('b') });
  const summary = await service.index({});
  expect(summary).toMatchObject({ indexed: 5, failed: 0 });
}, 120_000);

afterAll(async () => {
  await engine?.close();
  delete process.env.BINDERY_HOME;
  await rm(dir, { recursive: true, force: true });
});

const byFile = (file: string, extra: Partial<QueryInput> = {}): QueryInput => ({
  terms: [{ modality: 'image', path: file, weight: 1 }],
  k: 10,
  ...extra,
});

describe('search in-process', () => {
  it('finds a photo first, and its byte-identical copy as one result with a copy', async () => {
    const { results } = await service.search(byFile(lib('a', 'p1.jpg')));
    expect(results[0].score).toBeGreaterThan(0.999);
    expect([lib('a', 'p1.jpg'), lib('b', 'p1-copy.jpg')]).toContain(results[0].path);
    expect(results[0].copies).toBe(1);
    expect(new Set(results.map((r) => r.fileId)).size).toBe(results.length);
  });

  it('groups a video’s clips into one file result; the segments level lists its clips', async () => {
    const files = await service.search(byFile(lib('a', 'p2.jpg'), { filters: { kinds: ['video'] } }));
    expect(files.results).toHaveLength(1);
    expect(files.results[0].path).toBe(lib('b', 'clip.mp4'));
    const clips = await service.search(
      byFile(lib('a', 'p2.jpg'), { filters: { kinds: ['video'] }, level: 'segments' }),
    );
    expect(clips.results.length).toBeGreaterThan(1);
    for (const r of clips.results) expect(r.segment).toMatchObject({ start: expect.any(Number) });
  });

  it('filters by kind, folder and path prefix in the catalogue', async () => {
    const roots = await service.listRoots();
    const rootB = roots.find((r) => r.path === lib('b'))!.id;
    const inB = await service.search(byFile(lib('a', 'p1.jpg'), { filters: { roots: [rootB] } }));
    expect(inB.results.map((r) => r.path).sort()).toEqual([lib('b', 'clip.mp4'), lib('b', 'p1-copy.jpg')]);
    const photos = await service.search(byFile(lib('a', 'p3.jpg'), { filters: { kinds: ['image'] } }));
    expect(photos.results.every((r) => r.kind === 'image')).toBe(true);
    expect(photos.results).toHaveLength(3); // p1 and its copy are one result
    const prefix = await service.search(byFile(lib('a', 'p3.jpg'), { filters: { pathPrefix: lib('a') } }));
    expect(prefix.results.every((r) => r.path.startsWith(lib('a')))).toBe(true);
    // The copy outside the prefix does not count as a copy there.
    expect(prefix.results.find((r) => r.path === lib('a', 'p1.jpg'))?.copies).toBe(0);
  });
});

describe('status and folders in-process', () => {
  it('counts files by kind and status', async () => {
    const st = await service.status();
    expect(st.files).toEqual({ pending: 0, indexed: 5, failed: 0, missing: 0 });
    expect(st.byKind.image.indexed).toBe(4);
    expect(st.byKind.video.indexed).toBe(1);
    expect(st.queued).toBe(0);
    expect(st.vectors.count).toBe(st.segments);
    // What a query may hold follows the serving pack (here the only one).
    expect(st.servingInputKinds).toEqual(st.model.inputKinds);
  });

  it('removing a folder takes its only-there segments out of the index', async () => {
    const before = engine.serving.index.count();
    const rootB = (await service.listRoots()).find((r) => r.path === lib('b'))!.id;
    expect(await service.removeRoot({ id: rootB })).toEqual({ removed: 2 });
    const st = await service.status();
    expect(st.files.indexed).toBe(3);
    // The video's segments went; p1's stayed (its other path is still in folder a).
    expect(engine.serving.index.count()).toBe(st.segments);
    expect(st.segments).toBeLessThan(before);
    const { results } = await service.search(byFile(lib('a', 'p1.jpg')));
    expect(results.map((r) => r.path).sort()).toEqual([
      lib('a', 'p1.jpg'),
      lib('a', 'p2.jpg'),
      lib('a', 'p3.jpg'),
    ]);
    await service.addRoot({ path: lib('b') });
    await service.index({});
  });
});

describe('pack promotion in-process', () => {
  it('a newly chosen pack serves only once it has embedded the whole library', async () => {
    const packB = await copyTestPack(path.join(dir, 'pack-b'), 'pack-b', 'Pack B');
    await engine.close();
    engine = await Engine.open({ dbPath: path.join(dir, 'catalogue.db'), backend: 'quant', packDir: packB });
    service = viaDispatch(coreService(engine));
    let st = await service.status();
    expect(st.model.id).toBe('pack-b');
    expect(st.servingModel).toBe('bindery-test-pack');
    expect(st.queued).toBeGreaterThan(0);
    // Search keeps answering from the old pack meanwhile.
    expect((await service.search(byFile(lib('a', 'p2.jpg')))).model).toBe('bindery-test-pack');
    await service.index({ skipScan: true });
    st = await service.status();
    expect(st.servingModel).toBe('pack-b');
    expect(st.vectors.count).toBe(st.segments);
    const after = await service.search(byFile(lib('a', 'p2.jpg')));
    expect(after.model).toBe('pack-b');
    expect(after.results[0].path).toBe(lib('a', 'p2.jpg'));
  });
});

describe('requests as dispatch leaves them', () => {
  it('keeps an unset install precision unset, so a catalogue entry installs in its own', () => {
    const parsed = API_SCHEMAS.installModel.request.parse({ source: 'imagebind-huge' });
    expect(parsed.precision).toBeUndefined();
    expect(API_SCHEMAS.installModel.request.parse({ source: 'x.pth', precision: 'int8' }).precision).toBe(
      'int8',
    );
  });
});
