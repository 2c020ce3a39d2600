import type { ServerResponse } from 'node:http';
import { ApiError, HTTP_STATUS } from '../../app/errors.js';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** The same error body as IPC: `{ error: { code, message, issues? } }`. */
export function sendError(res: ServerResponse, e: ApiError): void {
  if (res.headersSent) return void res.destroy();
  sendJson(res, HTTP_STATUS[e.code], { error: e.toBody() });
}

export { SECURITY_HEADERS };
