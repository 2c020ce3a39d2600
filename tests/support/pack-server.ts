import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { cp, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_PACK_DIR } from './paths.js';

/**
 * A static file server on 127.0.0.1 for model-pack installs, with HTTP Range and faults a test
 * switches on: drop the connection after N bytes, flip a byte, 404, ignore Range, throttle.
 */

export interface Faults {
  /** Close the socket after sending this many body bytes of `file` (once, then cleared). */
  drop?: { file: string; after: number };
  /** Flip the byte at `offset` of `file` in every response. */
  corrupt?: { file: string; offset: number };
  /** Answer 404 for these paths (e.g. 'pack.json', 'text.onnx'). */
  missing?: string[];
  /** Answer every request with the whole file (200), as a server without Range support does. */
  ignoreRange?: boolean;
  /** Send at most this many bytes a second. */
  bytesPerSec?: number;
}

export interface RequestLog {
  path: string;
  range: string | null;
  status: number;
}

export interface PackServer {
  /** URL of the served pack.json. */
  readonly url: string;
  /** URL of any path under the served folder. */
  urlOf(rel: string): string;
  readonly log: RequestLog[];
  faults: Faults;
  close(): Promise<void>;
}

export async function startPackServer(dir: string): Promise<PackServer> {
  const log: RequestLog[] = [];
  const state: { faults: Faults } = { faults: {} };
  const server = createServer((req, res) => void serve(dir, state.faults, log, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: `${base}pack.json`,
    urlOf: (rel) => base + rel,
    log,
    get faults() {
      return state.faults;
    },
    set faults(f: Faults) {
      state.faults = f;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serve(
  dir: string,
  faults: Faults,
  log: RequestLog[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
  const range = faults.ignoreRange ? null : (req.headers.range ?? null);
  const entry: RequestLog = { path: rel, range: req.headers.range ?? null, status: 0 };
  log.push(entry);
  const data = faults.missing?.includes(rel)
    ? undefined
    : await readFile(path.join(dir, rel)).catch(() => undefined);
  if (!data) return void res.writeHead((entry.status = 404)).end('not found');
  if (faults.corrupt?.file === rel) data[faults.corrupt.offset] ^= 0xff;
  const start = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0);
  if (start >= data.length && start > 0) {
    entry.status = 416;
    return void res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
  }
  entry.status = start > 0 ? 206 : 200;
  const headers: Record<string, string | number> = { 'content-length': data.length - start };
  if (start > 0) headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
  res.writeHead(entry.status, headers);
  await send(res, data.subarray(start), rel, faults);
}

async function send(res: ServerResponse, body: Buffer, rel: string, faults: Faults): Promise<void> {
  const drop = faults.drop?.file === rel ? faults.drop : undefined;
  if (drop) faults.drop = undefined;
  const chunk = faults.bytesPerSec ? Math.max(1024, Math.floor(faults.bytesPerSec / 20)) : 64 * 1024;
  for (let sent = 0; sent < body.length && !res.destroyed;) {
    const n = Math.min(chunk, body.length - sent, drop ? drop.after - sent : Infinity);
    if (n <= 0) {
      // Give the client time to take in what it has before the connection drops: a fetch body
      // that errors discards the chunks it has not yet handed out.
      await pause(res, 100);
      return void res.socket?.destroy();
    }
    // Waiting for the flush makes a drop happen after exactly `after` bytes left the server.
    await new Promise<void>((resolve) => res.write(body.subarray(sent, sent + n), () => resolve()));
    sent += n;
    if (faults.bytesPerSec) await pause(res, (n / faults.bytesPerSec) * 1000);
  }
  res.end();
}

/** Waits, but stops as soon as the client has gone (so a closed server leaves no timers behind). */
async function pause(res: ServerResponse, ms: number): Promise<void> {
  for (let left = ms; left > 0 && !res.destroyed; left -= 50) await sleep(Math.min(left, 50));
}

/**
 * A copy of the test pack under `dest` with another id and name (and any other manifest fields
 * in `extra`): same ONNX files, same hashes.
 */
export async function copyTestPack(
  dest: string,
  id: string,
  name = `Copy of the test pack (${id})`,
  extra: Record<string, unknown> = {},
) {
  await cp(TEST_PACK_DIR, dest, { recursive: true });
  const manifestPath = path.join(dest, 'pack.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  await writeFile(manifestPath, JSON.stringify({ ...manifest, id, name, ...extra }, null, 2));
  return dest;
}
