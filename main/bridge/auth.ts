import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The token comes in `Authorization: Bearer …`, or as `?token=` where a browser cannot set
 * headers (img/audio/video src, WebSocket). Compared in constant time.
 */
export function hasToken(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization;
  const given = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('token');
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * DNS rebinding guard: a page on evil.example resolving to 127.0.0.1 sends `Host: evil.example`.
 * When bound to loopback, only loopback host names are served.
 */
export function hostAllowed(req: IncomingMessage, boundHost: string): boolean {
  // Node keeps the first of several Host headers; a request that sends two is refused outright.
  if (req.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'host').length > 1) return false;
  if (!isLoopback(boundHost)) return true;
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || isLoopback(host);
}

export function isLoopback(host: string): boolean {
  return host === '::1' || host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
