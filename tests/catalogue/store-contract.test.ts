import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PackManifest } from '../../app/pack.js';
import { openStore } from '../../main/core/catalogue/open-store.js';
import {
  PG_MIGRATIONS,
  PG_SCHEMA_VERSION,
  pgMigrate,
} from '../../main/core/catalogue/postgres/migrations.js';
import { redact } from '../../main/core/catalogue/postgres/connect.js';
import { efSearchFor } from '../../main/core/catalogue/postgres/vectors.js';
import { PgStore } from '../../main/core/catalogue/postgres/store.js';
import { SCHEMA_VERSION } from '../../main/core/catalogue/migrations.js';
import { MAX_ATTEMPTS, type CatalogueStore, type JobOutcome } from '../../main/core/catalogue/store.js';
import { TEST_PACK_DIR } from '../support/paths.js';
import { startTestServer, type TestServer } from '../support/postgres.js';
import { randomUnitVectors } from '../support/vector-data.js';
import pg from 'pg';

/**
 * The shared-catalogue contract (docs/architecture.md §13): the same cases on SQLite and on
 * PostgreSQL + pgvector (PGlite over the wire protocol here; a real server with
 * BINDERY_TEST_PG_URL, docs/shared-catalogue.md).
 */

const DIM = 16;
const PACK = 'contract-pack';
const manifest = {
  ...(JSON.parse(readFileSync(path.join(TEST_PACK_DIR, 'pack.json'), 'utf8')) as PackManifest),
  id: PACK,
  embeddingDim: DIM,
};
const NO_DATE = { takenMs: null, source: null, lat: null, lon: null };
const nas = { id: 'nas-1', machine: 'nas' };
const laptop = { id: 'laptop-1', machine: 'laptop' };

let tmp: string;
let server: TestServer;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'bindery-store-'));
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const kinds = {
  sqlite: async () => openStore(path.join(tmp, `c-${Math.random().toString(36).slice(2)}.db`)),
  postgres: async () => {
    const store = await openStore(server.url);
    // Each case starts empty: the suite shares one server.
    await (store as PgStore).pool.query(
      `TRUNCATE roots, contents, packs, bindery_schema RESTART IDENTITY CASCADE;
       INSERT INTO bindery_schema SELECT generate_series(1, ${PG_SCHEMA_VERSION})`,
    );
    return store;
  },
};

