import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, rename, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage, writeLibrary, writeTone } from '../support/synth-media.js';
import { checksums, jsonLines, runCli, tempDir } from '../support/cli.js';
import { FIXTURES_DIR } from '../support/paths.js';

/** Every vector backend, the default (quant) first. */
const BACKENDS = ['quant', 'vec', 'vss'] as const;

/**
 * The engine's vertical slice through the real `bindery` command: a library of real fixtures,
 * generated media and malformed files is indexed, searched on both vector backends, then renamed.
 */

const FIXTURES = ['dog', 'car', 'bird'].flatMap((n) => [`${n}_image.jpg`, `${n}_audio.wav`]);
const GOOD_ODD_NAMES = ['name with spaces ünïcödé.jpg', 'new\nline.jpg'];
const IS_ROOT = process.getuid?.() === 0;

let dir: string;
let lib: string;
let cleanup: () => Promise<void>;
let before: Map<string, string>;
const summaries: Record<string, { indexed: number; failed: number; embedded: number; moved: number }> = {};

async function makeMalformed(into: string): Promise<string[]> {
  const dog = await readFile(path.join(FIXTURES_DIR, 'dog_image.jpg'));
  const bad: [string, Buffer | string][] = [
    ['zero-byte.jpg', Buffer.alloc(0)],
    ['truncated.jpg', dog.subarray(0, 3000)],
    ['notes.jpg', 'this is a text file pretending to be a photo\n'],
    ['header-only.wav', headerOnlyWav()],
    ['random.mp4', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256))],
  ];
  for (const [name, body] of bad) await writeFile(path.join(into, name), body);
  execFileSync('mkfifo', [path.join(into, 'pipe.jpg')]);
  const names = [...bad.map(([n]) => n), 'pipe.jpg'];
  if (!IS_ROOT) {
    await writeFile(path.join(into, 'unreadable.jpg'), dog);
    await chmod(path.join(into, 'unreadable.jpg'), 0);
    names.push('unreadable.jpg');
  }
  return names.map((n) => path.join(into, n));
}

/**
 * Entries a scan passes over on purpose (issue 13 #8, #12), each of which must be listed with its
 * reason: links of every sort, hidden entries, names that are not valid UTF-8. Returns the paths as
 * status shows them, with how many files each hides (a skipped folder's files are never entered).
 */
async function makeSkipped(into: string): Promise<Map<string, { reason: RegExp; hides: number }>> {
  const dog = path.join(FIXTURES_DIR, 'dog_image.jpg');
  const skipped = new Map<string, { reason: RegExp; hides: number }>();
  const link = (name: string, target: string) => {
    skipped.set(path.join(into, name), { reason: /symbolic link/, hides: 0 });
    return symlink(target, path.join(into, name));
  };
  await link('link-inside.jpg', path.join(into, 'bird_image.jpg'));
  await link('link-outside.jpg', dog);
  await link('dangling.jpg', path.join(into, 'no-such-file.jpg'));
  await link('loop', into);
  await writeFile(path.join(into, '.hidden.jpg'), await readFile(dog));
  skipped.set(path.join(into, '.hidden.jpg'), { reason: /hidden/, hides: 0 });
  await mkdir(path.join(into, '.cache'));
  await writeFile(path.join(into, '.cache', 'inside.jpg'), await readFile(dog));
  skipped.set(path.join(into, '.cache'), { reason: /hidden/, hides: 1 });
  // Latin-1 "café.jpg" and a folder "Fotos-\xff", neither valid UTF-8.
  const bytes = (name: string) => Buffer.concat([Buffer.from(`${into}/`), Buffer.from(name, 'latin1')]);
  await writeFile(bytes('caf\xe9.jpg'), await readFile(dog));
  skipped.set(path.join(into, 'caf\\xe9.jpg'), { reason: /not valid UTF-8/, hides: 0 });
  await mkdir(bytes('Fotos-\xff'));
  await writeFile(Buffer.concat([bytes('Fotos-\xff'), Buffer.from('/in.jpg')]), await readFile(dog));
  skipped.set(path.join(into, 'Fotos-\\xff'), { reason: /not valid UTF-8/, hides: 1 });
  return skipped;
}

