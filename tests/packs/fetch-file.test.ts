import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadFile } from '../../main/core/packs/fetch-file.js';
import { tempDir } from '../support/cli.js';
import { startPackServer, type PackServer } from '../support/pack-server.js';

/**
 * The single-file download a checkpoint arrives by (fetch-file.ts over resume.ts), against a real
 * HTTP server on 127.0.0.1: the partial file and its note survive a dropped connection, and a
 * rerun resumes, or starts over when the bytes on disk cannot belong to the file.
 */

const SIZE = 300_000;
let root: string;
let cleanup: () => Promise<void>;
let server: PackServer;
let data: Buffer;
let dest: string;
let caseNo = 0;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('bindery-fetch-file-'));
  data = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 31 + (i >> 9)) & 0xff));
  await writeFile(path.join(root, 'weights.pth'), data);
  await writeFile(path.join(root, 'other.pth'), data.subarray(0, 1000));
  server = await startPackServer(root);
});
afterAll(async () => {
  await server?.close();
  await cleanup?.();
});
beforeEach(() => {
  server.faults = {};
  server.log.length = 0;
  dest = path.join(root, `got-${++caseNo}.pth`);
});

const fetchOnce = (name = 'weights.pth') => downloadFile({ url: server.urlOf(name), dest });

describe('downloadFile', () => {
  it('keeps a dropped transfer as <dest>.partial and resumes it with a Range request', async () => {
    server.faults = { drop: { file: 'weights.pth', after: 100_000 } };
    await expect(fetchOnce()).rejects.toThrow(
      /weights\.pth: download interrupted at \d+ of 300000 bytes .*run the install again to resume/,
    );
    expect(existsSync(dest)).toBe(false);
    const kept = (await readFile(`${dest}.partial`)).length;
    expect(kept).toBeGreaterThan(0);

    server.log.length = 0;
    expect(await fetchOnce()).toEqual({ bytes: SIZE });
    expect(server.log).toEqual([{ path: 'weights.pth', range: `bytes=${kept}-`, status: 206 }]);
    expect((await readFile(dest)).equals(data)).toBe(true);
    expect(existsSync(`${dest}.partial`) || existsSync(`${dest}.partial.json`)).toBe(false);
  });

  it('starts over when the partial file came from another URL', async () => {
    await writeFile(`${dest}.partial`, Buffer.alloc(5000, 7));
    await writeFile(`${dest}.partial.json`, JSON.stringify({ url: server.urlOf('old.pth'), total: null }));
    await fetchOnce();
    expect(server.log.map((l) => l.range)).toEqual([null]);
    expect((await readFile(dest)).equals(data)).toBe(true);
  });

  it('starts over when the source answers 416 (it holds fewer bytes than the partial file)', async () => {
    await writeFile(`${dest}.partial`, Buffer.alloc(5000, 7));
    await writeFile(`${dest}.partial.json`, JSON.stringify({ url: server.urlOf('other.pth'), total: null }));
    expect(await fetchOnce('other.pth')).toEqual({ bytes: 1000 });
    expect(server.log.map((l) => [l.range, l.status])).toEqual([
      ['bytes=5000-', 416],
      [null, 200],
    ]);
    expect((await readFile(dest)).equals(data.subarray(0, 1000))).toBe(true);
  });

  it('rewrites from 0 when the server ignores Range, without stale bytes at the end', async () => {
    await writeFile(`${dest}.partial`, Buffer.alloc(SIZE - 10, 7));
    await writeFile(
      `${dest}.partial.json`,
      JSON.stringify({ url: server.urlOf('weights.pth'), total: SIZE }),
    );
    server.faults = { ignoreRange: true };
    await fetchOnce();
    expect((await readFile(dest)).equals(data)).toBe(true);
  });

  it('checks the space for what is left before writing, and stops when told to', async () => {
    const asked: Array<[number, number | null]> = [];
    await expect(
      downloadFile({
        url: server.urlOf('weights.pth'),
        dest,
        beforeWrite: async (remaining, total) => {
          asked.push([remaining, total]);
          throw new Error('not enough disk space');
        },
      }),
    ).rejects.toThrow('not enough disk space');
    expect(asked).toEqual([[SIZE, SIZE]]);
    expect(existsSync(dest)).toBe(false);
  });

  it('names the URL and the status of a 404 and leaves nothing behind', async () => {
    await expect(fetchOnce('missing.pth')).rejects.toThrow(
      /GET http:\/\/127\.0\.0\.1:\d+\/missing\.pth: HTTP 404/,
    );
    expect(existsSync(dest) || existsSync(`${dest}.partial`)).toBe(false);
  });
});
