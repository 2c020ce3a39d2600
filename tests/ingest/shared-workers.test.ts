import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viaDispatch } from '../../app/dispatch.js';
import { coreService } from '../../main/core/api/service.js';
import { PgStore } from '../../main/core/catalogue/postgres/store.js';
import { SqliteStore } from '../../main/core/catalogue/sqlite-store.js';
import { Engine } from '../../main/core/engine/engine.js';
import type { Status } from '../../app/api.js';
import type { SearchResponse } from '../../app/query.js';
import { collect, runCli, startCli, tempDir } from '../support/cli.js';
import { readServeLine } from '../support/e2e.js';
import { TEST_PACK_DIR } from '../support/paths.js';
import { startTestServer, type TestServer } from '../support/postgres.js';
import { writeImage } from '../support/synth-media.js';

/**
 * Several workers, one catalogue (issue 16; docs/architecture.md §13): two `bindery worker`
 * processes on two "machines" (the same folder mounted at two paths) index a 300-file library in
 * one PostgreSQL + pgvector catalogue. One is killed with SIGKILL mid-run; its leased jobs are
 * finished by the other after the lease expires; every file is embedded exactly once; and search
 * answers exactly what the SQLite catalogue answers on the same library.
 */

const FILES = 300;
const CONCURRENT = Boolean(process.env.BINDERY_TEST_PG_URL);
const LEASE_MS = 3000;
let server: TestServer;
let tmp: { dir: string; cleanup: () => Promise<void> };
let library: string;

beforeAll(async () => {
  tmp = await tempDir('bindery-shared-');
  library = path.join(tmp.dir, 'nas', 'photos');
  await mkdir(library, { recursive: true });
  for (let i = 0; i < FILES; i++)
    await writeImage(path.join(library, `p${String(i).padStart(3, '0')}.png`), 1000 + i, 64, 48);
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
  await tmp?.cleanup();
});

interface Done {
  type: string;
  rel: string;
  outcome?: string;
}

