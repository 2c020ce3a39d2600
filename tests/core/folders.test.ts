import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppApi, DirListing } from '../../app/api.js';
import { API_SCHEMAS } from '../../app/api.js';
import { viaDispatch } from '../../app/dispatch.js';
import { ApiError } from '../../app/errors.js';
import { MAX_LISTED } from '../../main/core/api/folders.js';
import { systemFolderOf } from '../../main/core/ingest/folders.js';
import { coreService } from '../../main/core/api/service.js';
import { Engine } from '../../main/core/engine/engine.js';
import { REPO_ROOT } from '../support/paths.js';

/**
 * Library folders and the folder picker (issue 15, item 4) on real folders: what addRoot refuses
 * and why, in plain words (a relative path, a missing folder, a file, a named pipe, a link that
 * loops, an unreadable folder, an overlap), and what listDirs shows (subfolders only, hidden ones
 * counted, unreadable ones marked, a huge folder capped, loops harmless). Permissions mean nothing
 * to root, so the unreadable cases run as `nobody` when the tests run as root.
 */

const IS_ROOT = process.getuid?.() === 0;
let dir: string;
let engine: Engine;
let api: AppApi;
const at = (...p: string[]) => path.join(dir, ...p);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-folders-'));
  await chmod(dir, 0o755); // `nobody` must reach the folders below
  process.env.BINDERY_HOME = at('home');
  await mkdir(at('lib', 'Pictures', '2024'), { recursive: true });
  await mkdir(at('lib', 'Music'), { recursive: true });
  await mkdir(at('lib', '.cache'), { recursive: true });
  await mkdir(at('lib', 'private'), { recursive: true });
  await chmod(at('lib', 'private'), 0o000);
  await writeFile(at('lib', 'notes.txt'), 'secret words');
  execFileSync('mkfifo', [at('lib', 'pipe')]);
  await symlink(at('lib', 'loop-b'), at('lib', 'loop-a'));
  await symlink(at('lib', 'loop-a'), at('lib', 'loop-b'));
  await symlink('..', at('lib', 'Music', 'up')); // a link to an ancestor: a cycle for a walker
  engine = await Engine.open({ dbPath: at('catalogue.db'), backend: 'quant' });
  api = viaDispatch(coreService(engine));
});

