import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FILE } from './pack.js';

/**
 * Where a pack's bytes come from (docs/architecture.md §4): an http(s) URL of a pack.json, whose files sit
 * beside it, or a local folder. Both are read from any offset, so the installer resumes a
 * download and an import the same way.
 */

/** An installation that cannot go on; the message is one line a user can act on. */
export class InstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstallError';
  }
}

/** The server answered 416: it has no bytes at the offset asked for. */
export class RangeNotSatisfiableError extends InstallError {}

export interface Body {
  /** Where the bytes start: the offset asked for, or 0 when a server ignored the Range header. */
  readonly from: number;
  /** The whole file's size as the source reports it, when it does. */
  readonly total: number | null;
  readonly chunks: AsyncIterable<Uint8Array>;
}

export interface PackOrigin {
  /** The pack.json's URL or path, for messages. */
  readonly label: string;
  /** What to tell the user after a hash mismatch. */
  readonly corruptHint: string;
  readManifest(signal?: AbortSignal): Promise<Buffer>;
  /** One file named in the manifest, from byte `from` on. */
  open(rel: string, from: number, signal?: AbortSignal): Promise<Body>;
}

export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;
/** A pack.json lists a few files; anything near this size is not one. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

function tooLarge(label: string): InstallError {
  return new InstallError(`${label}: over ${MAX_MANIFEST_BYTES} bytes, not a pack.json`);
}

export function openOrigin(source: string, timeoutMs = DEFAULT_FETCH_TIMEOUT_MS): PackOrigin {
  if (/^https?:\/\//i.test(source)) return new HttpOrigin(source, timeoutMs);
  if (/^file:\/\//i.test(source)) return new FolderOrigin(fileURLToPath(source));
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(source)) {
    throw new InstallError(`${source}: only http(s) URLs and local folders can be installed`);
  }
  return new FolderOrigin(source);
}

/** The error to throw once `signal` has fired: its reason when that is an Error. */
export function cancelled(signal: AbortSignal): Error {
  return signal.reason instanceof Error && signal.reason.name !== 'AbortError'
    ? signal.reason
    : new InstallError('install cancelled (the partial download is kept; run the install again to resume)');
}

class FolderOrigin implements PackOrigin {
  readonly label: string;
  readonly corruptHint: string;
  private readonly dir: string;

  constructor(source: string) {
    const abs = path.resolve(source);
    // A pack.json path and its folder both name the pack.
    const isManifest = path.basename(abs) === MANIFEST_FILE;
    this.dir = isManifest ? path.dirname(abs) : abs;
    this.label = path.join(this.dir, MANIFEST_FILE);
    this.corruptHint = `the copy in ${this.dir} is damaged`;
  }

  async readManifest(): Promise<Buffer> {
    const info = await stat(this.label).catch((e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'ENOENT' ? 'not found (give a pack folder, a pack.json or an http(s) URL)' : e.message;
      throw new InstallError(`${this.label}: ${why}`);
    });
    if (!info.isFile()) throw new InstallError(`${this.label}: not a regular file`);
    if (info.size > MAX_MANIFEST_BYTES) throw tooLarge(this.label);
    return readFile(this.label);
  }

  async open(rel: string, from: number): Promise<Body> {
    const file = path.join(this.dir, rel);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new InstallError(`${rel}: not found in ${this.dir}`);
    return { from, total: info.size, chunks: createReadStream(file, { start: from }) };
  }
}

class HttpOrigin implements PackOrigin {
  readonly label: string;
  readonly corruptHint = 'the download was corrupted — run the install again';
  private readonly manifestUrl: URL;
  /** The manifest's final URL (after redirects): its files are resolved against it. */
  private base: URL;

  constructor(
    source: string,
    private readonly timeoutMs: number,
  ) {
    // A folder URL ("…/imagebind/") means the pack.json inside it.
    this.manifestUrl = new URL(source.endsWith('/') ? `${source}${MANIFEST_FILE}` : source);
    this.base = this.manifestUrl;
    this.label = this.manifestUrl.href;
  }

