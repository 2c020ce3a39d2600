import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AppApi, MediaVariant } from '../../app/api.js';
import { parseBridgeMediaPath } from '../../app/transport.js';
import { dispatch } from '../../app/dispatch.js';
import { ApiError, toApiError } from '../../app/errors.js';
import type { ServedFile } from '../core/media/media.js';
import { hasToken, hostAllowed, newToken } from './auth.js';
import { confineFileTerms } from './confine.js';
import { readJson } from './body.js';
import { serveStatic, streamFile } from './files.js';
import { sendError, sendJson } from './send.js';
import { DEFAULT_UPLOAD_LIMITS, UploadStore, type UploadLimits } from './uploads.js';

export interface BridgeOptions {
  api: AppApi;
  /** Resolves a media id to a file to stream: the engine host's resolveMedia, as for media://. */
  media: (fileId: number, variant: MediaVariant) => Promise<ServedFile>;
  host?: string;
  port?: number;
  token?: string;
  /** The built renderer to serve at `/`. */
  rendererDir?: string;
  /** Size limits and expiry of dropped-file uploads (default DEFAULT_UPLOAD_LIMITS). */
  uploadLimits?: Partial<UploadLimits>;
}

export interface Bridge {
  url: string;
  /** The page URL with the token in its fragment (never sent to the server in a request line). */
  pageUrl: string;
  token: string;
  close(): Promise<void>;
}

/**
 * `bindery serve`: AppApi over loopback HTTP (`POST /api/<method>`, `GET /api/status`), events over a
 * WebSocket (`/api/events`), media by opaque id (`/media/<fileId>/<variant>`, with Range), uploads
 * for dropped files without a path, and the renderer. Every API and media request needs the token.
 */
export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? newToken();
  const uploads = await UploadStore.open({ ...DEFAULT_UPLOAD_LIMITS, ...opts.uploadLimits });
  const ctx: Ctx = { ...opts, host, token, uploads };
  const server = createServer((req, res) => void handle(ctx, req, res));
  const wss = attachEvents(server, ctx);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    pageUrl: `${url}/#token=${token}`,
    token,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await uploads.close();
    },
  };
}

interface Ctx extends BridgeOptions {
  host: string;
  token: string;
  uploads: UploadStore;
}

async function handle(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (!hostAllowed(req, ctx.host)) throw new ApiError('forbidden', 'unexpected Host header');
    const url = new URL(req.url ?? '/', 'http://bridge');
    const p = url.pathname;
    if (p.startsWith('/api/') || p.startsWith('/media/')) {
      if (!hasToken(req, url, ctx.token)) throw new ApiError('unauthorized', 'missing or wrong token');
      if (p.startsWith('/media/')) return await media(ctx, req, res, p);
      return await api(ctx, req, res, p.slice('/api/'.length));
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && ctx.rendererDir) {
      if (await serveStatic(req, res, ctx.rendererDir, p)) return;
    }
    throw new ApiError('not_found', 'not found');
  } catch (e) {
    sendError(res, toApiError(e));
  }
}

async function api(ctx: Ctx, req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
  if (method === 'upload' && req.method === 'POST') return upload(ctx, req, res);
  if (req.method === 'GET' && method === 'status')
    return sendJson(res, 200, await dispatch(ctx.api, 'status', {}));
  if (req.method !== 'POST') throw new ApiError('invalid_request', `use POST /api/${method}`);
  const confine = (m: string, request: unknown) => confineFileTerms(ctx.api, ctx.uploads, m, request);
  sendJson(res, 200, await dispatch(ctx.api, method, await readJson(req), confine));
}

async function media(ctx: Ctx, req: IncomingMessage, res: ServerResponse, p: string): Promise<void> {
  const target = parseBridgeMediaPath(p);
  if (!target) throw new ApiError('not_found', 'no such media');
  // The engine host's refusals are ApiErrors: forbidden, not_found or unsupported.
  const file = await ctx.media(target.fileId, target.variant);
  streamFile(req, res, file.path, file.mime, file.size);
}

/** A dropped file that has no local path (a browser) is streamed into the upload folder for the query. */
async function upload(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const file = await ctx.uploads.receive(req, String(req.headers['x-filename'] ?? 'upload'));
  sendJson(res, 200, { path: file });
}

/** Index and model progress, pushed to every authorised WebSocket client. */
function attachEvents(server: Server, ctx: Ctx): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://bridge');
    if (url.pathname !== '/api/events' || !hostAllowed(req, ctx.host) || !hasToken(req, url, ctx.token)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });
  // A client frame over maxPayload, or any malformed frame, is an error on that one socket: it is
  // closed; without a listener the error would be thrown and take the whole server down.
  wss.on('connection', (ws: WebSocket) => ws.on('error', () => ws.terminate()));
  wss.on('error', () => undefined);
  const broadcast = (event: string) => (data: unknown) => {
    const text = JSON.stringify({ event, data });
    wss.clients.forEach((c: WebSocket) => c.readyState === c.OPEN && c.send(text));
  };
  ctx.api.onIndexProgress(broadcast('indexProgress'));
  ctx.api.onModelProgress(broadcast('modelProgress'));
  return wss;
}