describe.each(Object.entries(kinds))('the catalogue contract on %s', (_kind, open) => {
  let store: CatalogueStore;
  let root: number;
  const folder = () => path.join(tmp, 'photos');
  const seen = (n: number, size = 100) =>
    Array.from({ length: n }, (_, i) => ({
      rel: `f${String(i).padStart(3, '0')}.jpg`,
      size,
      mtimeMs: 1000 + i,
    }));

  const fresh = async () => {
    await store?.close();
    store = await open();
    await store.ensurePack({ dir: TEST_PACK_DIR, manifest });
    root = (await store.addRoot('photos', { machine: 'nas', folder: folder() })).id;
  };
  afterAll(async () => store?.close());

  const mounted = async (w: { machine: string }) => (await store.mounts(w.machine)).map((m) => m.rootId);
  const newContent = (hash: string, vectors: Float32Array[]): JobOutcome => ({
    type: 'new',
    content: { hash, size: 100, kind: 'image', durationS: null, capture: NO_DATE },
    segments: vectors.map((vector, i) => ({
      segment: { modality: 'vision', level: 'clip', tStart: i, tEnd: i + 1 },
      vector,
    })),
  });

  it('is at its newest schema; roots have keys apart from their mounts', async () => {
    await fresh();
    expect(await store.schemaVersion()).toBe(store.kind === 'sqlite' ? SCHEMA_VERSION : PG_SCHEMA_VERSION);
    const again = await store.addRoot('photos', { machine: 'nas', folder: folder() });
    expect(again.id).toBe(root);
    const roots = await store.listRoots();
    expect(roots).toHaveLength(1);
    expect(roots[0].key).toMatch(/^[0-9a-f-]{32,36}$/);
    await store.setMount(root, 'laptop', 'Z:\\photos');
    expect(await store.mounts('laptop')).toEqual([{ rootId: root, folder: 'Z:\\photos' }]);
    expect(await store.mounts('nas')).toEqual([{ rootId: root, folder: folder() }]);
    expect(await store.mounts('phone')).toEqual([]);
    await store.unmount(root, 'laptop');
    expect(await store.mounts('laptop')).toEqual([]);
    expect(await store.listRoots()).toHaveLength(1);
    expect(await store.listPacks()).toEqual([{ id: PACK, dim: DIM }]);
  });

  it('queues failed files of the given roots again', async () => {
    await fresh();
    await store.recordScan(root, 1, seen(2));
    for (const j of await store.lease(nas, await mounted(nas), 10, 60_000))
      await store.complete(nas.id, PACK, j, { type: 'failed', error: 'x', kind: null });
    expect(await store.requeueFailed([])).toBe(0);
    expect(await store.requeueFailed([root])).toBe(2);
    expect(await store.counts()).toMatchObject({ pending: 2, failed: 0, queued: 2 });
    const again = await store.lease(nas, await mounted(nas), 10, 60_000);
    expect(again).toHaveLength(2);
  });

  it('marks each new scan later than every one before, even from a clock that went back', async () => {
    await fresh();
    const first = await store.beginScan();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2001-01-01'));
      const second = await store.beginScan();
      expect(second).toBeGreaterThan(first);
      await store.recordScan(root, first, seen(2));
      await store.recordScan(root, second, seen(1));
      expect(await store.finishScan(root, second)).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('queues new and changed files, not unchanged ones; unseen files become missing', async () => {
    await fresh();
    expect(await store.recordScan(root, 1, seen(5))).toEqual({ new: 5, changed: 0, unchanged: 0 });
    const jobs = await store.lease(nas, await mounted(nas), 10, 60_000);
    expect(jobs.map((j) => j.rel)).toEqual(seen(5).map((s) => s.rel));
    for (const j of jobs)
      expect(await store.complete(nas.id, PACK, j, { type: 'failed', error: 'x', kind: null })).toBe(true);
    const next = seen(4).map((s, i) => (i === 0 ? { ...s, size: 999 } : s));
    expect(await store.recordScan(root, 2, next)).toEqual({ new: 0, changed: 1, unchanged: 3 });
    expect(await store.finishScan(root, 2)).toBe(1);
    const counts = await store.counts();
    expect(counts).toMatchObject({ pending: 1, failed: 3, missing: 1, queued: 1 });
  });

  it('a scan that could not read a folder keeps the files under it and retires the rest it did not see', async () => {
    await fresh();
    const at = (rel: string) => ({ rel, size: 100, mtimeMs: 1000 });
    const all = ['a/1.jpg', 'a/b/2.jpg', 'a b/3.jpg', 'ab/4.jpg', 'top.jpg', 'gone.jpg'].map(at);
    await store.recordScan(root, 1, all);
    // The second scan could not read `a` (nor the file `ab/4.jpg`); `gone.jpg` really went.
    await store.recordScan(root, 2, [at('a b/3.jpg'), at('top.jpg')]);
    expect(await store.finishScan(root, 2, ['a', 'ab/4.jpg'])).toBe(1);
    expect((await store.counts()).missing).toBe(1);
    // A prefix is a folder, not the start of a name: `a` does not cover `ab/` or `a b/`.
    await store.recordScan(root, 3, [at('top.jpg')]);
    expect(await store.finishScan(root, 3, ['a'])).toBe(2);
    // '' is the root itself: nothing of it retires.
    await store.recordScan(root, 4, []);
    expect(await store.finishScan(root, 4, [''])).toBe(0);
  });

  it('leases each job to one worker; only roots the machine mounts; an expired lease returns', async () => {
    await fresh();
    await store.recordScan(root, 1, seen(6));
    expect(await store.lease(laptop, await mounted(laptop), 10, 60_000)).toEqual([]); // the laptop has not mounted the root
    await store.setMount(root, 'laptop', '/Volumes/photos');
    const a = await store.lease(nas, await mounted(nas), 3, 150);
    const b = await store.lease(laptop, await mounted(laptop), 10, 60_000);
    expect(a).toHaveLength(3);
    expect(b).toHaveLength(3);
    expect(new Set([...a, ...b].map((j) => j.jobId)).size).toBe(6);
    expect((await store.counts()).leased).toBe(6);
    expect(await store.queuedFor([root])).toBe(6);
    expect(await store.queuedFor([])).toBe(0);
    await new Promise((r) => setTimeout(r, 400));
    // The NAS worker died: its three come back to the laptop, which completes them.
    const c = await store.lease(laptop, await mounted(laptop), 10, 60_000);
    expect(c.map((j) => j.jobId).sort()).toEqual(a.map((j) => j.jobId).sort());
    expect(c.every((j) => j.attempts === 2)).toBe(true);
    // The dead worker's late completion is refused and writes nothing.
    const [v] = randomUnitVectors(1, DIM, 1);
    expect(await store.complete(nas.id, PACK, a[0], newContent('late', [v]))).toBe(false);
    expect(await store.embeddingCount(PACK)).toBe(0);
    expect(await store.complete(laptop.id, PACK, c[0], newContent('h0', [v]))).toBe(true);
    expect(await store.embeddingCount(PACK)).toBe(1);
  });

  it('a heartbeat keeps a lease; a job that outlives every try fails its file', async () => {
    await fresh();
    await store.recordScan(root, 1, seen(1));
    const [held] = await store.lease(nas, await mounted(nas), 1, 200);
    await new Promise((r) => setTimeout(r, 120));
    expect(await store.heartbeat(nas.id, 60_000)).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(await store.lease(laptop, await mounted(laptop), 1, 100)).toEqual([]);
    expect(held.attempts).toBe(1);
    // The lease is now let go twice more (a file that kills its worker every time).
    await store.heartbeat(nas.id, 1);
    for (let tries = 2; tries <= MAX_ATTEMPTS; tries++) {
      await new Promise((r) => setTimeout(r, 20));
      const [again] = await store.lease(nas, await mounted(nas), 1, 1);
      expect(again.attempts).toBe(tries);
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(await store.lease(nas, await mounted(nas), 1, 60_000)).toEqual([]);
    const failures = await store.failures();
    expect(failures).toEqual([{ rootId: root, rel: 'f000.jpg', error: expect.stringMatching(/3 tries/) }]);
  });

  it('embeds a content once: a copy reuses it, a failure records its reason', async () => {
    await fresh();
    await store.recordScan(root, 1, seen(3));
    const [a, b, c] = await store.lease(nas, await mounted(nas), 3, 60_000);
    const vecs = randomUnitVectors(2, DIM, 2);
    expect(await store.embeddedContent('same', PACK)).toBeUndefined();
    await store.complete(nas.id, PACK, a, newContent('same', vecs));
    expect(await store.embeddedContent('same', PACK)).toMatchObject({
      id: expect.any(Number),
      kind: 'image',
    });
    // A copy arriving as 'new' from a worker that had not seen it yet writes no second vectors.
    await store.complete(nas.id, PACK, b, newContent('same', vecs));
    await store.complete(nas.id, PACK, c, {
      type: 'failed',
      error: 'not a picture: truncated JPEG',
      kind: 'image',
    });
    expect(await store.embeddingCount(PACK)).toBe(2);
    expect(await store.counts()).toMatchObject({ indexed: 2, failed: 1, queued: 0, leased: 0 });
    expect((await store.failures())[0]).toMatchObject({
      rel: 'f002.jpg',
      error: 'not a picture: truncated JPEG',
    });
    const hits = await store.search(PACK, vecs[1], 5);
    expect(hits[0]).toMatchObject({
      segmentId: expect.any(Number),
      rel: 'f000.jpg',
      tStart: 1,
      tEnd: 2,
      level: 'clip',
    });
    expect(hits[0].score).toBeCloseTo(1, 5);
  });

  it('searches exactly, best first, with the app filters', async () => {
    await fresh();
    const n = 60;
    await store.recordScan(
      root,
      1,
      seen(n).map((s, i) => ({ ...s, rel: `${i % 2 ? 'b' : 'a'}/${s.rel}`, size: 100 + i })),
    );
    const jobs = await store.lease(nas, await mounted(nas), n, 60_000);
    const vecs = randomUnitVectors(n, DIM, 3);
    for (const [i, j] of jobs.entries()) {
      const outcome = newContent(`h${i}`, [vecs[i]]);
      if (outcome.type === 'new' && i % 3 === 0) outcome.content.kind = 'audio';
      await store.complete(nas.id, PACK, j, outcome);
    }
    const q = randomUnitVectors(1, DIM, 4)[0];
    const exact = vecs
      .map((v, i) => ({ i, s: v.reduce((acc, x, d) => acc + x * q[d], 0) }))
      .sort((x, y) => y.s - x.s);
    const hits = await store.search(PACK, q, 10);
    expect(hits.map((h) => h.rel)).toEqual(exact.slice(0, 10).map((e) => jobs[e.i].rel));
    for (const [i, h] of hits.entries()) expect(h.score).toBeCloseTo(exact[i].s, 5);
    const audio = await store.search(PACK, q, 100, { kinds: ['audio'] });
    expect(audio).toHaveLength(20);
    const underB = await store.search(PACK, q, 100, { roots: [root], pathPrefix: 'b/', minBytes: 120 });
    expect(underB.every((h) => h.rel.startsWith('b/'))).toBe(true);
    expect(underB).toHaveLength(20);
    expect(await store.search(PACK, q, 0)).toEqual([]);
    await expect(store.search(PACK, new Float32Array(DIM + 1), 5)).rejects.toThrow(/dimensions/);
  });
});

describe('PostgreSQL specifics', () => {
  it('widens the HNSW beam as a pack grows: the candidates up to 250k, 400 at 1M, pgvector’s 1,000 from 2.5M', () => {
    expect(efSearchFor(10, 5_000)).toBe(100);
    expect(efSearchFor(10, 250_000)).toBe(100);
    expect(efSearchFor(50, 100_000)).toBe(200);
    expect(efSearchFor(10, 400_000)).toBe(160);
    expect(efSearchFor(10, 1_000_000)).toBe(400);
    expect(efSearchFor(10, 2_500_000)).toBe(1000);
    expect(efSearchFor(10, 5_000_000)).toBe(1000);
  });

  it('tracks changes for replicas: a re-stamping scan is none, a completed job is one, pages follow ids', async () => {
    const store = await kinds.postgres();
    await store.ensurePack({ dir: TEST_PACK_DIR, manifest });
    const r = (await store.addRoot('photos', { machine: 'nas', folder: '/nas/photos' })).id;
    const files = Array.from({ length: 5 }, (_, i) => ({ rel: `d/f${i}.jpg`, size: 1, mtimeMs: i }));
    await store.recordScan(r, 1, files);
    const pg1 = store as PgStore;
    const first = await pg1.changedFiles(r, '0', 0, 3);
    expect(first.files.map((f) => f.rel)).toEqual(['d/f0.jpg', 'd/f1.jpg', 'd/f2.jpg']);
    const rest = await pg1.changedFiles(r, '0', first.files[2].id, 3);
    expect(rest.files.map((f) => f.rel)).toEqual(['d/f3.jpg', 'd/f4.jpg']);
    expect((await pg1.changedFiles(r, first.watermark, 0, 10)).files).toEqual([]);
    await store.recordScan(r, 2, files);
    expect((await pg1.changedFiles(r, first.watermark, 0, 10)).files).toEqual([]);
    const [job] = await store.lease(nas, [r], 1, 60_000);
    const [v] = randomUnitVectors(1, DIM, 3);
    await store.complete(nas.id, PACK, job, {
      type: 'new',
      content: { hash: 'h', size: 1, kind: 'image', durationS: null, capture: NO_DATE },
      segments: [{ segment: { modality: 'vision', level: 'file', tStart: 0, tEnd: 0 }, vector: v }],
    });
    const changed = await pg1.changedFiles(r, first.watermark, 0, 10);
    expect(changed.files).toMatchObject([{ rel: job.rel, status: 'indexed', kind: 'image' }]);
    const got = await pg1.contents(PACK, [changed.files[0].contentId!]);
    expect(got.embedded).toEqual([changed.files[0].contentId]);
    expect(got.vectors).toHaveLength(1);
    expect(Array.from(got.vectors[0].vector)).toEqual(Array.from(v));
    expect((await pg1.contents('no-such-pack', [changed.files[0].contentId!])).vectors).toEqual([]);
    await store.close();
  });

  it.skipIf(!process.env.BINDERY_TEST_PG_URL)(
    'never skips a row committed late by a transaction older than the watermark (needs a real server: PGlite runs one transaction at a time)',
    async () => {
      const store = (await kinds.postgres()) as PgStore;
      const r = (await store.addRoot('photos', { machine: 'nas', folder: '/nas/photos' })).id;
      await store.recordScan(r, 1, [{ rel: 'a.jpg', size: 1, mtimeMs: 1 }]);
      const slow = new pg.Client({ connectionString: server.url });
      await slow.connect();
      await slow.query('BEGIN');
      await slow.query(`UPDATE files SET status = 'failed', error = 'late' WHERE rel = 'a.jpg'`);
      await store.recordScan(r, 1, [{ rel: 'b.jpg', size: 1, mtimeMs: 1 }]);
      const pulled = await store.changedFiles(r, '0', 0, 10);
      expect(pulled.files.map((f) => [f.rel, f.status])).toEqual([
        ['a.jpg', 'pending'],
        ['b.jpg', 'pending'],
      ]);
      await slow.query('COMMIT');
      await slow.end();
      const next = await store.changedFiles(r, pulled.watermark, 0, 10);
      expect(next.files.map((f) => [f.rel, f.status])).toContainEqual(['a.jpg', 'failed']);
      await store.close();
    },
  );

  it('migrates from every earlier version, and refuses a newer schema', async () => {
    for (let from = 0; from < PG_SCHEMA_VERSION; from++) {
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      await c.query(
        `DROP TABLE IF EXISTS bindery_schema, jobs, content_packs, segments, packs, files, contents, root_mounts, roots CASCADE;
         DROP FUNCTION IF EXISTS bindery_file_changed CASCADE; DROP SEQUENCE IF EXISTS scan_ids`,
      );
      await c.end();
      const pool = new pg.Pool({ connectionString: server.url });
      await pgMigrate(pool, from);
      // A library written by the older schema survives the upgrade, and a replica pulls all of it.
      if (from >= 1)
        await pool.query(`INSERT INTO roots (key, name) VALUES ('k', 'photos');
          INSERT INTO files (root_id, rel, size, mtime_ms, status, scan_id)
            VALUES (1, 'a.jpg', 1, 1, 'pending', 1764000000000)`);
      await pool.end();
      const store = await PgStore.open(server.url);
      expect(await store.schemaVersion()).toBe(PG_SCHEMA_VERSION);
      if (from >= 1) {
        expect((await store.changedFiles(1, '0', 0, 10)).files.map((f) => f.rel)).toEqual(['a.jpg']);
        // Scan marks a worker's clock wrote before v3 stay older than every new scan's.
        expect(await store.beginScan()).toBeGreaterThan(1764000000000);
      }
      await store.close();
    }
    expect(PG_MIGRATIONS.length).toBe(PG_SCHEMA_VERSION);
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    await c.query('INSERT INTO bindery_schema VALUES ($1)', [PG_SCHEMA_VERSION + 1]);
    await c.end();
    await expect(PgStore.open(server.url)).rejects.toThrow(/newer than this Bindery/);
    const fix = new pg.Client({ connectionString: server.url });
    await fix.connect();
    await fix.query('DELETE FROM bindery_schema WHERE version > $1', [PG_SCHEMA_VERSION]);
    await fix.end();
  });

  it('never prints a password: the label and every error name the server without it', async () => {
    expect(redact('postgres://ann:s3cr%40t@nas.local:5432/bindery?sslmode=verify-full')).toBe(
      'postgres://ann:***@nas.local:5432/bindery?sslmode=verify-full',
    );
    expect(redact('postgresql://h/db?password=abc')).not.toMatch(/abc/);
    const store = await PgStore.open(server.url);
    expect(store.label).not.toMatch(/secret/);
    await store.close();
    const refused = await PgStore.open('postgres://ann:s3cret@127.0.0.1:9/none').catch((e: Error) => e);
    expect(String(refused)).not.toMatch(/s3cret/);
  });
});
