import { existsSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../../app/api.js';
import { writeLibrary } from '../support/synth-media.js';
import { checksums, collect, jsonLines, runCli, startCli, tempDir, type CliResult } from '../support/cli.js';
import { copyTestPack, startPackServer, type PackServer } from '../support/pack-server.js';
import { TEST_PACK_DIR } from '../support/paths.js';

/**
 * `bindery models …` end to end: the real CLI downloads a pack from a local HTTP server, is killed
 * with SIGKILL mid-download and resumes; then packs are listed, switched and removed while the
 * previous pack keeps serving search until the library is re-embedded.
 */

const TEST_PACK = 'bindery-test-pack';
const IMAGES = 3;
let dir: string;
let cleanup: () => Promise<void>;
let db: string;
let packB: string;
let packC: string;
let server: PackServer;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('bindery-models-'));
  db = path.join(dir, 'catalogue.db');
  packB = await copyTestPack(path.join(dir, 'www', 'pack-b'), 'pack-b', 'Pack B');
  packC = await copyTestPack(path.join(dir, 'pack-c'), 'pack-c', 'Pack C');
  server = await startPackServer(packB);
  const lib = path.join(dir, 'library');
  await mkdir(lib);
  await writeLibrary(lib, { images: IMAGES }, 5);
  await ok(['add', lib]);
  await ok(['index']);
});
afterAll(async () => {
  await server?.close();
  await cleanup?.();
});

const cli = (args: string[]) => runCli(['--db', db, ...args]);

async function ok(args: string[]): Promise<CliResult> {
  const r = await cli(args);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

const packsDir = () => path.join(dir, 'packs');

async function relativeSums(folder: string): Promise<Record<string, string>> {
  const sums = await checksums(folder);
  return Object.fromEntries([...sums].map(([f, h]) => [path.relative(folder, f), h]));
}

/** Starts `models install --json` and kills it with SIGKILL once `bytes` bytes have arrived. */
async function installKilledAfter(bytes: number): Promise<CliResult> {
  const child = startCli(['--db', db, 'models', 'install', server.url, '--json']);
  const done = collect(child);
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const l of lines) {
      const p = (JSON.parse(l) as { progress?: { phase: string; bytesDone: number } }).progress;
      if (p?.phase === 'download' && p.bytesDone > bytes) child.kill('SIGKILL');
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000); // bounded, whatever happens
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}

async function models(): Promise<ModelSummary[]> {
  return (JSON.parse((await ok(['models', 'list', '--json'])).stdout) as { models: ModelSummary[] }).models;
}

async function status(): Promise<{ model: { id: string }; servingModel: string }> {
  return JSON.parse((await ok(['status', '--json'])).stdout);
}

describe('bindery models', () => {
  it('resumes a download after the CLI was killed with SIGKILL', async () => {
    server.faults = { bytesPerSec: 300_000 };
    const killed = await installKilledAfter(200_000);
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(path.join(packsDir(), 'pack-b'))).toBe(false);
    const partial = path.join(packsDir(), '.partial', 'pack-b@1.0.0');
    const kept = await Promise.all(
      (await readdir(partial)).map(async (f) => (await stat(path.join(partial, f))).size),
    );
    expect(kept.some((n) => n > 0)).toBe(true);

    server.faults = {};
    server.log.length = 0;
    const r = await ok(['models', 'install', server.url, '--json']);
    const lines = jsonLines(r.stdout) as { progress?: { phase: string }; installed?: ModelSummary }[];
    expect(lines.some((l) => l.progress?.phase === 'download')).toBe(true);
    expect(lines.at(-1)!.installed).toMatchObject({
      id: 'pack-b',
      name: 'Pack B',
      active: false,
      testPack: true,
    });
    const resumed = server.log.filter((e) => /^bytes=[1-9]\d*-$/.test(e.range ?? ''));
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed[0].status).toBe(206);
    expect(await relativeSums(path.join(packsDir(), 'pack-b'))).toEqual(await relativeSums(packB));
  });

  it('imports a pack from a local folder', async () => {
    const r = await ok(['models', 'install', packC]);
    expect(r.stdout).toMatch(/installed Pack C 1\.0\.0 \(pack-c\)/);
    expect(r.stdout).toMatch(/bindery models use pack-c/);
    expect(await relativeSums(path.join(packsDir(), 'pack-c'))).toEqual(await relativeSums(packC));
  });

  it('lists the packs with their licence, test flag and embedding progress', async () => {
    const list = await models();
    expect(list.map((m) => [m.id, m.active, m.embeddedContents, m.totalContents])).toEqual([
      [TEST_PACK, true, IMAGES, IMAGES],
      ['pack-b', false, 0, IMAGES],
      ['pack-c', false, 0, IMAGES],
    ]);
    expect(list.every((m) => m.licence === 'MIT' && m.testPack)).toBe(true);
    const human = (await ok(['models', 'list'])).stdout;
    expect(human).toMatch(/^\* bindery-test-pack .*3\/3 embedded/m);
    expect(human).toMatch(/^ {2}pack-b .*0\/3 embedded .*\[test pack/m);
  });

  it('switches packs: the old one serves search until the next index has re-embedded the library', async () => {
    const r = await ok(['models', 'use', 'pack-b']);
    expect(r.stdout).toMatch(/active pack: pack-b/);
    expect(r.stdout).toMatch(
      /next `bindery index` re-embeds the library .*search keeps using bindery-test-pack/,
    );
    expect(await status()).toMatchObject({ model: { id: 'pack-b' }, servingModel: TEST_PACK });

    for (const id of ['pack-b', TEST_PACK]) {
      const refused = await cli(['models', 'remove', id]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(new RegExp(`^bindery: ${id} is in use; switch to another pack first`));
    }

    await ok(['index']);
    expect(await status()).toMatchObject({ model: { id: 'pack-b' }, servingModel: 'pack-b' });
    expect((await models()).find((m) => m.id === 'pack-b')).toMatchObject({
      active: true,
      embeddedContents: IMAGES,
    });
  });

  it('removes packs that are not in use, deleting only folders it installed', async () => {
    const r = await ok(['models', 'remove', 'pack-c', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ removed: 'pack-c' });
    expect(existsSync(path.join(packsDir(), 'pack-c'))).toBe(false);
    await ok(['models', 'remove', TEST_PACK]);
    expect(existsSync(path.join(TEST_PACK_DIR, 'pack.json'))).toBe(true); // the bundled pack stays
    expect((await models()).map((m) => m.id)).toEqual(['pack-b']);
    const missing = await cli(['models', 'remove', 'pack-c']);
    expect(missing.stderr).toMatch(/^bindery: no installed model pack with id pack-c$/m);
  });

  it('fails an install in one line naming the URL and status', async () => {
    const r = await cli(['models', 'install', server.urlOf('missing/pack.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`bindery: GET ${server.urlOf('missing/pack.json')}: HTTP 404 Not Found`);
  });
});