function headerOnlyWav(): Buffer {
  const b = Buffer.alloc(44);
  b.write('RIFF', 0);
  b.writeUInt32LE(36, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(16000, 24);
  b.writeUInt32LE(32000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  return b;
}

let badFiles: string[];
let skippedEntries: Map<string, { reason: RegExp; hides: number }>;
const db = (backend: string) => path.join(dir, `${backend}.db`);

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  lib = path.join(dir, 'library');
  await mkdir(path.join(lib, 'nested', 'deeper'), { recursive: true });
  for (const f of FIXTURES) await copyFile(path.join(FIXTURES_DIR, f), path.join(lib, f));
  await writeLibrary(path.join(lib, 'nested'), { images: 4, audio: 3, videos: 1 }, 3);
  await writeImage(path.join(lib, 'nested', 'deeper', 'tiny.png'), 99, 40, 30);
  await writeTone(path.join(lib, 'nested', 'deeper', 'short.wav'), 5, 0.5);
  for (const n of GOOD_ODD_NAMES) await writeImage(path.join(lib, n), n.length);
  badFiles = await makeMalformed(lib);
  skippedEntries = await makeSkipped(lib);
  before = await checksums(lib);
  for (const backend of BACKENDS) {
    await expectOk(runCli(['--db', db(backend), '--backend', backend, 'add', lib]));
    const r = await expectOk(runCli(['--db', db(backend), 'index', '--json']));
    const lines = jsonLines(r.stdout) as { summary?: (typeof summaries)[string] }[];
    summaries[backend] = lines.at(-1)!.summary!;
  }
});

afterAll(async () => cleanup?.());

async function expectOk(p: ReturnType<typeof runCli>) {
  const r = await p;
  if (r.code !== 0) throw new Error(`bindery exited ${r.code}: ${r.stderr}`);
  return r;
}

const GOOD_COUNT = FIXTURES.length + 4 + 3 + 1 + 2 + GOOD_ODD_NAMES.length;

describe('bindery index on a mixed library', () => {
  it.each(BACKENDS)('indexes every good file and reports every bad one (%s)', async (backend) => {
    expect(summaries[backend].indexed).toBe(GOOD_COUNT);
    expect(summaries[backend].failed).toBe(badFiles.length);
    const status = JSON.parse((await expectOk(runCli(['--db', db(backend), 'status', '--json']))).stdout);
    expect(status.files.indexed).toBe(GOOD_COUNT);
    const failed = new Map<string, string>(
      status.failures.map((f: { path: string; error: string }) => [f.path, f.error]),
    );
    for (const bad of badFiles) {
      expect(failed.has(bad), `${bad} should be reported`).toBe(true);
      expect(failed.get(bad)!.length).toBeGreaterThan(5);
    }
    expect(failed.get(path.join(lib, 'zero-byte.jpg'))).toMatch(/empty/);
    expect(failed.get(path.join(lib, 'notes.jpg'))).toMatch(/unsupported|not recognised/);
    expect(failed.get(path.join(lib, 'pipe.jpg'))).toMatch(/named pipe/);
    expect(status.model.testPack).toBe(true);
    expect(status.vectors.backend).toBe(backend);
  });

  it('lists every entry it passes over with its reason: links, hidden entries, non-UTF-8 names (0 lost)', async () => {
    const status = JSON.parse((await expectOk(runCli(['--db', db('vec'), 'status', '--json']))).stdout);
    const root = status.roots[0] as { skipped: { path: string; reason: string }[]; skippedTotal: number };
    const listed = new Map(root.skipped.map((k) => [k.path, k.reason]));
    for (const [p, { reason }] of skippedEntries) expect(listed.get(p), p).toMatch(reason);
    expect(root.skippedTotal).toBe(skippedEntries.size);
    // Every entry on disk that is not a folder is indexed, failed or skipped (a link counts as
    // one entry; each skipped folder here holds exactly one file).
    const onDisk = Number(
      execFileSync('sh', ['-c', `find "$0" -mindepth 1 ! -type d -printf x | wc -c`, lib]).toString(),
    );
    const inSkippedFolders = [...skippedEntries.values()].reduce((a, k) => a + k.hides, 0);
    const skippedFolders = [...skippedEntries.values()].filter((k) => k.hides > 0).length;
    expect(
      status.files.indexed + status.files.failed + root.skippedTotal - skippedFolders + inSkippedFolders,
    ).toBe(onDisk);
    expect(status.failures.map((f: { path: string }) => f.path)).not.toContain(
      path.join(lib, 'link-outside.jpg'),
    );
  });

  it.each(BACKENDS)('finds dog_image.jpg first for its own image (%s)', async (backend) => {
    const r = await expectOk(
      runCli(['--db', db(backend), 'search', '--image', path.join(FIXTURES_DIR, 'dog_image.jpg'), '--json']),
    );
    const out = JSON.parse(r.stdout);
    expect(path.basename(out.results[0].path)).toBe('dog_image.jpg');
    expect(out.results[0].score).toBeGreaterThanOrEqual(0.999);
    expect(out.results[0].terms[0]).toBeGreaterThanOrEqual(0.999);
    expect(out.backend).toBe(backend);
    expect(out.notMeaningful).toBe(true);
  });

  it('returns audio moments with timestamps and honours --kind', async () => {
    const r = await expectOk(
      runCli([
        '--db',
        db('vec'),
        'search',
        '--audio',
        path.join(FIXTURES_DIR, 'bird_audio.wav'),
        '--kind',
        'audio',
        '--json',
      ]),
    );
    const out = JSON.parse(r.stdout);
    expect(out.results.length).toBeGreaterThan(3);
    expect(out.results.every((h: { kind: string }) => h.kind === 'audio')).toBe(true);
    expect(path.basename(out.results[0].path)).toBe('bird_audio.wav');
    const withMoment = out.results.filter((h: { segment: unknown }) => h.segment !== null);
    expect(withMoment.length).toBeGreaterThan(0);
  });

  it('never modifies user files', async () => {
    expect(await checksums(lib)).toEqual(before);
  });

  it('a second run is incremental and embeds nothing', async () => {
    const r = await expectOk(runCli(['--db', db('vec'), 'index', '--json']));
    const s = (jsonLines(r.stdout).at(-1) as { summary: { skipped: number; embedded: number } }).summary;
    expect(s.embedded).toBe(0);
    expect(s.skipped).toBe(GOOD_COUNT + badFiles.length);
  });

  it('renames and moves are found by content and never re-embedded', async () => {
    await mkdir(path.join(lib, 'moved'));
    await rename(path.join(lib, 'dog_image.jpg'), path.join(lib, 'moved', 'renamed dog.jpg'));
    await rename(path.join(lib, 'car_audio.wav'), path.join(lib, 'nested', 'car.wav'));
    for (const backend of BACKENDS) {
      const r = await expectOk(runCli(['--db', db(backend), 'index', '--json']));
      const s = (jsonLines(r.stdout).at(-1) as { summary: typeof summaries.vec & { removed: number } })
        .summary;
      expect(s.embedded).toBe(0);
      expect(s.moved).toBe(2);
      expect(s.removed).toBe(2);
      const hit = JSON.parse(
        (
          await expectOk(
            runCli([
              '--db',
              db(backend),
              'search',
              '--image',
              path.join(FIXTURES_DIR, 'dog_image.jpg'),
              '--json',
            ]),
          )
        ).stdout,
      ).results[0];
      expect(hit.path).toBe(path.join(lib, 'moved', 'renamed dog.jpg'));
    }
  });
});

