import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppApi } from '../../app/api.js';
import { viaDispatch } from '../../app/dispatch.js';
import { coreService } from '../../main/core/api/service.js';
import { embeddingCount } from '../../main/core/catalogue/contents.js';
import {
  markMissingAt,
  markUnseenMissing,
  queuedCount,
  recordSeen,
} from '../../main/core/catalogue/files.js';
import { addRoot } from '../../main/core/catalogue/roots.js';
import { Engine } from '../../main/core/engine/engine.js';
import { writeImage } from '../support/synth-media.js';

/**
 * When the catalogue may call a file missing (issue 14's review): never for a file a watcher
 * recorded while a scan ran, never for a whole root that merely looks empty (an empty mount
 * point), at once for a deleted folder whatever its name, and without leaving its job to fail.
 */

let dir: string;
let engine: Engine;
let api: AppApi;
const status = (p: string) =>
  engine.db.prepare('SELECT status FROM files WHERE path = ?').pluck().get(p) as string | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-missing-'));
  process.env.BINDERY_HOME = path.join(dir, 'home');
  engine = await Engine.open({ dbPath: path.join(dir, 'catalogue.db'), backend: 'quant' });
  api = viaDispatch(coreService(engine));
});

afterAll(async () => {
  await engine?.close();
  delete process.env.BINDERY_HOME;
  await rm(dir, { recursive: true, force: true });
});

describe('missing files', () => {
  it('a scan retires only rows older than itself, not what a watcher recorded meanwhile', () => {
    const root = addRoot(engine.db, path.join(dir, 'virtual'));
    const f = (name: string) => ({ path: path.join(root.path, name), size: 1, mtimeMs: 1 });
    recordSeen(engine.db, root.id, 100, f('old.jpg'));
    recordSeen(engine.db, root.id, 300, f('recorded-by-watcher.jpg'));
    expect(markUnseenMissing(engine.db, root.id, 200)).toBe(1);
    expect(status(f('old.jpg').path)).toBe('missing');
    expect(status(f('recorded-by-watcher.jpg').path)).toBe('pending');
  });

  it('a deleted folder with any name marks its files missing at once, and drops their jobs', () => {
    const root = addRoot(engine.db, path.join(dir, 'emoji'));
    const party = path.join(root.path, '🎉 party');
    for (const name of ['a.jpg', 'b.jpg'])
      recordSeen(engine.db, root.id, 1, { path: path.join(party, name), size: 1, mtimeMs: 1 });
    const queued = queuedCount(engine.db);
    expect(markMissingAt(engine.db, party)).toBe(2);
    expect(status(path.join(party, 'a.jpg'))).toBe('missing');
    expect(queuedCount(engine.db)).toBe(queued - 2);
  });

  it('a library folder that is suddenly empty is offline (an empty mount point), not emptied', async () => {
    const lib = path.join(dir, 'drive');
    await mkdir(lib, { recursive: true });
    await writeImage(path.join(lib, 'one.jpg'), 5);
    await writeImage(path.join(lib, 'two.jpg'), 6);
    const root = await api.addRoot({ path: lib });
    await api.index({});
    const vectors = embeddingCount(engine.db, engine.active.id);
    await rm(path.join(lib, 'one.jpg'));
    await rm(path.join(lib, 'two.jpg'));
    await api.index({});
    const after = (await api.listRoots()).find((r) => r.id === root.id)!;
    expect(after.status).toBe('offline');
    expect(after.files.missing).toBe(0);
    expect(after.unreachable[0].error).toMatch(/empty mount point/);
    expect(embeddingCount(engine.db, engine.active.id)).toBe(vectors);
    // The drive is back: online, and nothing is embedded again.
    await writeImage(path.join(lib, 'one.jpg'), 5);
    await writeImage(path.join(lib, 'two.jpg'), 6);
    await api.index({});
    expect((await api.listRoots()).find((r) => r.id === root.id)!.status).toBe('online');
    expect(embeddingCount(engine.db, engine.active.id)).toBe(vectors);
  });
});
