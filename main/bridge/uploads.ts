import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../../app/errors.js';
import { isInside } from '../core/paths.js';

export interface UploadLimits {
  /** One upload's largest size. */
  maxBytes: number;
  /** All uploads together; the least recently used are removed to make room. */
  maxTotalBytes: number;
  /** An upload no query has named for this long is removed. */
  ttlMs: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  maxBytes: 1024 * 1024 * 1024,
  maxTotalBytes: 4 * 1024 * 1024 * 1024,
  ttlMs: 60 * 60 * 1000,
};

/**
 * Every server's upload folder lives here (one parent per user, so another user's cannot block
 * it), named `<pid>-<random>` so a later server can tell a dead one's.
 */
export const UPLOADS_PARENT = path.join(os.tmpdir(), `bindery-uploads-${process.getuid?.() ?? 'user'}`);

interface Held {
  bytes: number;
  usedAt: number;
}

/**
 * Files dropped into the browser page, which has no path to give (docs/architecture.md §8). They
 * are streamed to disk under a size limit, never held in memory; each expires when no query has
 * used it for `ttlMs`, the oldest go first when the total is over its limit, the folder goes when
 * the server stops, and a server that was killed has its folder removed by the next one.
 */
export class UploadStore {
  private readonly held = new Map<string, Held>();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    readonly folder: string,
    private readonly limits: UploadLimits,
  ) {
    this.timer = setInterval(() => void this.expire(), Math.min(60_000, limits.ttlMs)).unref();
  }

  static async open(
    limits: UploadLimits = DEFAULT_UPLOAD_LIMITS,
    parent = UPLOADS_PARENT,
  ): Promise<UploadStore> {
    await mkdir(parent, { recursive: true, mode: 0o700 });
    await removeDeadServersFolders(parent);
    const folder = path.join(parent, `${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
    await mkdir(folder, { mode: 0o700 });
    return new UploadStore(folder, limits);
  }

  /**
   * Streams a request body into a new file and returns its path. A refused body (too large, empty)
   * is not cut off: the rest is read and dropped while the refusal is sent (see dropRest).
   */
  async receive(req: IncomingMessage, clientName: string): Promise<string> {
    try {
      return await this.store(req, clientName);
    } catch (e) {
      if (!req.complete) dropRest(req);
      throw e;
    }
  }

  private async store(req: IncomingMessage, clientName: string): Promise<string> {
    const { maxBytes } = this.limits;
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw tooLarge(maxBytes);
    const file = path.join(
      this.folder,
      `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${safeName(clientName)}`,
    );
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done(bytes > maxBytes ? tooLarge(maxBytes) : null, chunk);
      },
    });
    try {
      // Read through an iterator that leaves the request open when the counter refuses it.
      const body = req.iterator({ destroyOnReturn: false });
      await pipeline(body, counter, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
      if (bytes === 0) throw new ApiError('invalid_request', 'the upload is empty');
    } catch (e) {
      await unlink(file).catch(() => undefined);
      throw e instanceof ApiError ? e : new ApiError('invalid_request', 'the upload was interrupted');
    }
    this.held.set(file, { bytes, usedAt: Date.now() });
    await this.makeRoom();
    return file;
  }

  /** Whether `file` is one of these uploads; naming it in a query keeps it from expiring. */
  touch(file: string): boolean {
    if (!isInside(path.resolve(file), this.folder)) return false;
    const h = this.held.get(path.resolve(file));
    if (h) h.usedAt = Date.now();
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.held.clear();
    await rm(this.folder, { recursive: true, force: true });
  }

  private async expire(now = Date.now()): Promise<void> {
    for (const [file, h] of this.held) if (now - h.usedAt > this.limits.ttlMs) await this.drop(file);
  }

  private async makeRoom(): Promise<void> {
    let total = [...this.held.values()].reduce((a, h) => a + h.bytes, 0);
    const oldestFirst = [...this.held].sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [file, h] of oldestFirst.slice(0, -1)) {
      if (total <= this.limits.maxTotalBytes) break;
      total -= h.bytes;
      await this.drop(file);
    }
  }

  private async drop(file: string): Promise<void> {
    this.held.delete(file);
    await rm(file, { force: true });
  }
}

/** How long the rest of a refused body is read before the connection is closed under it anyway. */
export const LINGER_MS = 10_000;

/**
 * A "lingering close" (as web servers do): closing a connection while the client is still sending
 * resets it, and the client then fails with EPIPE before it has read the refusal. So the rest of
 * the body is read and dropped (memory stays flat) for at most LINGER_MS, then the socket closes.
 */
function dropRest(req: IncomingMessage): void {
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  req.once('end', () => clearTimeout(timer)).once('close', () => clearTimeout(timer));
  req.resume();
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError('invalid_request', `the upload is over ${maxBytes} bytes`);
}

/** Folders of servers that are no longer running (killed, crashed): nothing else would remove them. */
async function removeDeadServersFolders(parent: string): Promise<void> {
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    const s = await stat(path.join(parent, name)).catch(() => null);
    if (s?.isDirectory()) await rm(path.join(parent, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Only the last path component of a client-chosen name, with no leading dots or odd characters. */
function safeName(header: string): string {
  let decoded = header;
  try {
    decoded = decodeURIComponent(header);
  } catch {
    // Not percent-encoded: use it as it is.
  }
  const base = decoded.split(/[\\/]/).pop() ?? '';
  return (
    base
      .replace(/[^\w.\- ]+/g, '_')
      .replace(/^\.+/, '')
      .slice(-100) || 'upload'
  );
}
