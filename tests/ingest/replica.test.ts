import { cp, mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppApi } from '../../app/api.js';
import { viaDispatch } from '../../app/dispatch.js';
import { coreService, type CoreService } from '../../main/core/api/service.js';
import { PgStore } from '../../main/core/catalogue/postgres/store.js';
import { Engine } from '../../main/core/engine/engine.js';
import { runSharedWorker, workerRef } from '../../main/core/ingest/shared-worker.js';
import { resolveMedia } from '../../main/core/media/media.js';
import { tempDir } from '../support/cli.js';
import { TEST_PACK_DIR } from '../support/paths.js';
import { startTestServer, type TestServer } from '../support/postgres.js';
import { writeImage, writeLibrary } from '../support/synth-media.js';

/**
 * The app on a shared catalogue (issue 16; docs/architecture.md §13): a NAS worker indexes a library
 * into PostgreSQL + pgvector; a laptop's app, with the same share mounted at another folder, mirrors
 * the catalogue into its own SQLite replica and searches, browses and previews it at its own paths,
 * with the answers the server gives; it follows the server's changes (new, deleted and moved
 * files, a moved mount), adds and removes folders as roots mounted on the laptop only, and keeps
 * searching while the server is away. Random weights: results are compared, never judged.
 */

let server: TestServer;
let tmp: { dir: string; cleanup: () => Promise<void> };
let nasFolder: string;
let laptopFolder: string;
let nas: PgStore;
let root: number;
let engine: Engine;
let service: CoreService;
let api: AppApi;

const PACK = 'bindery-test-pack';

async function nasWorkerRun(): Promise<void> {
  const e = await Engine.open({ dbPath: path.join(tmp.dir, 'nas-worker.db'), packDir: TEST_PACK_DIR });
  try {
    const { pack, runtime } = e.active;
    await runSharedWorker({ store: nas, pack, runtime, worker: workerRef('nas') });
  } finally {
    await e.close();
  }
}

/** The laptop sees the share under another path: a copy stands in for the same files over SMB. */
async function syncLaptopView(): Promise<void> {
  await rm(laptopFolder, { recursive: true, force: true });
  await cp(nasFolder, laptopFolder, { recursive: true, preserveTimestamps: true });
}

beforeAll(async () => {
  tmp = await tempDir('bindery-replica-');
  nasFolder = path.join(tmp.dir, 'nas', 'photos');
  laptopFolder = path.join(tmp.dir, 'laptop', 'Photos on NAS');
  await mkdir(nasFolder, { recursive: true });
  await writeLibrary(nasFolder, { images: 10, audio: 2 }, 7);
  await mkdir(path.join(nasFolder, 'trip'));
  await writeImage(path.join(nasFolder, 'trip', 'beach.png'), 99, 64, 48);
  server = await startTestServer();
  nas = await PgStore.open(server.url);
  root = (await nas.addRoot('photos', { machine: 'nas', folder: nasFolder })).id;
  await nasWorkerRun();
  await syncLaptopView();
  await nas.setMount(root, 'laptop', laptopFolder);
  engine = await Engine.open({
    dbPath: path.join(tmp.dir, 'laptop', 'replica.db'),
    packDir: TEST_PACK_DIR,
    shared: { url: server.url, machine: 'laptop' },
  });
  service = coreService(engine);
  api = viaDispatch(service);
}, 240_000);

afterAll(async () => {
  await engine?.close();
  await nas?.close();
  await server?.stop();
  await tmp?.cleanup();
});

