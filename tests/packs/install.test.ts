import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ModelProgress } from '../../app/api.js';
import type { PackManifest } from '../../app/pack.js';
import { installPack, type InstallOptions } from '../../main/core/packs/install.js';
import { finishInterruptedSwap } from '../../main/core/packs/staging.js';
import { loadPack } from '../../main/core/packs/pack.js';
import { checksums, tempDir } from '../support/cli.js';
import { copyTestPack, startPackServer, type PackServer } from '../support/pack-server.js';

/**
 * Model-pack installation against a real HTTP server on 127.0.0.1 that serves a copy of the test
 * pack and misbehaves on demand. Every test installs into its own packs folder.
 */

const ID = 'net-pack';
let root: string;
let cleanup: () => Promise<void>;
let src: string;
let server: PackServer;
/** Serves edited copies of the pack, each in its own folder. */
let edits: PackServer;
let packsDir: string;
let caseNo = 0;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('bindery-install-'));
  src = await copyTestPack(path.join(root, 'served'), ID, 'Network test pack');
  server = await startPackServer(src);
  edits = await startPackServer(path.join(root, 'edits'));
});
afterAll(async () => {
  await server?.close();
  await edits?.close();
  await cleanup?.();
});
beforeEach(async () => {
  packsDir = path.join(root, `packs-${++caseNo}`);
  await mkdir(packsDir);
  server.faults = {};
  server.log.length = 0;
  edits.log.length = 0;
});

/** Runs an install and records its progress events. */
async function install(source: string, extra: Partial<InstallOptions> = {}) {
  const events: ModelProgress[] = [];
  const run = installPack(source, {
    packsDir,
    onProgress: (p) => events.push(p),
    fetchTimeoutMs: 10_000,
    ...extra,
  });
  return { run, events };
}

const installed = () => path.join(packsDir, ID);
const partialDir = () => path.join(packsDir, '.partial', `${ID}@1.0.0`);

/** sha256 per file, keyed by the path relative to its folder. */
async function contents(dir: string): Promise<Record<string, string>> {
  const sums = await checksums(dir);
  return Object.fromEntries([...sums].map(([f, h]) => [path.relative(dir, f), h]));
}

async function expectIdenticalInstall(): Promise<void> {
  expect(await contents(installed())).toEqual(await contents(src));
  const pack = await loadPack(installed(), { verifyHashes: true });
  expect(pack.manifest.id).toBe(ID);
  expect(existsSync(partialDir())).toBe(false);
}

/** Serves a copy of the pack whose pack.json `edit` changed (or replaced), at <name>/pack.json. */
async function servedManifest(name: string, edit: (m: PackManifest) => unknown): Promise<string> {
  const dir = await copyTestPack(path.join(root, 'edits', name), ID);
  const m = JSON.parse(await readFile(path.join(dir, 'pack.json'), 'utf8')) as PackManifest;
  const body = edit(m) ?? m;
  await writeFile(path.join(dir, 'pack.json'), typeof body === 'string' ? body : JSON.stringify(body));
  return edits.urlOf(`${name}/pack.json`);
}

const requestsFor = (file: string) => server.log.filter((r) => r.path === file);

