import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { APP_HOST, APP_SCHEME } from './schemes.js';

/**
 * `app://bindery/…`: the built renderer (renderer/dist), read from inside the app (asar included).
 * Paths resolve inside the folder only; routes without a file extension fall back to index.html
 * (client-side routing); every response carries the window's CSP.
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export interface AppHandlerOptions {
  /** renderer/dist */
  root: string;
  csp: string;
  read?: (file: string) => Promise<Buffer>;
}

/** The renderer-relative file a request asks for, or null when it is not ours or leaves the folder. */
export function appRequestPath(rawUrl: string, root: string): string | null {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return null;
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (rel.includes('\0') || rel.includes('\\') || rel.split('/').includes('..')) return null;
  if (rel === '/' || rel === '') rel = '/index.html';
  const base = path.resolve(root);
  const file = path.resolve(base, `.${rel}`);
  return file.startsWith(base + path.sep) ? file : null;
}

export function createAppHandler(opts: AppHandlerOptions): (request: Request) => Promise<Response> {
  const read = opts.read ?? ((f: string) => readFile(f));
  const headers = (type: string) => ({
    'content-type': type,
    'content-security-policy': opts.csp,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
  });
  const send = (status: number, body: Buffer | string, type: string, head: boolean) =>
    new Response(head ? null : new Uint8Array(typeof body === 'string' ? Buffer.from(body) : body), {
      status,
      headers: headers(type),
    });
  return async (request) => {
    const head = request.method === 'HEAD';
    if (request.method !== 'GET' && !head) return send(405, 'method not allowed', TYPES['.txt'], head);
    const file = appRequestPath(request.url, opts.root);
    if (!file) return send(404, 'not found', TYPES['.txt'], head);
    const body = await read(file).catch(() => null);
    if (body)
      return send(200, body, TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream', head);
    const entry = path.join(path.resolve(opts.root), 'index.html');
    if (file !== entry && path.extname(file) !== '') return send(404, 'not found', TYPES['.txt'], head);
    const index = file === entry ? null : await read(entry).catch(() => null);
    return index ? send(200, index, TYPES['.html'], head) : send(200, NOT_BUILT, TYPES['.html'], head);
  };
}

/** Shown when `renderer/dist` is missing (a development checkout where only the shell was built). */
export const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Bindery</title>
<body style="font:15px system-ui;margin:3em;color:#333">
<h1>Bindery</h1><p>The user interface has not been built yet. Run <code>npm run build</code> in the Bindery folder, then start the app again.</p>
</body>`;
