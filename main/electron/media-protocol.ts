import { ApiError, HTTP_STATUS } from '../../app/errors.js';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { MediaVariant } from '../../app/api.js';
import { parseMediaUrl } from '../../app/transport.js';
import { parseRange } from '../core/media/range.js';
import type { ServedFile } from '../core/media/media.js';

/**
 * `media://file/<fileId>/<variant>`: library files by opaque id, for <img>, <audio> and <video>.
 * The id is resolved by `resolveMedia` in the engine host (catalogued, under a library folder,
 * real path still inside it); this handler only parses the URL strictly and streams the bytes,
 * with single-range support so players can seek to the matched moment.
 */

export type MediaResolver = (fileId: number, variant: MediaVariant) => Promise<ServedFile>;

const KNOWN_STATUS = new Set([400, 403, 404, 415, 503]);

/** A resolver failure as an HTTP status: MediaError's own, else its ApiError code's (the host's replies). */
export function statusOf(e: unknown): number {
  const own = (e as { status?: unknown } | null)?.status;
  const status = typeof own === 'number' ? own : e instanceof ApiError ? HTTP_STATUS[e.code] : 500;
  return KNOWN_STATUS.has(status) ? status : 500;
}

const text = (status: number, body: string) =>
  new Response(body, {
    status,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    },
  });

export function createMediaHandler(
  resolve: MediaResolver,
  log?: (line: string) => void,
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'method not allowed');
    const target = parseMediaUrl(request.url);
    if (!target) return text(400, 'bad media URL');
    let file: ServedFile;
    try {
      file = await resolve(target.fileId, target.variant);
    } catch (e) {
      const status = statusOf(e);
      if (status === 500) log?.(`media ${target.fileId}/${target.variant} failed: ${String(e)}`);
      return text(
        status,
        status === 500 ? 'media unavailable' : e instanceof Error ? e.message : 'media unavailable',
      );
    }
    return serveFile(request, file);
  };
}

/** The bytes of a resolved file, whole (200) or one range (206); 416 for a range past the end. */
export function serveFile(request: Request, file: ServedFile): Response {
  const { size } = file;
  const range = parseRange(request.headers.get('range') ?? undefined, size);
  const base: Record<string, string> = {
    'content-type': file.mime,
    'accept-ranges': 'bytes',
    'cache-control': 'private, max-age=300',
    'x-content-type-options': 'nosniff',
  };
  if (range === 'invalid')
    return new Response(null, { status: 416, headers: { ...base, 'content-range': `bytes */${size}` } });
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const headers: Record<string, string> = {
    ...base,
    'content-length': String(size === 0 ? 0 : end - start + 1),
  };
  if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  const status = range ? 206 : 200;
  if (request.method === 'HEAD' || size === 0) return new Response(null, { status, headers });
  const stream = Readable.toWeb(
    createReadStream(file.path, { start, end }),
  ) as unknown as ReadableStream<Uint8Array>;
  return new Response(stream, { status, headers });
}