describe('installPack from a URL', () => {
  it('downloads, reports progress, verifies hashes and installs a byte-identical pack', async () => {
    const { run, events } = await install(server.url);
    const result = await run;
    expect(result.dir).toBe(installed());
    expect(result.manifest.id).toBe(ID);
    await expectIdenticalInstall();

    const phases = new Set(events.map((e) => e.phase));
    expect([...phases]).toEqual(expect.arrayContaining(['download', 'verify', 'install', 'done']));
    expect(events.at(-1)!.phase).toBe('done');
    expect(events.every((e) => e.source === server.url)).toBe(true);
    const manifest = JSON.parse(await readFile(path.join(src, 'pack.json'), 'utf8'));
    const onnx = Object.values(manifest.encoders as Record<string, { onnx: { bytes: number } }>);
    const total = onnx.reduce((n, e) => n + e.onnx.bytes, manifest.tokenizer.bytes as number);
    const downloads = events.filter((e) => e.phase === 'download');
    expect(downloads.every((e) => e.bytesTotal === total)).toBe(true);
    const done = downloads.map((e) => e.bytesDone);
    expect(done).toEqual([...done].sort((a, b) => a - b)); // never goes back
    // One verify event per file, each naming it with its sha256.
    const verified = events.filter((e) => e.phase === 'verify' && e.message?.startsWith('sha256'));
    expect(verified.map((e) => e.file).sort()).toEqual(
      Object.keys(await contents(src))
        .filter((f) => f !== 'pack.json')
        .sort(),
    );
  });

  it('resumes a transfer dropped mid-file with a Range request and ends with an identical pack', async () => {
    server.faults = { drop: { file: 'text.onnx', after: 100_000 } };
    const first = await install(server.url);
    await expect(first.run).rejects.toThrow(/text\.onnx: download interrupted at \d+ of 282343 bytes/);
    expect(existsSync(installed())).toBe(false);
    const kept = (await stat(path.join(partialDir(), 'text.onnx'))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(100_000);

    server.log.length = 0;
    const second = await install(server.url);
    await second.run;
    expect(requestsFor('text.onnx')).toEqual([{ path: 'text.onnx', range: `bytes=${kept}-`, status: 206 }]);
    // Files completed before the drop are not fetched again.
    expect(requestsFor('bpe_simple_vocab_16e6.txt.gz')).toEqual([]);
    // Progress counts the bytes already on disk.
    const firstDownload = second.events.find((e) => e.phase === 'download')!;
    expect(firstDownload.file).toBe('text.onnx');
    expect(firstDownload.bytesDone).toBeGreaterThan(1356917 + 183477 + kept - 1);
    await expectIdenticalInstall();
  });

  it('starts a file over when the server ignores Range', async () => {
    server.faults = { drop: { file: 'audio.onnx', after: 50_000 } };
    await expect((await install(server.url)).run).rejects.toThrow(/audio\.onnx: download interrupted/);
    server.faults = { ignoreRange: true };
    server.log.length = 0;
    await (
      await install(server.url)
    ).run;
    expect(requestsFor('audio.onnx')).toEqual([
      { path: 'audio.onnx', range: expect.stringMatching(/^bytes=\d+-$/), status: 200 },
    ]);
    await expectIdenticalInstall();
  });

  it('rejects a corrupted download, installs nothing and deletes the bad partial file', async () => {
    server.faults = { corrupt: { file: 'text.onnx', offset: 1234 } };
    await expect((await install(server.url)).run).rejects.toThrow(
      /^text\.onnx: sha256 mismatch \(expected b1d425d7[0-9a-f]{56}, got [0-9a-f]{64}\); the download was corrupted — run the install again$/,
    );
    expect(existsSync(installed())).toBe(false);
    expect(existsSync(path.join(partialDir(), 'text.onnx'))).toBe(false);
    expect(existsSync(path.join(partialDir(), 'vision.onnx'))).toBe(true); // verified files stay for the rerun

    server.faults = {};
    await (
      await install(server.url)
    ).run;
    await expectIdenticalInstall();
  });

  it('names the URL and the status of a 404', async () => {
    server.faults = { missing: ['vision.onnx'] };
    const { run, events } = await install(server.url);
    await expect(run).rejects.toThrow(`GET ${server.urlOf('vision.onnx')}: HTTP 404 Not Found`);
    expect(events.at(-1)).toMatchObject({ phase: 'error', message: expect.stringMatching(/404/) });
    await expect((await install(server.urlOf('nowhere/pack.json'))).run).rejects.toThrow(
      `GET ${server.urlOf('nowhere/pack.json')}: HTTP 404 Not Found`,
    );
    expect(existsSync(installed())).toBe(false);
  });

  it('reports a connection refused', async () => {
    const gone = await startPackServer(src);
    const url = gone.url;
    await gone.close();
    await expect((await install(url)).run).rejects.toThrow(
      /^GET http:\/\/127\.0\.0\.1:\d+\/pack\.json: connection refused/,
    );
  });

  it('gives up on a stalled transfer after fetchTimeoutMs', async () => {
    server.faults = { bytesPerSec: 1 };
    await expect((await install(server.url, { fetchTimeoutMs: 500 })).run).rejects.toThrow(
      /no data for 0\.5 s/,
    );
  });

  it('rejects a malformed pack.json in one line naming the field', async () => {
    const broken = await servedManifest('broken', () => '{ "format": 1, ');
    await expect((await install(broken)).run).rejects.toThrow(/broken\/pack\.json: invalid JSON/);
    const noDim = await servedManifest('nodim', (m) => {
      delete (m as Partial<PackManifest>).embeddingDim;
      m.encoders.text!.onnx.sha256 = 'XYZ';
    });
    const err = await (await install(noDim)).run.catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'PackError', field: 'embeddingDim' });
    expect((err as Error).message).toMatch(
      /embeddingDim: .*; encoders\.text\.onnx\.sha256: sha256 must be 64/,
    );
    expect((err as Error).message).not.toContain('\n');
  });

  it('refuses file names that leave the pack folder', async () => {
    const escape = await servedManifest('escape', (m) => {
      m.tokenizer!.file = '../../outside.txt';
    });
    await expect((await install(escape)).run).rejects.toThrow(
      /tokenizer\.file: file must be a plain relative path/,
    );
    const clobber = await servedManifest('clobber', (m) => {
      m.encoders.imu!.onnx.file = 'pack.json';
    });
    await expect((await install(clobber)).run).rejects.toThrow(
      /encoders\.imu\.onnx\.file: "pack\.json" is not a file inside the pack folder/,
    );
    expect(server.log.filter((r) => r.path !== 'escape/pack.json' && r.path !== 'clobber/pack.json')).toEqual(
      [],
    );
  });

  it('checks the free disk space before downloading', async () => {
    const huge = await servedManifest('huge', (m) => {
      m.encoders.vision!.onnx.bytes = 1e15;
    });
    await expect((await install(huge)).run).rejects.toThrow(
      /^not enough disk space in .*: the pack needs 1000\.0 TB more \(plus 67\.1 MB to spare\) but only .* is free$/,
    );
    expect(edits.log.map((r) => r.path)).toEqual(['huge/pack.json']);
  });

  it('rejects a source whose file size differs from the manifest', async () => {
    const wrong = await servedManifest('wrongsize', (m) => {
      m.encoders.imu!.onnx.bytes += 10;
    });
    await expect((await install(wrong)).run).rejects.toThrow(
      /^imu\.onnx: the file at the source is 164048 bytes but pack\.json says 164058$/,
    );
    expect(existsSync(installed())).toBe(false);
  });

  it('cancels on the signal, keeps the partial files, and a rerun resumes', async () => {
    server.faults = { bytesPerSec: 400_000 };
    const abort = new AbortController();
    const { run } = await install(server.url, {
      signal: abort.signal,
      onProgress: (p) => p.phase === 'download' && p.bytesDone > 200_000 && abort.abort(),
    });
    await expect(run).rejects.toThrow(/install cancelled/);
    const kept = (await stat(path.join(partialDir(), 'bpe_simple_vocab_16e6.txt.gz'))).size;
    expect(kept).toBeGreaterThan(0);
    server.faults = {};
    server.log.length = 0;
    await (
      await install(server.url)
    ).run;
    expect(requestsFor('bpe_simple_vocab_16e6.txt.gz')[0].range).toBe(`bytes=${kept}-`);
    await expectIdenticalInstall();
  });

  it('refuses a second install of the same pack while one runs', async () => {
    await mkdir(path.join(packsDir, '.partial'), { recursive: true });
    await writeFile(path.join(packsDir, '.partial', `${ID}.lock`), String(process.pid));
    await expect((await install(server.url)).run).rejects.toThrow(`${ID} is already being installed`);
    // A lock left by a process that no longer exists is taken over.
    await writeFile(path.join(packsDir, '.partial', `${ID}.lock`), '2147483646');
    await (
      await install(server.url)
    ).run;
    await expectIdenticalInstall();
  });
});

