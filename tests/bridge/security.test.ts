import { symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { tempDir } from '../support/cli.js';
import { indexedLibrary, serve, type Served } from './transports.js';

let cleanup: () => Promise<void>;
let s: Served;
let lib: string;
let dir: string;
let fileIds: Map<string, number>;

async function api(method: string, body: unknown, token = s.token) {
  const res = await fetch(`${s.url}/api/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const media = (p: string, init: RequestInit = {}, token: string | null = s.token) =>
  fetch(`${s.url}${p}${token ? `${p.includes('?') ? '&' : '?'}token=${token}` : ''}`, init);

beforeAll(async () => {
  const t = await tempDir('bindery-security-');
  cleanup = t.cleanup;
  dir = t.dir;
  const l = await indexedLibrary(dir);
  lib = l.lib;
  s = await serve(l.db);
  const hits = (await api('search', { terms: [{ modality: 'text', text: 'anything' }], k: 10 })).body
    .results as {
    path: string;
    fileId: number;
  }[];
  fileIds = new Map(hits.map((h) => [path.basename(h.path), h.fileId]));
});

afterAll(async () => {
  await s?.stop();
  await cleanup?.();
});

describe('bridge authorisation', () => {
  it('refuses API calls without the token or with a wrong one (401)', async () => {
    expect((await fetch(`${s.url}/api/status`)).status).toBe(401);
    expect((await api('status', {}, 'wrong-token')).status).toBe(401);
    expect((await api('status', {}, `${s.token}x`)).status).toBe(401);
    const r = await api('status', {}, 'nope');
    expect(r.body).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('accepts the token as a bearer header and GET /api/status', async () => {
    const res = await fetch(`${s.url}/api/status`, { headers: { authorization: `Bearer ${s.token}` } });
    expect(res.status).toBe(200);
  });

  it('refuses media without the token', async () => {
    expect((await media(`/media/${fileIds.get('dog_image.jpg')}/original`, {}, null)).status).toBe(401);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${s.url}/api/status?token=${s.token}`,
        { headers: { host: 'evil.example:80' } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('refuses WebSocket event subscriptions without the token, accepts them with it', async () => {
    const url = s.url.replace('http', 'ws');
    const refused = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`${url}/api/events`);
      ws.on('open', () => resolve(false));
      ws.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    const events: string[] = [];
    const ws = new WebSocket(`${url}/api/events?token=${s.token}`);
    await new Promise((r) => ws.on('open', r));
    ws.on('message', (m) => events.push(JSON.parse(String(m)).event));
    expect((await api('index', {})).status).toBe(200);
    ws.close();
    expect(events).toContain('indexProgress');
  });
});

describe('malformed requests never take the server down (issue 13)', () => {
  /** A raw HTTP/1.1 request, so headers can be what no client library would send. */
  async function raw(lines: string[]): Promise<number> {
    const net = await import('node:net');
    const { port, hostname } = new URL(s.url);
    return new Promise((resolve, reject) => {
      const sock = net.connect(Number(port), hostname, () => sock.end(`${lines.join('\r\n')}\r\n\r\n`));
      let text = '';
      sock.on('data', (d) => (text += d));
      sock.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
      sock.on('error', reject);
    });
  }

  it('closes a WebSocket that sends a frame over 4 KiB, and keeps serving', async () => {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/api/events?token=${s.token}`);
    await new Promise((r) => ws.on('open', r));
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('error', () => undefined);
    ws.send('x'.repeat(10_000));
    expect(await closed).toBe(1009); // "message too big"
    expect((await api('status', {})).status).toBe(200);
  });

  it('refuses a request with two Host headers', async () => {
    const status = await raw([
      `GET /api/status?token=${s.token} HTTP/1.1`,
      `Host: ${new URL(s.url).host}`,
      'Host: evil.example',
      'Connection: close',
    ]);
    expect(status).toBe(403);
  });

  it('refuses special, huge, missing and outside files as search terms at once, with a 4xx naming the term', async () => {
    const { execFileSync } = await import('node:child_process');
    const { truncate } = await import('node:fs/promises');
    const fifo = path.join(lib, 'term.fifo');
    execFileSync('mkfifo', [fifo]);
    const huge = path.join(lib, 'huge.mp4');
    await writeFile(huge, '');
    await truncate(huge, 2 ** 31); // 2 GiB, sparse
    const outsideImage = path.join(dir, 'outside.jpg');
    const { copyFile } = await import('node:fs/promises');
    await copyFile(path.join(lib, 'dog_image.jpg'), outsideImage);
    const linkOut = path.join(lib, 'link-out.jpg');
    await symlink(outsideImage, linkOut);
    const outside = /term 1 \((image|imu)\): only files in your library folders, or dropped into this window/;
    const cases: [unknown, number, RegExp][] = [
      [{ modality: 'imu', path: '/dev/zero' }, 403, outside],
      [{ modality: 'image', path: fifo }, 400, /term 1 \(image\): .* is not a regular file/],
      [{ modality: 'video', path: huge }, 400, /term 1 \(video\): /],
      [{ modality: 'image', path: huge }, 400, /term 1 \(image\): /],
      [
        { modality: 'audio', path: path.join(lib, 'nope.wav') },
        400,
        /term 1 \(audio\): cannot read the file/,
      ],
      [
        { modality: 'segment', segmentId: 999_999 },
        404,
        /term 1 \(segment\): segment 999999 has no embedding/,
      ],
      // Outside the library: the same answer whether the file exists or not, and its content unused.
      [{ modality: 'image', path: outsideImage }, 403, outside],
      [{ modality: 'image', path: path.join(dir, 'no-such.jpg') }, 403, outside],
      [{ modality: 'image', path: '/root/.ssh/id_rsa' }, 403, outside],
      [{ modality: 'image', path: path.join(lib, '..', 'outside.jpg') }, 403, outside],
      [{ modality: 'image', path: 'library/dog_image.jpg' }, 403, outside],
      [{ modality: 'image', path: linkOut }, 403, outside],
    ];
    try {
      for (const [term, status, message] of cases) {
        // Four at once, and the page during them: none may tie up the server's file threads.
        const started = performance.now();
        const [page, ...rs] = await Promise.all([
          fetch(`${s.url}/`),
          ...[1, 2, 3, 4].map(() => api('search', { terms: [term] })),
        ]);
        const ms = performance.now() - started;
        expect(page.status).toBe(200);
        for (const r of rs) {
          expect(r.status, JSON.stringify(term)).toBe(status);
          expect(String((r.body.error as { message: string }).message)).toMatch(message);
        }
        console.log(`${JSON.stringify(term)} refused with ${status} in ${ms.toFixed(0)} ms`);
      }
      const embedOut = await api('embed', { modality: 'image', path: outsideImage });
      expect(embedOut.status).toBe(403);
      expect((await fetch(`${s.url}/`)).status).toBe(200);
    } finally {
      for (const f of [fifo, huge, linkOut]) await unlink(f).catch(() => undefined);
    }
  });

  it('refuses unknown keys at every level of a query', async () => {
    for (const term of [
      { modality: 'text', text: 'a dog', extra: 1 },
      JSON.parse('{"modality":"text","text":"a dog","__proto__":{"polluted":true}}'),
      { modality: 'text', text: 'a dog', constructor: 'x' },
    ]) {
      const r = await api('search', { terms: [term] });
      expect(r.status, JSON.stringify(term)).toBe(400);
    }
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('refuses what cannot be a library folder, with a 4xx that says why', async () => {
    const cases: [string, number, RegExp][] = [
      ['/nonexistent-bindery-folder', 400, /no such folder/],
      ['/etc/passwd', 400, /not a folder/],
      ['relative/dir', 400, /give an absolute path/],
      ['/tmp/a\u0000b', 400, /NUL byte/],
      ['/proc', 400, /system folder of the OS/],
      ['/dev', 400, /system folder of the OS/],
      [path.join(lib, 'sub-of-the-library'), 400, /no such folder/],
      [path.dirname(lib), 409, /overlaps the library folder/],
    ];
    for (const [folder, status, message] of cases) {
      const r = await api('addRoot', { path: folder });
      expect(r.status, folder).toBe(status);
      expect(JSON.stringify(r.body), folder).toMatch(message);
    }
  });

  it('answers an undecodable path with 404, not 500', async () => {
    expect(await raw(['GET /% HTTP/1.1', `Host: ${new URL(s.url).host}`, 'Connection: close'])).toBe(404);
    expect((await api('status', {})).status).toBe(200);
  });
});

describe('media by opaque id', () => {
  it('serves a photo whole and by Range', async () => {
    const id = fileIds.get('dog_image.jpg')!;
    const whole = await media(`/media/${id}/original`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('image/jpeg');
    const bytes = Buffer.from(await whole.arrayBuffer());
    const part = await media(`/media/${id}/original`, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(100, 200));
    expect((await media(`/media/${id}/original`, { headers: { range: 'bytes=999999999-' } })).status).toBe(
      416,
    );
  });

  it('serves WebP thumbnails for photos', async () => {
    const res = await media(`/media/${fileIds.get('car_image.jpg')}/thumb`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
  });

  it.each([
    '/media/../../../../etc/passwd',
    '/media/%2e%2e/%2e%2e/etc/passwd',
    '/media/..%2f..%2fetc%2fpasswd/original',
    '/media/1/../../etc/passwd',
    '/media/-1/original',
    '/media/1e3/original',
    '/media/999999/original',
    '/media/1/source',
  ])('refuses %s', async (p) => {
    const res = await media(p);
    expect([400, 401, 403, 404]).toContain(res.status);
    expect(res.headers.get('content-type') ?? '').not.toMatch(/image|audio/);
  });

  it('refuses a catalogued file that became a symlink out of its folder (403)', async () => {
    const outside = path.join(dir, 'secret.txt');
    await writeFile(outside, 'secret');
    const victim = path.join(lib, 'car_image.jpg');
    await unlink(victim);
    await symlink(outside, victim);
    const res = await media(`/media/${fileIds.get('car_image.jpg')}/original`);
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain('secret');
  });
});

describe('uploads for dropped files', () => {
  it('stores an upload and searches with it', async () => {
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(path.join(lib, 'dog_image.jpg'));
    const up = await fetch(`${s.url}/api/upload?token=${s.token}`, {
      method: 'POST',
      headers: { 'x-filename': encodeURIComponent('../../dropped dog.jpg') },
      body: bytes,
    });
    expect(up.status).toBe(200);
    const { path: stored } = (await up.json()) as { path: string };
    expect(path.basename(stored)).toMatch(/dropped dog\.jpg$/);
    expect(stored).not.toContain('..');
    const r = await api('search', { terms: [{ modality: 'image', path: stored }], k: 1 });
    expect(path.basename((r.body.results as { path: string }[])[0].path)).toBe('dog_image.jpg');
  });

  it('refuses uploads without the token', async () => {
    const up = await fetch(`${s.url}/api/upload`, { method: 'POST', body: 'x' });
    expect(up.status).toBe(401);
  });
});
