import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AvailableModels, InstallResult, ModelSummary } from '../../app/api.js';
import { convertCheckpoint } from '../../main/core/packs/convert/convert.js';
import { loadPack } from '../../main/core/packs/pack.js';
import { EncoderRuntime } from '../../main/core/encoders/runtime.js';
import { readmeMatrices } from '../../main/core/packs/selftest.js';
import { SMALL_GOLDEN_DIR } from '../../models/converter-check/golden.js';
import { collect, jsonLines, runCli, startCli, tempDir, type CliResult } from '../support/cli.js';
import { startPackServer, type PackServer } from '../support/pack-server.js';
import { FIXTURES_DIR } from '../support/paths.js';

/**
 * `bindery models install imagebind-huge-fp16` end to end, against a local HTTP server standing in
 * for the official hosts (a mirror serving the checkpoint at imagebind/imagebind_huge.pth and the
 * repository's example files under facebookresearch/ImageBind/main/.assets/). The checkpoint it
 * serves is the small random one of the golden fixtures, so the self-test must fail.
 */

const CHECKPOINT_PATH = 'imagebind/imagebind_huge.pth';
const ASSETS = 'facebookresearch/ImageBind/main/.assets';
let dir: string;
let cleanup: () => Promise<void>;
let server: PackServer;
let db: string;
let home: string;

async function serveMirror(root: string): Promise<PackServer> {
  await mkdir(path.join(root, 'imagebind'), { recursive: true });
  await copyFile(path.join(SMALL_GOLDEN_DIR, 'checkpoint.pth'), path.join(root, CHECKPOINT_PATH));
  await cp(FIXTURES_DIR, path.join(root, ASSETS), { recursive: true });
  return startPackServer(root);
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('bindery-oneclick-'));
  server = await serveMirror(path.join(dir, 'www'));
});
afterAll(async () => {
  await server?.close();
  await cleanup?.();
});

let run = 0;
beforeEach(async () => {
  // A fresh catalogue and home folder per test: no download, pack or checkpoint carries over.
  run++;
  db = path.join(dir, `cat-${run}`, 'catalogue.db');
  home = path.join(dir, `home-${run}`);
  await mkdir(path.dirname(db), { recursive: true });
  await mkdir(home, { recursive: true });
  server.faults = {};
  server.log.length = 0;
});

const mirror = () => server.urlOf('');
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: home,
  BINDERY_MODEL_MIRROR: mirror(),
  ...extra,
});
const cli = (args: string[], e = env()) => runCli(['--db', db, ...args], e);
const packsDir = () => path.join(path.dirname(db), 'packs');

async function listModels(): Promise<ModelSummary[]> {
  return (JSON.parse((await cli(['models', 'list', '--json'])).stdout) as { models: ModelSummary[] }).models;
}

function installed(r: CliResult): InstallResult {
  return (jsonLines(r.stdout).at(-1) as { installed: InstallResult }).installed;
}

