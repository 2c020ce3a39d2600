import { spawn, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '../../app/api.js';
import type { IndexSummary } from '../../app/indexing.js';
import { writeImage, writeTone } from '../support/synth-media.js';
import { BIN, collect, jsonLines, tempDir, type CliResult } from '../support/cli.js';
import { TEST_PACK_DIR } from '../support/paths.js';
import { startTestServer, type TestServer } from '../support/postgres.js';
import { PgStore } from '../../main/core/catalogue/postgres/store.js';

/**
 * A folder, or the whole root, that becomes unreadable is like an unplugged drive (issue 13): its
 * files keep their rows and embeddings, the part that could not be read is reported with its
 * reason, and once it is readable again nothing is re-embedded. A worker scanning a shared root
 * (issue 16) keeps the unreadable folder's files the same way and retires only the rest. Permissions do not bind root, so
 * as root the CLI runs as `nobody` (setpriv).
 */

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const setprivMissing = asRoot && spawnSync('setpriv', ['--version']).status !== 0;
const SKIP =
  process.platform === 'win32'
    ? 'POSIX permissions only'
    : setprivMissing
      ? 'running as root without setpriv'
      : null;
if (SKIP) console.warn(`unreadable-folder test skipped: ${SKIP}`);

let dir: string;
let cleanup: () => Promise<void>;
let lib: string;
let db: string;

function cli(args: string[]): Promise<CliResult> {
  return asNobody(['--db', db, ...args]);
}

/** The CLI, as `nobody` when running as root (permissions bind it then). */
function asNobody(args: string[]): Promise<CliResult> {
  const argv = [process.execPath, BIN, ...args];
  const cmd = asRoot
    ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv]
    : argv;
  const child = spawn(cmd[0], cmd.slice(1), {
    env: { ...process.env, BINDERY_HOME: path.join(dir, 'home') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child);
}

async function ok(args: string[], run = cli): Promise<CliResult> {
  const r = await run(args);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

async function index(): Promise<IndexSummary> {
  const r = await ok(['index', '--json']);
  return (jsonLines(r.stdout).at(-1) as { summary: IndexSummary }).summary;
}

async function status(): Promise<Status> {
  return JSON.parse((await ok(['status', '--json'])).stdout) as Status;
}

/** Everything under `p` owned by nobody when running as root, so the CLI can write its catalogue. */
async function giveAway(p: string): Promise<void> {
  if (!asRoot) return;
  await chown(p, NOBODY, NOBODY);
  for (const e of await readdir(p, { withFileTypes: true, recursive: true }))
    await chown(path.join(e.parentPath, e.name), NOBODY, NOBODY);
}

beforeAll(async () => {
  if (SKIP) return;
  ({ dir, cleanup } = await tempDir('bindery-unreadable-'));
  lib = path.join(dir, 'library');
  await mkdir(path.join(lib, 'private'), { recursive: true });
  await mkdir(path.join(dir, 'home'));
  await Promise.all([
    writeImage(path.join(lib, 'private', 'a.jpg'), 11),
    writeTone(path.join(lib, 'private', 'b.wav'), 12, 2),
    writeImage(path.join(lib, 'open.jpg'), 13),
  ]);
  db = path.join(dir, 'catalogue.db');
  await giveAway(dir);
  await ok(['add', lib]);
  expect((await index()).indexed).toBe(3);
}, 120_000);

afterAll(async () => {
  if (SKIP) return;
  await chmod(lib, 0o755).catch(() => undefined);
  await chmod(path.join(lib, 'private'), 0o755).catch(() => undefined);
  await cleanup();
});

describe.skipIf(Boolean(SKIP))('unreadable parts of the library', () => {
  it('an unreadable folder keeps its files and embeddings and is reported with its reason', async () => {
    await chmod(path.join(lib, 'private'), 0o000);
    const summary = await index();
    expect(summary.removed).toBe(0);
    const s = await status();
    expect(s.files.indexed).toBe(3);
    expect(s.files.missing).toBe(0);
    expect(s.roots[0].status).toBe('online');
    expect(s.roots[0].unreachable).toEqual([{ path: path.join(lib, 'private'), error: 'permission denied' }]);
    // Its files still answer searches (their vectors are kept).
    const hits = JSON.parse((await ok(['search', '--text', 'anything', '--k', '10', '--json'])).stdout)
      .results as { path: string }[];
    expect(hits.map((h) => path.basename(h.path))).toEqual(expect.arrayContaining(['a.jpg', 'b.wav']));
  });

  it('readable again: nothing is re-embedded and nothing is reported', async () => {
    await chmod(path.join(lib, 'private'), 0o755);
    const summary = await index();
    expect(summary.embedded).toBe(0);
    expect(summary.removed).toBe(0);
    expect((await status()).roots[0].unreachableTotal).toBe(0);
  });

  it('an unreadable root is offline, like an unplugged drive: nothing deleted, the reason shown', async () => {
    await chmod(lib, 0o000);
    const summary = await index();
    expect(summary.removed).toBe(0);
    const s = await status();
    expect(s.roots[0].status).toBe('offline');
    expect(s.roots[0].unreachable[0]).toMatchObject({ path: lib });
    expect(s.files.indexed).toBe(3);
    await chmod(lib, 0o755);
    expect((await index()).embedded).toBe(0);
    expect((await status()).roots[0].status).toBe('online');
  });
});

describe.skipIf(Boolean(SKIP))('unreadable parts of a shared root (a worker on a shared catalogue)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('keeps the files under an unreadable folder and still retires a file deleted elsewhere', async () => {
    const share = path.join(dir, 'share');
    await mkdir(path.join(share, 'private'), { recursive: true });
    await Promise.all([
      writeImage(path.join(share, 'private', 'a.jpg'), 21),
      writeImage(path.join(share, 'open.jpg'), 22),
      writeImage(path.join(share, 'gone.jpg'), 23),
    ]);
    await giveAway(dir);
    const cat = ['--catalogue', server.url];
    await ok([...cat, 'shared', 'add-root', 'photos', share, '--machine', 'nas'], asNobody);
    const work = () =>
      ok(
        [
          ...cat,
          '--pack',
          TEST_PACK_DIR,
          '--db',
          path.join(dir, 'nas.db'),
          'worker',
          '--machine',
          'nas',
          '--json',
        ],
        asNobody,
      );
    await work();
    await chmod(path.join(share, 'private'), 0o000);
    await rm(path.join(share, 'gone.jpg'));
    try {
      const scanned = jsonLines((await work()).stdout)
        .map((l) => (l as { event?: { type: string; missing?: number } }).event)
        .find((e) => e?.type === 'scanned');
      expect(scanned?.missing).toBe(1);
    } finally {
      await chmod(path.join(share, 'private'), 0o755);
    }
    const store = await PgStore.open(server.url);
    try {
      const { rows } = await store.pool.query<{ rel: string; status: string }>(
        'SELECT rel, status FROM files ORDER BY rel',
      );
      expect(rows).toEqual([
        { rel: 'gone.jpg', status: 'missing' },
        { rel: 'open.jpg', status: 'indexed' },
        { rel: 'private/a.jpg', status: 'indexed' },
      ]);
    } finally {
      await store.close();
    }
  });
});
