import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PgStore } from '../../main/core/catalogue/postgres/store.js';
import { collect, runCli, startCli, tempDir } from '../support/cli.js';
import { TEST_PACK_DIR } from '../support/paths.js';
import { startTestServer, type TestServer } from '../support/postgres.js';
import { writeImage } from '../support/synth-media.js';

/**
 * The shared catalogue's server goes away mid-run (issue 16; docs/architecture.md §13): the worker
 * says so once, in plain words and without the password, waits, and finishes the run when the
 * server is back, every file once.
 */

const FILES = 60;
let server: TestServer;
let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  tmp = await tempDir('bindery-outage-');
  await mkdir(path.join(tmp.dir, 'lib'));
  for (let i = 0; i < FILES; i++) await writeImage(path.join(tmp.dir, 'lib', `p${i}.png`), 500 + i, 64, 48);
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
  await tmp?.cleanup();
});

it.skipIf(process.env.BINDERY_TEST_PG_URL)(
  'a worker pauses while the server is away and finishes when it is back (PGlite restarts on its port; a real server is not restarted by tests)',
  async () => {
    const cat = ['--catalogue', server.url];
    await runCli([...cat, 'shared', 'add-root', 'lib', path.join(tmp.dir, 'lib'), '--machine', 'm']);
    const child = startCli([
      ...cat,
      '--pack',
      TEST_PACK_DIR,
      '--db',
      path.join(tmp.dir, 'local.db'),
      '--batch',
      '4',
      'worker',
      '--machine',
      'm',
      '--json',
    ]);
    const run = collect(child);
    // The server goes away as soon as the worker has written its first file (read off its --json
    // events, so a fast or a loaded machine alike has most of the run still ahead).
    const outage = new Promise<void>((resolve) => {
      let started = false;
      child.stdout!.on('data', (d: Buffer) => {
        if (started || !d.toString().includes('"type":"done"')) return;
        started = true;
        void server.outage!(3000).then(resolve);
      });
    });
    await outage;
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /the catalogue at postgres:\/\/bindery:\*\*\*@127\.0\.0\.1:\d+\/postgres is unreachable/,
    );
    expect(result.stderr).toMatch(/the catalogue is back; going on/);
    expect(result.stderr + result.stdout).not.toMatch(/pglite-secret/);
    expect(result.stdout).toMatch(/"summary":\{"indexed":\d+,"segments":\d+,"reused":0,"failed":0/);
    const store = await PgStore.open(server.url);
    expect(await store.counts()).toMatchObject({ indexed: FILES, queued: 0, failed: 0 });
    expect((await store.pool.query('SELECT COUNT(*)::int AS n FROM content_packs')).rows[0].n).toBe(FILES);
    await store.close();
  },
  180_000,
);