describe('bindery models available', () => {
  it('lists ImageBind huge in fp16 and fp32 with its non-commercial licence, size and source', async () => {
    const r = await cli(['models', 'available', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout) as AvailableModels;
    expect(a.mirror).toBe(mirror());
    expect(a.models.map((m) => m.id)).toEqual([
      'imagebind-huge-fp16',
      'imagebind-huge-fp32',
      'imagebind-huge-int8',
      'imagebind-huge-q8',
    ]);
    // One is recommended for this computer: int8 where no GPU provider works (recommendedPrecision).
    expect(a.models.filter((x) => x.recommended)).toHaveLength(1);
    const m = a.models[0];
    expect(m.licence.summary).toBe('Non-commercial use only');
    expect(m.licence.terms.map((t) => t.name)).toEqual(['CC-BY-NC 4.0', 'CC BY-NC-SA 4.0']);
    expect(m.officialUrl).toBe('https://dl.fbaipublicfiles.com/imagebind/imagebind_huge.pth');
    expect(m.sourceUrl).toBe(server.urlOf(CHECKPOINT_PATH));
    expect(m.diskBytes).toBeGreaterThan(m.downloadBytes);
    const text = await cli(['models', 'available'], { HOME: home });
    expect(text.stdout).toMatch(/NON-COMMERCIAL USE ONLY/);
    expect(text.stdout).toMatch(/https:\/\/dl\.fbaipublicfiles\.com\/imagebind\/imagebind_huge\.pth/);
  });
});

describe('bindery models install imagebind-huge-fp16', () => {
  it('downloads nothing before the licence is accepted, and says why', async () => {
    const r = await cli(['models', 'install', 'imagebind-huge-fp16']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/non-commercial use only.*--accept-licence.*Nothing was downloaded/);
    expect(server.log).toEqual([]);
  });

  it('resumes after kill -9 mid-download; random weights then fail the self-test and stay inactive', async () => {
    server.faults = { bytesPerSec: 2_000_000 };
    const child = startCli(
      ['--db', db, 'models', 'install', 'imagebind-huge-fp16', '--accept-licence', '--json'],
      env(),
    );
    const done = collect(child);
    let seen = 0;
    child.stdout!.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n').filter(Boolean)) {
        const p = (JSON.parse(l) as { progress?: { phase: string; bytesDone: number } }).progress;
        if (p?.phase === 'download') seen = p.bytesDone;
        if (seen > 1_000_000) child.kill('SIGKILL');
      }
    });
    expect((await done).signal).toBe('SIGKILL');
    const partial = path.join(packsDir(), '.downloads', 'imagebind_huge.pth.partial');
    const kept = (await stat(partial)).size;
    expect(kept).toBeGreaterThan(500_000);

    server.faults = {};
    server.log.length = 0;
    const r = await cli(['models', 'install', 'imagebind-huge-fp16', '--accept-licence', '--json']);
    expect(r.code).toBe(1);
    expect(server.log.find((e) => e.path === CHECKPOINT_PATH)?.range).toBe(`bytes=${kept}-`);
    const progress = jsonLines(r.stdout).map((l) => (l as { progress?: { phase: string } }).progress?.phase);
    expect(progress).toEqual(expect.arrayContaining(['download', 'convert', 'selftest', 'done']));
    const pack = installed(r);
    expect(pack.verified).toBe(false);
    expect(pack.active).toBe(false);
    expect(pack.selftest).toMatch(/differs from ImageBind's README by/);
    expect(r.stderr).toMatch(/failed its self-test.*installed but not active/);
    const models = await listModels();
    expect(models.find((m) => m.active)?.id).toBe('bindery-test-pack');
    // The checkpoint is kept when the self-test fails (a retry needs no new download).
    expect(existsSync(path.join(packsDir(), '.downloads', 'imagebind_huge.pth'))).toBe(true);
  });

  it('with --skip-selftest installs it, marked unverified', async () => {
    const r = await cli([
      'models',
      'install',
      'imagebind-huge-fp16',
      '--accept-licence',
      '--skip-selftest',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const pack = installed(r);
    expect(pack.verified).toBe(false);
    expect(pack.selftest).toMatch(/skipped/);
    expect(pack.licence).toMatch(/CC-BY-NC 4.0 \/ CC BY-NC-SA 4.0 — non-commercial use only/);
    expect(pack.licenceAcceptedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const text = await cli(['models', 'list']);
    expect(text.stdout).toMatch(new RegExp(`${pack.id}.*UNVERIFIED`));
  });

  it('refuses a truncated download and installs nothing', async () => {
    server.faults = { drop: { file: CHECKPOINT_PATH, after: 3_000_000 } };
    const r = await cli(['models', 'install', 'imagebind-huge-fp16', '--accept-licence']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/download interrupted at \d+ of \d+ bytes.*run the install again to resume/);
    expect((await listModels()).map((m) => m.id)).toEqual(['bindery-test-pack']);
  });

  it('refuses a checkpoint that arrives whole but is not a whole checkpoint', async () => {
    const www = path.join(dir, `www-cut-${run}`);
    const cut = await serveMirror(www);
    try {
      const full = await stat(path.join(www, CHECKPOINT_PATH));
      const { truncate } = await import('node:fs/promises');
      await truncate(path.join(www, CHECKPOINT_PATH), Math.floor(full.size / 2));
      const r = await cli(
        ['models', 'install', 'imagebind-huge-fp16', '--accept-licence'],
        env({ BINDERY_MODEL_MIRROR: cut.urlOf('') }),
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not a readable zip archive|truncated/);
      expect((await listModels()).map((m) => m.id)).toEqual(['bindery-test-pack']);
      expect(await readdir(path.join(packsDir(), '.partial'))).toEqual([]);
    } finally {
      await cut.close();
    }
  });

  it('honours the mirror setting when no environment variable is set', async () => {
    const noEnv = { HOME: home, BINDERY_MODEL_MIRROR: '' };
    const set = await cli(['models', 'mirror', mirror(), '--json'], noEnv);
    expect(JSON.parse(set.stdout)).toEqual({ mirror: mirror() });
    const r = await cli(
      ['models', 'install', 'imagebind-huge-fp16', '--accept-licence', '--skip-selftest'],
      noEnv,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(server.log.some((e) => e.path === CHECKPOINT_PATH)).toBe(true);
    const bad = await cli(['models', 'mirror', 'ftp://example.org/'], noEnv);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/a mirror must be an http\(s\) URL/);
  });

  it('uses a checkpoint the official code already downloaded, without downloading', async () => {
    await mkdir(path.join(home, '.checkpoints'), { recursive: true });
    await copyFile(
      path.join(SMALL_GOLDEN_DIR, 'checkpoint.pth'),
      path.join(home, '.checkpoints', 'imagebind_huge.pth'),
    );
    const a = JSON.parse((await cli(['models', 'available', '--json'])).stdout) as AvailableModels;
    expect(a.models[0].localCheckpoint).toBe(path.join(home, '.checkpoints', 'imagebind_huge.pth'));
    expect(a.models[0].downloadBytes).toBe(0);
    const r = await cli(['models', 'install', 'imagebind-huge-fp16', '--accept-licence', '--skip-selftest']);
    expect(r.code, r.stderr).toBe(0);
    expect(server.log.filter((e) => e.path === CHECKPOINT_PATH)).toEqual([]);
    // Someone else's file is never deleted.
    expect(existsSync(path.join(home, '.checkpoints', 'imagebind_huge.pth'))).toBe(true);
  });

  it('a pack that passes its self-test is verified and made active at once', async () => {
    // No real weights exist here, so the pack states the matrices its own weights give (as a
    // fine-tuned pack would); the self-test then checks them like the README's.
    const packDir = path.join(dir, `stated-${run}`);
    await mkdir(packDir);
    const conv = await convertCheckpoint(path.join(SMALL_GOLDEN_DIR, 'checkpoint.pth'), {
      outDir: packDir,
      precision: 'fp32',
    });
    await writeFile(path.join(packDir, 'pack.json'), JSON.stringify(conv.manifest));
    const pack = await loadPack(packDir);
    const runtime = new EncoderRuntime(pack, { providers: ['cpu'] });
    const expected = await readmeMatrices(pack, runtime, FIXTURES_DIR).finally(() => runtime.close());
    await writeFile(
      path.join(packDir, 'pack.json'),
      JSON.stringify({ ...conv.manifest, selftest: { expected } }),
    );
    const r = await cli(['models', 'install', packDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const got = installed(r);
    expect(got.verified).toBe(true);
    expect(got.selftest).toMatch(/the matrices the pack states reproduced/);
    expect(got.active).toBe(true);
    // The example files came from the mirror, where the official repository keeps them.
    expect(server.log.filter((e) => e.path.startsWith(ASSETS)).length).toBe(6);
    const status = JSON.parse((await cli(['status', '--json'])).stdout) as {
      model: { id: string; verified: boolean };
    };
    expect(status.model).toMatchObject({ id: got.id, verified: true });
  });
});
