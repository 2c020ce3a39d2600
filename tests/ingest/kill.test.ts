import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLibrary } from '../support/synth-media.js';
import { mulberry32 } from '../../app/random.js';
import { expectEveryFileOnce } from '../support/catalogue.js';
import { collect, jsonLines, runCli, startCli, tempDir } from '../support/cli.js';

/** Every vector backend, the default (quant) first. */
const BACKENDS = ['quant', 'vec', 'vss'] as const;

/**
 * Crash safety: `bindery index` is killed with SIGKILL at random moments over a 300-file library,
 * then run to the end. Every file must be indexed exactly once, with no duplicate segments or
 * vectors, and SQLite must report an intact database.
 */

const FILES = { images: 240, audio: 60 };
const KILLS = 5;
const SEED = Number(process.env.BINDERY_KILL_SEED ?? 20261122);

let dir: string;
let lib: string;
let cleanup: () => Promise<void>;
let catalogue: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('bindery-kill-'));
  lib = path.join(dir, 'library');
  await mkdir(lib);
  await writeLibrary(lib, FILES, 11);
});

afterAll(async () => cleanup?.());

/** Starts an index run and kills it after `delayMs` counted from its first progress line. */
async function killAfter(delayMs: number): Promise<{ killed: boolean; lines: number }> {
  const child = startCli(['--db', catalogue, 'index', '--json']);
  const done = collect(child);
  let timer: NodeJS.Timeout | undefined;
  child.stdout!.once('data', () => {
    timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
  });
  const r = await done;
  clearTimeout(timer);
  return { killed: r.signal === 'SIGKILL', lines: r.stdout.split('\n').length };
}

describe.each(BACKENDS)('ingest survives kill -9 at any moment (%s)', (backend) => {
  it('ends with every file indexed exactly once and an intact catalogue', async () => {
    catalogue = path.join(dir, `${backend}.db`);
    expect((await runCli(['--db', catalogue, '--backend', backend, 'add', lib])).code).toBe(0);
    const rnd = mulberry32(SEED + backend.length);
    const kills: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const delay = Math.round(50 + rnd() * 2500);
      const r = await killAfter(delay);
      if (r.killed) kills.push(delay);
    }
    console.log(`kill seed ${SEED}: killed ${kills.length}/${KILLS} runs after ${kills.join(', ')} ms`);
    expect(kills.length).toBeGreaterThan(0);

    const final = await runCli(['--db', catalogue, 'index', '--json']);
    expect(final.code, final.stderr).toBe(0);
    const total = FILES.images + FILES.audio;

    expectEveryFileOnce(catalogue, total, (count) => {
      // Each photo is one segment; each recording is 3 clips and a file-level mean.
      expect(count(`SELECT COUNT(*) FROM segments`)).toBe(FILES.images + FILES.audio * 4);
      expect(count(`SELECT COUNT(*) FROM content_models`)).toBe(total);
    });
    const status = JSON.parse((await runCli(['--db', catalogue, 'status', '--json'])).stdout);
    expect(status.vectors.count).toBe(FILES.images + FILES.audio * 4);
    const again = jsonLines((await runCli(['--db', catalogue, 'index', '--json'])).stdout).at(-1) as {
      summary: { embedded: number; skipped: number };
    };
    expect(again.summary).toMatchObject({ embedded: 0, skipped: total });
  });
});
