/**
 * The page's Content Security Policy, one home for both hosts of the renderer (docs/architecture.md
 * §8): `bindery serve` sends it as is; the Electron window adapts it (media from `media:`, no
 * WebSocket). A plain constant, so it lives in app/ where both may import it.
 */

/** The bridge's policy: the Electron window's, plus the WebSocket back to the server. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');
