import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Embedding, InstallResult } from '../../app/api.js';
import { cosine } from '../../models/converter-check/compare.js';
import { goldenCases, goldenOutput, SMALL_GOLDEN_DIR } from '../../models/converter-check/golden.js';
import { jsonLines, runCli, tempDir, type CliResult } from '../support/cli.js';
import { startPackServer } from '../support/pack-server.js';
import { FIXTURES_DIR, REPO_ROOT } from '../support/paths.js';

/**
 * From a checkpoint to an answer, with the real `bindery` command: `models install <ckpt.pth>`
 * converts the small official-architecture checkpoint, `models use` activates it, and
 * `embed … --json` must give the official model's outputs — on Bindery's own preprocessing of the
 * files, against ImageBind's own preprocessing (the golden outputs), so this checks the whole path.
 */

const CHECKPOINT = path.join(SMALL_GOLDEN_DIR, 'checkpoint.pth');
const BAD = path.join(REPO_ROOT, 'tests', 'fixtures', 'bad-checkpoints');
const MIN_COSINE = 0.999;

let dir: string;
let cleanup: () => Promise<void>;
let installed: InstallResult;
const cli = (args: string[]) => runCli(['--db', path.join(dir, 'catalogue.db'), ...args]);

async function ok(args: string[]): Promise<CliResult> {
  const r = await cli(args);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('bindery-ckpt-'));
  const r = await ok(['models', 'install', CHECKPOINT, '--accept-licence', '--skip-selftest', '--json']);
  const last = jsonLines(r.stdout).at(-1) as { installed: InstallResult };
  installed = last.installed;
  await ok(['models', 'use', installed.id]);
});
afterAll(() => cleanup?.());

async function embed(modality: string, input: string): Promise<Embedding> {
  const r = await ok(['embed', modality, input, '--json']);
  return JSON.parse(r.stdout) as Embedding;
}

async function golden(name: string, row = 0): Promise<Float32Array> {
  const c = (await goldenCases(SMALL_GOLDEN_DIR)).find((x) => x.name === name)!;
  return (await goldenOutput(SMALL_GOLDEN_DIR, c))[row];
}

describe('bindery models install <checkpoint.pth>', () => {
  it('prints {"installed":{"id","verified"}} last, with progress before it', async () => {
    expect(installed.id).toMatch(/^imagebind-custom-[0-9a-f]{8}-fp16$/);
    expect(installed.verified).toBe(false);
    expect(installed.licence).toBe('CC-BY-NC 4.0 / CC BY-NC-SA 4.0 — non-commercial use only');
  });

  it('embeds text, an image and a recording as the official model does', async () => {
    const text = await embed('text', 'A dog.');
    expect(text.pack).toBe(installed.id);
    expect(text.dim).toBe(20);
    expect(Math.hypot(...text.vector)).toBeCloseTo(1, 5);
    expect(cosine(Float32Array.from(text.vector), await golden('text', 0))).toBeGreaterThanOrEqual(
      MIN_COSINE,
    );
    const image = await embed('image', path.join(FIXTURES_DIR, 'dog_image.jpg'));
    expect(cosine(Float32Array.from(image.vector), await golden('vision_dog'))).toBeGreaterThanOrEqual(
      MIN_COSINE,
    );
    const audio = await embed('audio', path.join(FIXTURES_DIR, 'dog_audio.wav'));
    expect(cosine(Float32Array.from(audio.vector), await golden('audio_dog'))).toBeGreaterThanOrEqual(
      MIN_COSINE,
    );
  });

  it('runs the self-test unless told not to: random weights fail it and are not made active', async () => {
    const www = path.join(dir, 'www');
    await cp(FIXTURES_DIR, path.join(www, 'facebookresearch/ImageBind/main/.assets'), { recursive: true });
    const server = await startPackServer(www);
    try {
      const r = await runCli(
        [
          '--db',
          path.join(dir, 'catalogue.db'),
          'models',
          'install',
          CHECKPOINT,
          '--precision',
          'fp32',
          '--json',
        ],
        {
          BINDERY_MODEL_MIRROR: server.urlOf(''),
        },
      );
      expect(r.code).toBe(1);
      const last = jsonLines(r.stdout).at(-1) as { installed: InstallResult };
      expect(last.installed.id).toMatch(/-fp32$/);
      expect(last.installed.verified).toBe(false);
      expect(last.installed.active).toBe(false);
      expect(last.installed.selftest).toMatch(/Vision×Text|Audio×Text|Vision×Audio/);
    } finally {
      await server.close();
    }
  });

  it('refuses bad checkpoints with one line and installs nothing', async () => {
    const before = (await readdir(path.join(dir, 'packs'))).sort();
    for (const [file, expected] of [
      ['pickle-os-system.pth', /imports posix\.system/],
      ['other-architecture.pth', /not an ImageBind checkpoint/],
      ['torchscript.pt', /TorchScript/],
    ] as const) {
      const r = await cli(['models', 'install', path.join(BAD, file), '--accept-licence']);
      expect(r.code, file).toBe(1);
      expect(r.stderr, file).toMatch(expected);
      expect(r.stderr.trim().split('\n'), file).toHaveLength(1);
    }
    expect((await readdir(path.join(dir, 'packs'))).sort()).toEqual(before);
    expect(await readdir(path.join(dir, 'packs', '.partial'))).toEqual([]);
  });

  it('sweeps up the staging folder a killed conversion left behind', async () => {
    const abandoned = path.join(dir, 'packs', '.partial', 'convert-999999-deadbeef');
    await mkdir(abandoned, { recursive: true });
    await writeFile(path.join(abandoned, 'vision.onnx.partial'), 'half a graph');
    await ok(['models', 'install', CHECKPOINT, '--skip-selftest']);
    expect(existsSync(abandoned)).toBe(false);
  });

  it('refuses a usage mistake with exit code 2', async () => {
    const r = await cli(['models', 'install', CHECKPOINT, '--precision', 'fp8']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--precision must be one of fp16, fp32, int8, q8, not fp8/);
  });
});