describe('installPack from a local folder', () => {
  it('imports a folder or a pack.json path, verified and byte-identical', async () => {
    await (
      await install(src)
    ).run;
    await expectIdenticalInstall();
    await (
      await install(path.join(src, 'pack.json'))
    ).run;
    await expectIdenticalInstall();
  });

  it('says which copy is damaged when a local file does not match', async () => {
    const damaged = await copyTestPack(path.join(root, 'damaged'), ID);
    const file = path.join(damaged, 'depth.onnx');
    const bytes = await readFile(file);
    bytes[99] ^= 1;
    await writeFile(file, bytes);
    await expect((await install(damaged)).run).rejects.toThrow(
      `depth.onnx: sha256 mismatch (expected d13c4126230338be80e79577738ee3259a4afd109f561b1a75d672c989256031, got`,
    );
    await expect((await install(damaged)).run).rejects.toThrow(`the copy in ${damaged} is damaged`);
    expect(existsSync(installed())).toBe(false);
  });
});

describe('the atomic swap', () => {
  it('replaces an installed pack and leaves no old copy behind', async () => {
    await (
      await install(src)
    ).run;
    await writeFile(path.join(installed(), 'stale-marker'), 'old install');
    await (
      await install(server.url)
    ).run;
    await expectIdenticalInstall();
    expect(existsSync(path.join(packsDir, '.replaced', ID))).toBe(false);
  });

  it('puts the old pack back after a crash between the two renames', async () => {
    await (
      await install(src)
    ).run;
    // What a crash right after "rename installed → .replaced" leaves.
    await mkdir(path.join(packsDir, '.replaced'), { recursive: true });
    await rename(installed(), path.join(packsDir, '.replaced', ID));
    await finishInterruptedSwap(packsDir, ID);
    await expectIdenticalInstall();
    // And after a crash right after the second rename, the old copy is simply dropped.
    await cp(installed(), path.join(packsDir, '.replaced', ID), { recursive: true });
    await finishInterruptedSwap(packsDir, ID);
    expect(existsSync(path.join(packsDir, '.replaced', ID))).toBe(false);
    await expectIdenticalInstall();
    await rm(path.join(packsDir, '.replaced'), { recursive: true, force: true });
  });
});
