import Database from 'better-sqlite3';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, runCli, startCli, tempDir } from '../support/cli.js';
import { TEST_PACK_DIR } from '../support/paths.js';
import { writeImage } from '../support/synth-media.js';

/**
 * `bindery worker` and `bindery shared` (docs/shared-catalogue.md): plain usage errors, and two
 * workers at once on one SQLite catalogue (processes on one machine share it in WAL mode).
 */

const FILES = 40;
let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  tmp = await tempDir('bindery-shared-cli-');
  await mkdir(path.join(tmp.dir, 'lib'));
  for (let i = 0; i < FILES; i++) await writeImage(path.join(tmp.dir, 'lib', `p${i}.png`), 900 + i, 64, 48);
});
afterAll(async () => tmp?.cleanup());

describe('bindery worker / shared', () => {
  it('says what is missing or wrong, in one line, with exit code 2', async () => {
    const none = await runCli(['shared', 'status'], { BINDERY_CATALOGUE: '' });
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toBe(
      'bindery: name the shared catalogue with --catalogue postgres://… or $BINDERY_CATALOGUE',
    );
    const badMachine = await runCli([
      '--catalogue',
      path.join(tmp.dir, 'c.db'),
      'shared',
      'mount',
      'x',
      tmp.dir,
      '--machine',
      'a b',
    ]);
    expect(badMachine.code).toBe(2);
    expect(badMachine.stderr).toMatch(/--machine must be letters, digits/);
    const unknown = await runCli([
      '--catalogue',
      path.join(tmp.dir, 'c.db'),
      'shared',
      'mount',
      'nope',
      tmp.dir,
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no root named "nope"/);
    const elsewhere = await runCli(['--catalogue', path.join(tmp.dir, 'c.db'), 'status']);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(
      /--catalogue is for `bindery worker`, `bindery shared` and `bindery serve`; `bindery status` uses/,
    );
    const refused = await runCli(['--catalogue', 'postgres://ann:s3cret@127.0.0.1:9/db', 'shared', 'status']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^bindery: .*ECONNREFUSED|connect/);
    expect(refused.stderr).not.toMatch(/s3cret/);
  });

  it('a machine whose share is not mounted leaves its files for others, never failing them', async () => {
    const cat = ['--catalogue', path.join(tmp.dir, 'away.db')];
    await runCli([...cat, 'shared', 'add-root', 'lib', path.join(tmp.dir, 'lib'), '--machine', 'nas']);
    const scan = await runCli([...cat, 'shared', 'status', '--json']);
    expect(scan.code, scan.stderr).toBe(0);
    const mountPoint = path.join(tmp.dir, 'empty-mount-point');
    await mkdir(mountPoint);
    await runCli([...cat, 'shared', 'mount', 'lib', mountPoint, '--machine', 'laptop']);
    // The NAS scans (queues every file) but is stopped before encoding: SIGTERM right after its scan.
    const nas = startCli([
      ...cat,
      '--pack',
      TEST_PACK_DIR,
      '--db',
      path.join(tmp.dir, 'nas.db'),
      'worker',
      '--machine',
      'nas',
      '--json',
    ]);
    const nasRun = collect(nas);
    nas.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('"type":"scanned"')) nas.kill('SIGTERM');
    });
    await nasRun;
    const laptop = await runCli([
      ...cat,
      '--pack',
      TEST_PACK_DIR,
      '--db',
      path.join(tmp.dir, 'laptop.db'),
      'worker',
      '--machine',
      'laptop',
      '--json',
    ]);
    expect(laptop.code, laptop.stderr).toBe(0);
    expect(laptop.stdout).toMatch(/"summary":\{"indexed":0,"segments":0,"reused":0,"failed":0,"lost":0\}/);
    const status = JSON.parse((await runCli([...cat, 'shared', 'status', '--json'])).stdout) as Record<
      string,
      number
    >;
    expect(status.failed).toBe(0);
    expect(status.indexed + status.pending).toBe(FILES);
  });

  it('two workers on one SQLite catalogue embed every file once', async () => {
    const db = path.join(tmp.dir, 'shared.db');
    const cat = ['--catalogue', db];
    const add = await runCli([
      ...cat,
      'shared',
      'add-root',
      'lib',
      path.join(tmp.dir, 'lib'),
      '--machine',
      'here',
    ]);
    expect(add.code, add.stderr).toBe(0);
    const worker = (n: number) =>
      collect(
        startCli([
          ...cat,
          '--pack',
          TEST_PACK_DIR,
          '--db',
          path.join(tmp.dir, `local${n}.db`),
          '--batch',
          '4',
          'worker',
          '--machine',
          'here',
          '--json',
        ]),
      );
    const runs = await Promise.all([worker(1), worker(2)]);
    const done: string[] = [];
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      for (const line of r.stdout.split('\n').filter((l) => l.startsWith('{"event"'))) {
        const e = (JSON.parse(line) as { event: { type: string; rel: string } }).event;
        if (e.type === 'done') done.push(e.rel);
      }
    }
    expect(done.sort()).toEqual([...new Set(done)].sort());
    expect(done).toHaveLength(FILES);
    const check = new Database(db, { readonly: true });
    const count = (sql: string) => check.prepare(sql).pluck().get() as number;
    expect(count(`SELECT COUNT(*) FROM files WHERE status = 'indexed'`)).toBe(FILES);
    expect(count('SELECT COUNT(*) FROM jobs')).toBe(0);
    expect(count('SELECT COUNT(*) FROM content_models')).toBe(FILES);
    check.close();
    const status = await runCli([...cat, 'shared', 'status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ indexed: FILES, queued: 0, leased: 0 });
  });
});
