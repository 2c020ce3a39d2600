import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { CSP } from '../../app/csp.js';
import { parseRange } from '../core/media/range.js';
import { SECURITY_HEADERS } from './send.js';

/** Streams a file with Range support, so audio and video can seek to the matched moment. */
export function streamFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  mime: string,
  size: number,
): void {
  const range = parseRange(req.headers.range, size);
  const base = {
    ...SECURITY_HEADERS,
    'content-type': mime,
    'accept-ranges': 'bytes',
    'cache-control': 'private, max-age=300',
  };
  if (range === 'invalid') {
    res.writeHead(416, { ...base, 'content-range': `bytes */${size}` });
    return void res.end();
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const headers = { ...base, 'content-length': size === 0 ? 0 : end - start + 1 };
  if (range) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}` });
  else res.writeHead(200, headers);
  if (req.method === 'HEAD' || size === 0) return void res.end();
  const stream = createReadStream(file, { start, end });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** The built renderer. Paths are resolved inside `root` and anything outside is not found. */
export async function serveStatic(
  req: IncomingMessage,
  res: ServerResponse,
  root: string,
  urlPath: string,
): Promise<boolean> {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath === '/' ? '/index.html' : urlPath);
  } catch {
    return false; // "/%" and the like name no file
  }
  const file = path.resolve(root, `.${rel}`);
  if (!file.startsWith(path.resolve(root) + path.sep)) return false;
  const s = await stat(file).catch(() => null);
  if (!s?.isFile()) return false;
  const type = STATIC_TYPES[path.extname(file)] ?? 'application/octet-stream';
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': s.size,
  };
  if (type.startsWith('text/html')) headers['content-security-policy'] = CSP;
  res.writeHead(200, headers);
  createReadStream(file).pipe(res);
  return true;
}