  async readManifest(signal?: AbortSignal): Promise<Buffer> {
    const { res, chunks } = await get(this.manifestUrl, 0, this.timeoutMs, signal, (r) => {
      if (r.status !== 200) throw statusError(this.manifestUrl, r);
    });
    this.base = new URL(res.url || this.manifestUrl.href);
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of chunks) {
      size += chunk.length;
      // An endless or huge response is not a pack.json: stop reading at once.
      if (size > MAX_MANIFEST_BYTES) throw tooLarge(this.manifestUrl.href);
      parts.push(chunk);
    }
    return Buffer.concat(parts);
  }

  async open(rel: string, from: number, signal?: AbortSignal): Promise<Body> {
    // Each path segment is encoded, so a '#' or '?' in a file name stays part of the name.
    const url = new URL(rel.split('/').map(encodeURIComponent).join('/'), this.base);
    return openUrl(url, from, this.timeoutMs, signal);
  }
}

/**
 * GETs `url` (from byte `from` on); `check` reads the headers or refuses the response. A refused
 * response is discarded with its timer, so a failed request never keeps the process alive.
 */
async function get<T>(
  url: URL,
  from: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  check: (res: Response) => T,
): Promise<{ res: Response; value: T; chunks: AsyncIterable<Uint8Array> }> {
  const guard = new StallGuard(url, timeoutMs, signal);
  // identity: a compressed response would make byte offsets meaningless for Range.
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (from > 0) headers.range = `bytes=${from}-`;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: guard.signal, redirect: 'follow' });
  } catch (e) {
    guard.stop();
    throw guard.explain(e);
  }
  try {
    const value = check(res);
    return { res, value, chunks: guard.iterate(res.body!) };
  } catch (e) {
    guard.stop();
    void res.body?.cancel().catch(() => undefined);
    throw e;
  }
}

/**
 * Opens `url` from byte `from` on (HTTP Range): the body, where it starts (0 when the server
 * ignored Range) and the whole file's size when the server says it.
 */
export async function openUrl(
  url: URL,
  from: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Body> {
  const { value, chunks } = await get(url, from, timeoutMs, signal, (r) => {
    if (r.status === 416) {
      throw new RangeNotSatisfiableError(`GET ${url.href}: the server has no bytes from offset ${from}`);
    }
    if (r.status === 206) return parseContentRange(url, r);
    if (r.status !== 200) throw statusError(url, r);
    const length = r.headers.get('content-length');
    return { from: 0, total: length === null ? null : Number(length) };
  });
  return { ...value, chunks };
}

function statusError(url: URL, res: Response): InstallError {
  return new InstallError(`GET ${url.href}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
}

/** `Content-Range: bytes 100-999/1000` → where the body starts and the whole file's size. */
function parseContentRange(url: URL, res: Response): { from: number; total: number | null } {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
  if (!m) throw new InstallError(`GET ${url.href}: 206 response without a valid Content-Range header`);
  return { from: Number(m[1]), total: m[2] === '*' ? null : Number(m[2]) };
}

/**
 * Aborts a request that receives nothing for `timeoutMs` (a connect that hangs, a stalled
 * transfer) without limiting how long a healthy multi-GB download may take.
 */
class StallGuard {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private stalled = false;
  readonly signal: AbortSignal;

  constructor(
    private readonly url: URL,
    private readonly timeoutMs: number,
    private readonly user?: AbortSignal,
  ) {
    this.signal = user ? AbortSignal.any([user, this.controller.signal]) : this.controller.signal;
    this.kick();
  }

  kick(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.controller.abort();
    }, this.timeoutMs);
    this.timer.unref(); // an open request keeps the process alive, not its watchdog
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  async *iterate(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
    try {
      // Node's web streams are async-iterable; the DOM typings (pulled in by the grid bench) say otherwise.
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        this.kick();
        yield chunk;
      }
    } catch (e) {
      throw this.explain(e);
    } finally {
      this.stop();
    }
  }

  /** A fetch failure as one line: cancelled, stalled, or what the network said. */
  explain(e: unknown): Error {
    if (this.user?.aborted) return cancelled(this.user);
    if (this.stalled) return new InstallError(`GET ${this.url.href}: no data for ${this.timeoutMs / 1000} s`);
    return new InstallError(`GET ${this.url.href}: ${networkReason(e)}`);
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_SOCKET: 'connection closed by the server',
};

/** fetch wraps the useful error ("connect ECONNREFUSED …") in causes under a bare "fetch failed". */
function networkReason(e: unknown): string {
  let deepest: unknown = e;
  for (let c: unknown = e; c instanceof Error; c = c.cause) deepest = c;
  const detail = deepest instanceof Error ? deepest.message : String(deepest);
  const code = (deepest as NodeJS.ErrnoException | undefined)?.code;
  const reason = code ? REASONS[code] : undefined;
  return reason ? `${reason} (${detail})` : detail;
}