describe('an indexed file replaced by a symbolic link', () => {
  it('is retired and the link is listed as skipped with its reason, never silently', async () => {
    const victim = path.join(lib, 'nested', 'deeper', 'tiny.png');
    await unlink(victim);
    await symlink(path.join(lib, 'bird_image.jpg'), victim);
    const r = await expectOk(runCli(['--db', db('vec'), 'index', '--json']));
    expect((jsonLines(r.stdout).at(-1) as { summary: { removed: number } }).summary.removed).toBe(1);
    const status = JSON.parse((await expectOk(runCli(['--db', db('vec'), 'status', '--json']))).stdout);
    const listed = (status.roots[0].skipped as { path: string; reason: string }[]).find(
      (k) => k.path === victim,
    );
    expect(listed?.reason).toMatch(/symbolic link/);
  });
});

describe('switching the vector backend of a catalogue', () => {
  it('rebuilds the index from the stored embeddings and keeps searching', async () => {
    const before = JSON.parse((await expectOk(runCli(['--db', db('vec'), 'status', '--json']))).stdout);
    const r = await expectOk(
      runCli([
        '--db',
        db('vec'),
        '--backend',
        'vss',
        'search',
        '--image',
        path.join(FIXTURES_DIR, 'bird_image.jpg'),
        '--json',
      ]),
    );
    const out = JSON.parse(r.stdout);
    expect(out.backend).toBe('vss');
    expect(path.basename(out.results[0].path)).toBe('bird_image.jpg');
    const after = JSON.parse((await expectOk(runCli(['--db', db('vec'), 'status', '--json']))).stdout);
    expect(after.vectors).toMatchObject({ backend: 'vss', count: before.vectors.count });
  });
});
