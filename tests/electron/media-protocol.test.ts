import { mkdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage } from '../support/synth-media.js';
import { Engine } from '../../main/core/engine/engine.js';
import { resolveMedia } from '../../main/core/media/media.js';
import { viaDispatch } from '../../app/dispatch.js';
import { coreService } from '../../main/core/api/service.js';
import { mediaUrl, parseMediaUrl } from '../../app/transport.js';
import { createMediaHandler } from '../../main/electron/media-protocol.js';
import { tempDir } from '../support/cli.js';

/**
 * media:// against a real catalogue: files indexed by the real engine (test pack), resolved by
 * the real resolveMedia, streamed by the handler the shell installs with protocol.handle.
 */

let dir: string;
let cleanup: () => Promise<void>;
let engine: Engine;
let handler: (r: Request) => Promise<Response>;
const ids: Record<string, number> = {};
let photoBytes: Buffer;

const get = (url: string, headers: Record<string, string> = {}, method = 'GET') =>
  handler(new Request(url, { method, headers }));

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('bindery-media-'));
  const lib = path.join(dir, 'library');
  await mkdir(lib);
  await writeFile(path.join(dir, 'secret.jpg'), 'outside the library: must never be served');
  for (const [name, seed] of [
    ['photo.jpg', 1],
    ['swapped.jpg', 2],
    ['deleted.jpg', 3],
  ] as const) {
    await writeImage(path.join(lib, name), seed, 640, 480);
  }
  engine = await Engine.open({ dbPath: path.join(dir, 'catalogue.db') });
  const api = viaDispatch(coreService(engine));
  await api.addRoot({ path: lib });
  const summary = await api.index({});
  expect(summary.indexed).toBe(3);
  const rows = engine.db.prepare('SELECT id, path FROM files').all() as { id: number; path: string }[];
  for (const r of rows) ids[path.basename(r.path)] = r.id;
  photoBytes = await readFile(path.join(lib, 'photo.jpg'));
  // After indexing: one file becomes a link leaving the library, one disappears.
  await unlink(path.join(lib, 'swapped.jpg'));
  await symlink(path.join(dir, 'secret.jpg'), path.join(lib, 'swapped.jpg'));
  await rm(path.join(lib, 'deleted.jpg'));
  handler = createMediaHandler((id, variant) => resolveMedia(engine.db, id, variant));
});

afterAll(async () => {
  await engine?.close();
  await cleanup?.();
});

describe('media:// URLs', () => {
  it('parses only media://file/<positive id>/<variant>', () => {
    expect(parseMediaUrl('media://file/12/original')).toEqual({ fileId: 12, variant: 'original' });
    expect(parseMediaUrl(mediaUrl(7, 'thumb'))).toEqual({ fileId: 7, variant: 'thumb' });
    for (const bad of [
      'media://file/0/original',
      'media://file/-1/original',
      'media://file/01/original',
      'media://file/1.5/original',
      'media://file/abc/original',
      'media://file/1e3/original',
      'media://file/9999999999999999/original',
      'media://file/1/secret',
      'media://file/1/original/',
      'media://file/1/original?x=1',
      'media://file/1/original#t=3',
      'media://file/1/../2/original',
      'media://file/%31/original',
      'media://file/1/%2e%2e/original',
      'media://file/1/..%2foriginal',
      'media://file/1\\..\\original',
      'media://other/1/original',
      'media://FILE/1/original',
      'app://file/1/original',
      'media:///etc/passwd',
      'media://file/1/original'.padEnd(200, 'x'),
    ]) {
      expect(parseMediaUrl(bad), bad).toBeNull();
    }
  });
});

describe('media:// handler on a real catalogue', () => {
  it('serves an indexed file whole, with its type and length', async () => {
    const res = await get(mediaUrl(ids['photo.jpg'], 'original'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-length')).toBe(String(photoBytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(photoBytes)).toBe(true);
  });

  it('serves byte ranges with 206 and the exact bytes', async () => {
    const n = photoBytes.length;
    for (const [header, start, end] of [
      ['bytes=0-99', 0, 99],
      ['bytes=100-', 100, n - 1],
      ['bytes=-50', n - 50, n - 1],
      [`bytes=${n - 10}-${n + 1000}`, n - 10, n - 1],
    ] as const) {
      const res = await get(mediaUrl(ids['photo.jpg'], 'original'), { range: header });
      expect(res.status, header).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${n}`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(Buffer.from(await res.arrayBuffer()).equals(photoBytes.subarray(start, end + 1)), header).toBe(
        true,
      );
    }
  });

  it('answers 416 to a range past the end, and HEAD without a body', async () => {
    const n = photoBytes.length;
    const res = await get(mediaUrl(ids['photo.jpg'], 'original'), { range: `bytes=${n}-` });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${n}`);
    const head = await get(mediaUrl(ids['photo.jpg'], 'original'), {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(n));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('serves a thumbnail', async () => {
    const res = await get(mediaUrl(ids['photo.jpg'], 'thumb'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(8, 12).toString()).toBe('WEBP');
  });

  it('refuses a link swapped in after indexing that leaves the library (403)', async () => {
    const res = await get(mediaUrl(ids['swapped.jpg'], 'original'));
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain('outside the library: must never');
  });

  it('answers 404 for a deleted file and an unknown id', async () => {
    expect((await get(mediaUrl(ids['deleted.jpg'], 'original'))).status).toBe(404);
    expect((await get(mediaUrl(987654, 'original'))).status).toBe(404);
  });

  it('refuses traversal, encodings, other hosts, odd ids and other methods without touching the catalogue', async () => {
    const id = ids['photo.jpg'];
    for (const url of [
      `media://file/${id}/../../secret.jpg`,
      `media://file/${id}/%2e%2e/%2e%2e/secret.jpg`,
      `media://file/${id}%2Foriginal`,
      `media://file/${id}/original%00`,
      `media://file/abc/original`,
      `media://file/${id}.0/original`,
      `media://file/${id}/ORIGINAL`,
      `media://other/${id}/original`,
      `media://file/${id}/original?path=/etc/passwd`,
    ]) {
      const res = await handler(new Request(url));
      expect([400, 404], url).toContain(res.status);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.equals(photoBytes), url).toBe(false);
    }
    const post = await get(mediaUrl(id, 'original'), {}, 'POST');
    expect(post.status).toBe(405);
  });

  it('sees URLs after canonicalisation: dot segments fold into another opaque id, never a path', async () => {
    // Chromium (like WHATWG URL here) folds `..` and `%2e%2e` before the handler runs; what is
    // left names a file id like any other, so nothing outside the catalogue becomes reachable.
    const id = ids['photo.jpg'];
    const folded = new Request(`media://file/%2e%2e/${id}/original`);
    expect(folded.url).toBe(mediaUrl(id, 'original'));
    expect((await handler(folded)).status).toBe(200);
    const escaped = new Request(`media://file/${id}/%2e%2e/%2e%2e/%2e%2e/etc/passwd`);
    expect(escaped.url).toBe('media://file/etc/passwd');
    expect((await handler(escaped)).status).toBe(400);
  });

  it('turns an unexpected resolver failure into a 500 without details', async () => {
    const lines: string[] = [];
    const failing = createMediaHandler(
      async () => {
        throw new Error('/private/path/leaked');
      },
      (l) => lines.push(l),
    );
    const res = await failing(new Request(mediaUrl(1, 'original')));
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('/private');
    expect(lines.join('\n')).toContain('/private/path/leaked');
  });
});