function events(stdout: string): Done[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{"event"'))
    .map((l) => (JSON.parse(l) as { event: Done }).event);
}

describe(`two workers sharing one catalogue (${process.env.BINDERY_TEST_PG_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('index 300 files exactly once, and the survivor finishes a killed worker’s leased jobs', async () => {
    const cat = ['--catalogue', server.url];
    const laptopMount = path.join(tmp.dir, 'laptop-view');
    await symlink(library, laptopMount);
    const add = await runCli([...cat, 'shared', 'add-root', 'photos', library, '--machine', 'nas']);
    expect(add.stderr).toBe('');
    expect(add.stdout).not.toMatch(/pglite-secret/);
    await runCli([...cat, 'shared', 'mount', 'photos', laptopMount, '--machine', 'laptop']);

    const worker = (machine: string) =>
      startCli([
        ...cat,
        '--pack',
        TEST_PACK_DIR,
        '--db',
        path.join(tmp.dir, `${machine}.db`),
        '--batch',
        '8',
        'worker',
        '--machine',
        machine,
        '--lease-ms',
        String(LEASE_MS),
        '--json',
      ]);
    // On a real server (BINDERY_TEST_PG_URL) the laptop works beside the NAS worker from the start.
    // PGlite multiplexes clients onto one session and stalls when two processes interleave
    // transactions, so there the NAS worker is killed while it works alone and the laptop then
    // finishes the run: the lease, expiry and exactly-once rules are the same either way.
    const nas = worker('nas');
    const laptopRun = CONCURRENT ? collect(worker('laptop')) : undefined;
    let nasOut = '';
    const killed = new Promise<void>((resolve) => {
      nas.stdout!.on('data', (d) => {
        nasOut += d;
        // Killed mid-batch (44 = five batches of 8 and half the sixth): four leased jobs are never finished.
        if (events(nasOut).filter((e) => e.type === 'done').length >= 44 && nas.exitCode === null) {
          nas.kill('SIGKILL');
          resolve();
        }
      });
    });
    nas.stderr!.on('data', () => undefined);
    await killed;
    await new Promise((r) => nas.once('close', r));

    const store = await PgStore.open(server.url);
    const orphaned = (
      await store.pool.query<{ rel: string }>(
        `SELECT f.rel FROM jobs j JOIN files f ON f.id = j.file_id WHERE j.lease_owner LIKE 'nas:%' AND j.lease_until > now()`,
      )
    ).rows.map((r) => r.rel);
    expect(orphaned.length).toBeGreaterThan(0);

    const laptop = await (laptopRun ?? collect(worker('laptop')));
    expect(laptop.code, laptop.stderr).toBe(0);
    const done = [...events(nasOut), ...events(laptop.stdout)].filter((e) => e.type === 'done');
    const rels = done.map((e) => e.rel);
    expect(new Set(rels).size).toBe(FILES); // every file once…
    expect(rels).toHaveLength(FILES); // …and only once
    expect(done.every((e) => e.outcome === 'new')).toBe(true);
    const laptopRels = new Set(events(laptop.stdout).map((e) => e.rel));
    for (const rel of orphaned) expect(laptopRels.has(rel)).toBe(true);

    expect(await store.counts()).toMatchObject({ indexed: FILES, queued: 0, failed: 0, pending: 0 });
    const count = async (sql: string) => (await store.pool.query<{ n: number }>(sql)).rows[0].n;
    expect(await count('SELECT COUNT(*)::int AS n FROM content_packs')).toBe(FILES);
    expect(await count('SELECT COUNT(*)::int AS n FROM emb_bindery_test_pack')).toBe(
      await count('SELECT COUNT(*)::int AS n FROM segments'),
    );
    expect(await count(`SELECT COUNT(*)::int AS n FROM jobs`)).toBe(0);

    // The same library in the default SQLite catalogue, indexed by the app's own pipeline.
    const engine = await Engine.open({
      dbPath: path.join(tmp.dir, 'local.db'),
      packDir: TEST_PACK_DIR,
      backend: 'quant',
    });
    const api = viaDispatch(coreService(engine));
    try {
      await api.addRoot({ path: library });
      await api.index({});
      const local = new SqliteStore(path.join(tmp.dir, 'local.db'));
      for (const probe of ['p007.png', 'p150.png', 'p299.png']) {
        const { vector } = await api.embed({ modality: 'image', path: path.join(library, probe) });
        const q = Float32Array.from(vector);
        const shared = await store.search('bindery-test-pack', q, 10);
        const mine = await local.search('bindery-test-pack', q, 10);
        expect(shared.map((h) => [h.rel, h.level, h.tStart])).toEqual(
          mine.map((h) => [h.rel, h.level, h.tStart]),
        );
        for (const [i, h] of shared.entries()) expect(h.score).toBeCloseTo(mine[i].score, 5);
        expect(shared[0].rel).toBe(probe);
        // The app's own search (quantized index, exact re-rank) ranks the same files first.
        const app = await api.search({
          terms: [{ modality: 'image', path: path.join(library, probe), weight: 1 }],
          k: 5,
        });
        expect(app.results.map((h) => path.basename(h.path))).toEqual(
          [...new Set(shared.map((h) => h.rel))].slice(0, app.results.length),
        );
      }
      await local.close();
    } finally {
      await engine.close();
      await store.close();
    }
  }, 240_000);

  it('`bindery serve --catalogue` serves the app on a replica, at the laptop’s paths, without the password', async () => {
    const home = path.join(tmp.dir, 'laptop-home');
    await mkdir(home, { recursive: true });
    const child = startCli(
      ['--catalogue', server.url, '--pack', TEST_PACK_DIR, 'serve', '--json', '--no-watch'],
      { BINDERY_HOME: home, HOME: home, BINDERY_MACHINE: 'laptop' },
    );
    try {
      const line = await readServeLine(child, 90_000);
      const call = async (method: string, body: unknown = {}) => {
        const res = await fetch(`${line.url}/api/${method}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${line.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      expect((await call('index', { skipScan: true })).status).toBe(200);
      const status = (await call('status')).body as unknown as Status;
      expect(status.files.indexed).toBe(FILES);
      expect(status.shared).toMatchObject({ machine: 'laptop', error: null });
      expect(JSON.stringify(status)).not.toMatch(/pglite-secret/);
      expect(path.basename(status.catalogue)).toMatch(/^shared-[0-9a-f]{16}\.db$/);
      const laptopMount = path.join(tmp.dir, 'laptop-view');
      const found = await call('search', {
        terms: [{ modality: 'image', path: path.join(laptopMount, 'p042.png'), weight: 1 }],
        k: 3,
      });
      expect(found.status, JSON.stringify(found.body)).toBe(200);
      const results = (found.body as unknown as SearchResponse).results;
      expect(results[0].path).toBe(path.join(laptopMount, 'p042.png'));
      const refused = await call('useModel', { id: 'bindery-test-pack' });
      expect(refused.status).toBe(409);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
  }, 180_000);
});
