import Database from 'better-sqlite3';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLibrary } from '../support/synth-media.js';
import { mulberry32 } from '../../app/random.js';
import { childrenDieWithUs } from '../../main/core/codecs/tied-spawn.js';
import { expectEveryFileOnce } from '../support/catalogue.js';
import { collect, runCli, startCli, tempDir } from '../support/cli.js';

/**
 * A crash loop (issue 13 #13): `bindery index` over sounds and videos, whose decoding runs in ffmpeg
 * children, is killed with SIGKILL 20 times: 10 at random moments, then 10 three seconds into their
 * work. No ffmpeg child may outlive a kill by 2 s, every run killed 3 s into its work must still
 * have committed something, and the last run leaves every
 * file indexed exactly once. Linux only: it reads /proc to find orphaned children.
 */

const SKIP = process.platform !== 'linux' ? 'reads /proc to find orphaned ffmpeg children' : null;
if (SKIP) console.warn(`kill-loop test skipped: ${SKIP}`);

const FILES = { images: 40, audio: 60, videos: 24 };
const RANDOM_KILLS = 10;
const PACED_KILLS = 10;
const SEED = Number(process.env.BINDERY_KILL_SEED ?? 20261127);

let dir: string;
let lib: string;
let cleanup: () => Promise<void>;
let catalogue: string;

beforeAll(async () => {
  if (SKIP) return;
  ({ dir, cleanup } = await tempDir('bindery-kill-loop-'));
  lib = path.join(dir, 'library');
  await mkdir(lib);
  await writeLibrary(lib, FILES, 13);
  catalogue = path.join(dir, 'quant.db');
  expect((await runCli(['--db', catalogue, '--backend', 'quant', 'add', lib])).code).toBe(0);
}, 300_000);

afterAll(async () => cleanup?.());

/** Processes whose command line names a file of the library: ffmpeg or ffprobe at work on it. */
async function childrenOnLibrary(): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(lib) && !cmd.includes('index'))
      found.push(`${pid}: ${cmd.replace(/\0/g, ' ').slice(0, 120)}`);
  }
  return found;
}

function indexedCount(): number {
  const db = new Database(catalogue, { readonly: true });
  try {
    return db.prepare(`SELECT COUNT(*) FROM files WHERE status = 'indexed'`).pluck().get() as number;
  } finally {
    db.close();
  }
}

/**
 * One run killed `delayMs` after it was started, or after its first progress line (the engine is
 * open and at work; start-up time varies with the machine's load, the work per second does not).
 */
async function runAndKill(delayMs: number, from: 'spawn' | 'work'): Promise<boolean> {
  const child = startCli(['--db', catalogue, 'index', '--json']);
  const done = collect(child);
  let timer: NodeJS.Timeout | undefined;
  const arm = () => (timer = setTimeout(() => child.kill('SIGKILL'), delayMs));
  if (from === 'spawn') arm();
  else child.stdout!.once('data', arm);
  const r = await done;
  clearTimeout(timer);
  return r.signal === 'SIGKILL';
}

describe.skipIf(Boolean(SKIP))('a crash loop of bindery index (quant backend)', () => {
  it('leaves no ffmpeg child behind, progresses with kills every 3 s, and ends with every file once', async () => {
    const rnd = mulberry32(SEED);
    const total = FILES.images + FILES.audio + FILES.videos;
    const log: string[] = [];
    let orphansSoon = 0;
    const pacedRuns: boolean[] = [];
    const delays = [
      ...Array.from({ length: RANDOM_KILLS }, () => Math.round(200 + rnd() * 2800)),
      ...Array.from({ length: PACED_KILLS }, () => 3000),
    ];
    for (const [i, delay] of delays.entries()) {
      const before = indexedCount();
      const paced = i >= RANDOM_KILLS;
      const killed = await runAndKill(delay, paced ? 'work' : 'spawn');
      // Tied children die with the indexer; an orphan would decode on until its next write (or longer).
      await new Promise((r) => setTimeout(r, 250));
      orphansSoon += (await childrenOnLibrary()).length;
      await new Promise((r) => setTimeout(r, 1750));
      expect(await childrenOnLibrary(), `children alive 2 s after kill ${i + 1}`).toEqual([]);
      const after = indexedCount();
      log.push(`${delay} ms: ${before}→${after}${killed ? '' : ' (finished)'}`);
      if (!killed) break;
      if (paced && before < total) pacedRuns.push(after > before);
    }
    console.log(
      `kill loop seed ${SEED}: ${log.join(', ')}; ffmpeg children 0.25 s after kills: ${orphansSoon}`,
    );
    if (childrenDieWithUs()) expect(orphansSoon).toBe(0);
    // Runs that worked for 3 s commit: commits come by time, not only by count (batches of 16 such
    // files take twice that). One miss is allowed for a machine loaded by the tests running beside.
    expect(pacedRuns.filter(Boolean).length, log.join(', ')).toBeGreaterThanOrEqual(pacedRuns.length - 1);

    const final = await runCli(['--db', catalogue, 'index', '--json']);
    expect(final.code, final.stderr).toBe(0);
    expectEveryFileOnce(catalogue, total);
    const status = JSON.parse((await runCli(['--db', catalogue, 'status', '--json'])).stdout);
    expect(status.vectors.count).toBe(status.segments);
  }, 600_000);
});
