import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppApi, ModelSummary } from '../../app/api.js';
import { viaDispatch } from '../../app/dispatch.js';
import { msPerSegment } from '../../main/core/api/reembed.js';
import { coreService } from '../../main/core/api/service.js';
import { recentEmbeddings } from '../../main/core/catalogue/pace.js';
import { Engine } from '../../main/core/engine/engine.js';
import { runFfmpeg } from '../../main/core/codecs/ffmpeg.js';
import { copyTestPack } from '../support/pack-server.js';
import { writeImage, writeTone } from '../support/synth-media.js';

/**
 * What the model-packs dialog asks with (issue 15, item 5): a pack's size on disk and whether
 * removing it frees it, and what using it would re-embed — the contents it lacks, by kind, and a
 * time at the pace the catalogue recorded — on a real catalogue indexed by the test pack.
 */

const TEST_PACK = 'bindery-test-pack';
let dir: string;
let engine: Engine;
let api: AppApi;
const find = async (id: string): Promise<ModelSummary> => (await api.listModels()).find((m) => m.id === id)!;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-reembed-'));
  process.env.BINDERY_HOME = path.join(dir, 'home');
  const lib = path.join(dir, 'library');
  await mkdir(lib);
  for (let i = 1; i <= 4; i++) await writeImage(path.join(lib, `p${i}.jpg`), i, 96, 64);
  await writeTone(path.join(lib, 'tone.wav'), 7, 3);
  // prettier-ignore
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=15:duration=4', '-c:v', 'libx264',
    path.join(lib, 'clip.mp4')]);
  engine = await Engine.open({ dbPath: path.join(dir, 'catalogue.db'), backend: 'quant' });
  api = viaDispatch(coreService(engine));
  await api.addRoot({ path: lib });
  expect(await api.index({})).toMatchObject({ indexed: 6, failed: 0 });
  const packB = await copyTestPack(path.join(dir, 'elsewhere', 'pack-b'), 'pack-b', 'Pack B');
  await api.installModel({ source: packB, skipSelftest: true });
}, 180_000);

afterAll(async () => {
  await engine?.close();
  delete process.env.BINDERY_HOME;
  await rm(dir, { recursive: true, force: true });
});

describe('the pace of embedding', () => {
  const at = (t: number, segments = 1) => ({ t, segments });

  it('is the time between commits within a run, per segment committed after its first', () => {
    expect(msPerSegment([at(0), at(1000, 4), at(1000, 1), at(3000, 5)])).toBe(300);
  });

  it('leaves out the pause between two runs', () => {
    expect(msPerSegment([at(0), at(1000, 10), at(1_000_000), at(1_002_000, 20)])).toBe(100);
  });

  it('says nothing from one batch, or from too little time', () => {
    expect(msPerSegment([])).toBeNull();
    expect(msPerSegment([at(5, 3), at(5, 3)])).toBeNull();
    expect(msPerSegment([at(0), at(100, 3)])).toBeNull();
  });
});

describe('what the packs dialog asks with', () => {
  it('counts what another pack would re-embed, by kind, with a time at the recorded pace', async () => {
    const b = await find('pack-b');
    expect(b.reembed).toMatchObject({ contents: 6, byKind: { image: 4, audio: 1, video: 1 } });
    expect(b.embeddedContents).toBe(0);
    // pack-b has no record of its own, so the active pack's pace stands in for it.
    const pace = msPerSegment(recentEmbeddings(engine.db, TEST_PACK, 2000));
    const segments = engine.db.prepare('SELECT COUNT(*) FROM segments').pluck().get() as number;
    expect(b.reembed.seconds).toBe(pace === null ? null : Math.round((pace * segments) / 1000));
    expect(b.reembed.paceOf).toBe(pace === null ? null : TEST_PACK);
    expect((await find(TEST_PACK)).reembed).toMatchObject({ contents: 0, seconds: 0 });
  });

  it('states a pack’s size on disk, and whether removing it frees that', async () => {
    const b = await find('pack-b');
    const installed = path.join(dir, 'packs', 'pack-b');
    expect(b.dir).toBe(installed);
    expect(b.removeFreesDisk).toBe(true);
    // Every file its manifest lists, as it lies on disk (pack.json itself is not counted).
    const listed = (await readdir(installed)).filter((f) => f !== 'pack.json');
    const sizes = await Promise.all(listed.map(async (f) => (await stat(path.join(installed, f))).size));
    expect(b.diskBytes).toBe(sizes.reduce((a, n) => a + n, 0));
    // The bundled test pack is used where it lies: removing it would delete nothing.
    expect((await find(TEST_PACK)).removeFreesDisk).toBe(false);
  });

  it('has nothing left to re-embed once the other pack caught up', async () => {
    await api.useModel({ id: 'pack-b' });
    await api.index({ skipScan: true });
    const b = await find('pack-b');
    expect(b.reembed).toMatchObject({ contents: 0, seconds: 0 });
    expect(b.embeddedContents).toBe(6);
  });
});