afterAll(async () => {
  await engine?.close();
  delete process.env.BINDERY_HOME;
  await chmod(at('lib', 'private'), 0o755).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
}

/**
 * Runs `call(folders, library)` as `nobody`, where `folders` is main/core/api/folders.ts and
 * `library` main/core/ingest/folders.ts (bundled by esbuild, so no build is needed); returns what
 * the call resolved to, or its error's message.
 */
async function asNobody(call: string): Promise<{ ok?: unknown; error?: string }> {
  const entry = at('as-nobody.ts');
  const src = (f: string) => JSON.stringify(path.join(REPO_ROOT, 'main', 'core', f));
  await writeFile(
    entry,
    `import * as folders from ${src('api/folders.ts')};\n` +
      `import * as library from ${src('ingest/folders.ts')};\n` +
      `const out = await (${call})(folders, library).then((ok) => ({ ok }), (e) => ({ error: e.message }));\n` +
      'console.log(JSON.stringify(out));\n',
  );
  const outfile = at('as-nobody.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'warning',
  });
  const r = spawnSync(process.execPath, [outfile], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { ok?: unknown; error?: string };
}

/** Paths that are no folder at all, each with the words its refusal must use. */
const NOT_FOLDERS: [string, () => string, RegExp][] = [
  ['a relative path', () => 'lib/Pictures', /give an absolute path/],
  ['a missing folder', () => at('no-such', 'photos'), /no such folder/],
  ['a file', () => at('lib', 'notes.txt'), /not a folder: it is a file/],
  ['a named pipe', () => at('lib', 'pipe'), /not a folder: it is a named pipe/],
  ['a link that loops', () => at('lib', 'loop-a'), /a symbolic link that loops/],
];

describe('system folders', () => {
  it.skipIf(process.platform !== 'linux')(
    'refuses /proc, /sys, /dev and /run, but not drives udisks mounts under /run/media',
    () => {
      for (const p of ['/proc', '/sys/class', '/dev/shm', '/run/user/1000'])
        expect(systemFolderOf(p)).toBeDefined();
      expect(systemFolderOf('/run/media/ann/USB STICK/DCIM')).toBeUndefined();
      expect(systemFolderOf('/running/photos')).toBeUndefined();
    },
  );
});

describe('adding a library folder', () => {
  it.each(NOT_FOLDERS)('refuses %s with a 400 that says why', async (_what, folder, why) => {
    const e = await refusal(api.addRoot({ path: folder() }));
    expect(e.code).toBe('invalid_request');
    expect(e.message).toMatch(why);
    expect(await api.listRoots()).toEqual([]);
  });

  it('refuses a folder it cannot read', async () => {
    const folder = at('lib', 'private');
    const message = IS_ROOT
      ? (await asNobody(`(f, lib) => lib.checkLibraryFolder(${JSON.stringify(folder)})`)).error
      : (await refusal(api.addRoot({ path: folder }))).message;
    expect(message).toMatch(/cannot be read \(permission denied\)/);
  });

  it('adds a folder once, and refuses one inside it', async () => {
    const first = await api.addRoot({ path: at('lib', 'Pictures') });
    expect((await api.addRoot({ path: at('lib', 'Pictures') })).id).toBe(first.id);
    const e = await refusal(api.addRoot({ path: at('lib', 'Pictures', '2024') }));
    expect(e.code).toBe('conflict');
    expect(e.message).toMatch(/overlaps the library folder/);
    await api.removeRoot({ id: first.id });
  });
});

describe('listDirs, the folder picker', () => {
  const list = (p?: string) => api.listDirs(p === undefined ? {} : { path: p });

  it('lists subfolders only, by name, with hidden ones and files counted but never named', async () => {
    const l = await list(at('lib'));
    expect(API_SCHEMAS.listDirs.response.parse(l)).toEqual(l);
    expect(l.entries.map((e) => e.name)).toEqual(['Music', 'Pictures', 'private']);
    expect(l).toMatchObject({ path: at('lib'), parent: dir, hidden: 1, more: 0, error: null, refusal: null });
    // notes.txt, the pipe and the two looping links are entries that are not folders.
    expect(l.files).toBe(4);
    expect(JSON.stringify(l)).not.toMatch(/notes\.txt|secret|pipe|loop-/);
    expect(l.places[0]).toEqual({ label: 'Home', path: os.homedir() });
  });

  it('starts at the home folder', async () => {
    expect((await list()).path).toBe(os.homedir());
  });

  it('follows a link to an ancestor one level at a time, marked as a link', async () => {
    const music = await list(at('lib', 'Music'));
    expect(music.entries).toEqual([
      { name: 'up', path: at('lib', 'Music', 'up'), link: true, readable: true },
    ]);
    const through = await list(at('lib', 'Music', 'up'));
    expect(through.entries.map((e) => e.name)).toEqual(['Music', 'Pictures', 'private']);
  });

  it.each(NOT_FOLDERS)('refuses to list %s with a 400 that says why', async (_what, folder, why) => {
    const e = await refusal(list(folder()));
    expect(e.code).toBe('invalid_request');
    expect(e.message).toMatch(why);
  });

  it('marks a folder it cannot read, and lists it as unreadable instead of failing', async () => {
    const [parent, inside] = IS_ROOT
      ? ((
          await asNobody(
            `async (f) => [await f.listSubfolders(${JSON.stringify(at('lib'))}, []), ` +
              `await f.listSubfolders(${JSON.stringify(at('lib', 'private'))}, [])]`,
          )
        ).ok as DirListing[])
      : [await list(at('lib')), await list(at('lib', 'private'))];
    expect(parent.entries.find((e) => e.name === 'private')?.readable).toBe(false);
    expect(parent.entries.find((e) => e.name === 'Music')?.readable).toBe(true);
    expect(inside).toMatchObject({ entries: [], error: 'cannot be opened: permission denied' });
    expect(inside.refusal).toMatch(/cannot be read/);
  });

  it('says why the listed folder cannot be added: inside a library folder, or a system folder', async () => {
    const root = await api.addRoot({ path: at('lib', 'Pictures') });
    expect((await list(at('lib', 'Pictures'))).refusal).toMatch(/already a library folder/);
    expect((await list(at('lib', 'Pictures', '2024'))).refusal).toMatch(/overlaps the library folder/);
    expect((await list(at('lib'))).places.map((p) => p.path)).toContain(at('lib', 'Pictures'));
    await api.removeRoot({ id: root.id });
    if (process.platform === 'linux') expect((await list('/proc')).refusal).toMatch(/system folder/);
  });

  it('caps a huge folder and says how many more it has', async () => {
    const big = at('big');
    await mkdir(big);
    const n = MAX_LISTED + 7;
    for (let i = 0; i < n; i++) await mkdir(path.join(big, `d${i}`));
    const l = await list(big);
    expect(l.entries).toHaveLength(MAX_LISTED);
    expect(l.more).toBe(7);
    // Numeric order: d2 before d10.
    expect(l.entries.slice(0, 3).map((e) => e.name)).toEqual(['d0', 'd1', 'd2']);
  });
});