describe(`the app on a shared catalogue (${process.env.BINDERY_TEST_PG_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('mirrors the catalogue at this machine’s paths and names the server without its password', async () => {
    const summary = await api.index({ skipScan: true });
    expect(summary.failed).toBe(0);
    const status = await api.status();
    expect(status.files.indexed).toBe(13);
    expect(status.shared).toMatchObject({ machine: 'laptop', error: null, queued: 0 });
    expect(status.shared?.label).toMatch(/^postgres:\/\/bindery:\*\*\*@/);
    expect(JSON.stringify(status)).not.toMatch(/secret/);
    expect(status.vectors.count).toBe(await nas.embeddingCount(PACK));
    const roots = await api.listRoots();
    expect(roots.map((r) => r.path)).toEqual([laptopFolder]);
    const page = await api.browse({ limit: 100 });
    expect(page.total).toBe(13);
    expect(page.items.every((i) => i.path.startsWith(laptopFolder + path.sep))).toBe(true);
    expect(page.items.map((i) => i.path)).toContain(path.join(laptopFolder, 'trip', 'beach.png'));
  });

  it('searches with the answers the server gives, and previews from this machine’s mount', async () => {
    const { vector } = await api.embed({ modality: 'text', text: 'a dog on the beach' });
    const q = Float32Array.from(vector);
    const terms = [{ modality: 'text' as const, text: 'a dog on the beach', weight: 1 }];
    // Photos: one segment each, so moments and the server's segments are the same list.
    const server = await nas.search(PACK, q, 8, { kinds: ['image'] });
    const here = await api.search({ terms, k: 8, level: 'segments', filters: { kinds: ['image'] } });
    expect(here.results.map((r) => r.segmentId)).toEqual(server.map((h) => h.segmentId));
    for (const [i, r] of here.results.entries()) expect(r.score).toBeCloseTo(server[i].score, 5);
    // Files: each file at its best segment, in the order the server's full ranking first meets them.
    const all = await nas.search(PACK, q, 1000);
    const files = await api.search({ terms, k: 6 });
    expect(files.results.map((r) => r.fileId)).toEqual([...new Set(all.map((h) => h.fileId))].slice(0, 6));
    const photo = here.results[0];
    const served = await resolveMedia(engine.db, photo.fileId, 'original');
    expect(served.path.startsWith(laptopFolder)).toBe(true);
    const info = await api.fileInfo({ fileId: photo.fileId });
    expect(info.segments.length).toBeGreaterThan(0);
    const sounds = await api.search({
      terms: [{ modality: 'text', text: 'waves', weight: 1 }],
      filters: { kinds: ['audio'] },
    });
    expect(sounds.results).toHaveLength(2);
  });

  it('follows the server: a new file, a deleted one, and a moved mount', async () => {
    await writeImage(path.join(nasFolder, 'new.png'), 1234, 64, 48);
    await unlink(path.join(nasFolder, 'trip', 'beach.png'));
    await nasWorkerRun();
    await syncLaptopView();
    await api.index({ skipScan: true });
    let status = await api.status();
    expect(status.files.indexed).toBe(13);
    expect(status.files.missing).toBe(1);
    const page = await api.browse({ limit: 100 });
    expect(page.items.map((i) => i.path)).toContain(path.join(laptopFolder, 'new.png'));

    const moved = path.join(tmp.dir, 'laptop', 'moved');
    await cp(laptopFolder, moved, { recursive: true, preserveTimestamps: true });
    await nas.setMount(root, 'laptop', moved);
    await api.index({ skipScan: true });
    status = await api.status();
    expect(status.roots.map((r) => r.path)).toEqual([moved]);
    expect(status.files.indexed).toBe(13);
    const after = await api.browse({ limit: 100 });
    expect(after.items.every((i) => i.path.startsWith(moved + path.sep))).toBe(true);
    await nas.setMount(root, 'laptop', laptopFolder);
    await api.index({ skipScan: true });
  });

  it('adds a folder as a root of its own mounted here, never joining another machine’s by name', async () => {
    const mine = path.join(tmp.dir, 'laptop', 'photos');
    await mkdir(mine, { recursive: true });
    await writeImage(path.join(mine, 'mine.png'), 555, 64, 48);
    const added = await api.addRoot({ path: mine });
    expect(added.path).toBe(mine);
    const named = (await nas.listRoots()).find((r) => r.id === added.id)!;
    expect(named.name).toBe('photos (laptop)');
    expect((await nas.mounts('nas')).map((m) => m.rootId)).toEqual([root]);
    const run = await api.index({});
    expect(run.indexed).toBe(1);
    expect((await api.browse({ limit: 100, filters: { roots: [added.id] } })).items).toHaveLength(1);
    expect(await api.addRoot({ path: mine })).toMatchObject({ id: added.id });
    await expect(api.addRoot({ path: path.join(laptopFolder, 'trip') })).rejects.toMatchObject({
      code: 'conflict',
    });

    const { removed } = await api.removeRoot({ id: added.id });
    expect(removed).toBe(1);
    expect((await api.listRoots()).map((r) => r.id)).toEqual([root]);
    expect((await nas.mounts('laptop')).map((m) => m.rootId)).toEqual([root]);
    expect((await nas.listRoots()).map((r) => r.id)).toContain(added.id);
  });

  it('serves a pack the catalogue holds that is installed here, or says which to install', async () => {
    const bare = path.join(tmp.dir, 'bare');
    const shared = { url: server.url, machine: 'bare' };
    await expect(Engine.open({ dbPath: path.join(bare, 'replica.db'), shared })).rejects.toThrow(
      /holds vectors of bindery-test-pack, and none of these packs is installed on this machine: install one/,
    );
    await cp(TEST_PACK_DIR, path.join(bare, 'packs', PACK), { recursive: true });
    const found = await Engine.open({ dbPath: path.join(bare, 'replica.db'), shared });
    expect(found.active.pack.dir).toBe(path.join(bare, 'packs', PACK));
    await found.close();

    // The library beside the replica shares its packs folder: it cannot delete the replica's pack.
    const other = path.join(bare, 'packs', 'other-pack');
    await cp(TEST_PACK_DIR, other, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(other, 'pack.json'), 'utf8')) as { id: string };
    await writeFile(path.join(other, 'pack.json'), JSON.stringify({ ...manifest, id: 'other-pack' }));
    const localDb = path.join(bare, 'catalogue.db');
    await (await Engine.open({ dbPath: localDb, packDir: path.join(bare, 'packs', PACK) })).close();
    const local = await Engine.open({ dbPath: localDb, packDir: other });
    await expect(viaDispatch(coreService(local)).removeModel({ id: PACK })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/in use by the catalogue .*replica\.db; it stays installed/),
    });
    await local.close();
    expect((await readdir(path.join(bare, 'packs', PACK))).length).toBeGreaterThan(0);

    // A first start with the server away says so, without the password.
    const away = Engine.open({
      dbPath: path.join(bare, 'away.db'),
      shared: { url: 'postgres://ann:s3cret@127.0.0.1:9/db', machine: 'bare' },
    });
    await expect(away).rejects.toThrow(
      /^the shared catalogue postgres:\/\/ann:\*\*\*@127\.0\.0\.1:9\/db cannot be reached \(.*\), and this machine has no copy of it yet$/,
    );

    // A catalogue no worker has written to holds no pack: the app asks which, never registers the test pack.
    const empty = await startTestServer();
    try {
      await expect(
        Engine.open({ dbPath: path.join(bare, 'empty.db'), shared: { url: empty.url, machine: 'bare' } }),
      ).rejects.toThrow(/no worker has written to the shared catalogue .* yet.*--pack/);
    } finally {
      await empty.stop();
    }
  });

  it('never takes a library of its own for a replica, nor a replica for a library', async () => {
    const own = path.join(tmp.dir, 'own.db');
    const local = await Engine.open({ dbPath: own, packDir: TEST_PACK_DIR });
    await viaDispatch(coreService(local)).addRoot({ path: nasFolder });
    await local.close();
    const shared = { url: server.url, machine: 'laptop' };
    await expect(Engine.open({ dbPath: own, packDir: TEST_PACK_DIR, shared })).rejects.toThrow(
      /is a library of its own, not a replica of bindery@127\.0\.0\.1:\d+\/\w+/,
    );
    await expect(
      Engine.open({ dbPath: path.join(tmp.dir, 'laptop', 'replica.db'), packDir: TEST_PACK_DIR }),
    ).rejects.toThrow(/mirrors the shared catalogue bindery@127\.0\.0\.1:\d+\/\w+: open it with --catalogue/);
  });

  it('refuses to switch packs on a replica, in plain words', async () => {
    await expect(api.useModel({ id: PACK })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/mirrors the shared catalogue postgres:\/\/bindery:\*\*\*@/),
    });
  });

  it.skipIf(Boolean(process.env.BINDERY_TEST_PG_URL))(
    'keeps searching and browsing while the server is away (PGlite only: tests do not stop a real server)',
    async () => {
      const away = server.outage!(1500);
      await new Promise((r) => setTimeout(r, 100));
      const found = await api.search({ terms: [{ modality: 'text', text: 'a photo', weight: 1 }], k: 3 });
      expect(found.results).toHaveLength(3);
      expect((await api.status()).files.indexed).toBe(13);
      // A pull meanwhile fails and says so; the mirror is left as it was, and catches up after.
      await expect(api.index({ skipScan: true })).rejects.toMatchObject({ code: 'offline' });
      await expect(api.addRoot({ path: tmp.dir })).rejects.toMatchObject({
        code: 'offline',
        message: expect.stringMatching(
          /^the shared catalogue postgres:\/\/bindery:\*\*\*@.* cannot be reached/,
        ),
      });
      expect((await api.status()).shared?.error).toBeTruthy();
      // The app starts on its replica with the server away: search needs only the copy.
      const again = await Engine.open({
        dbPath: path.join(tmp.dir, 'laptop', 'replica.db'),
        shared: { url: server.url, machine: 'laptop' },
      });
      const offline = viaDispatch(coreService(again));
      expect(
        (await offline.search({ terms: [{ modality: 'text', text: 'a photo', weight: 1 }], k: 3 })).results,
      ).toHaveLength(3);
      await again.close();
      await away;
      await api.index({ skipScan: true });
      expect((await api.status()).shared?.error).toBeNull();
    },
  );
});
