import { MEDIA_SCHEME } from '../../app/transport.js';
import type { CustomScheme } from 'electron';

/**
 * The window's two schemes. `app://bindery/` serves the built renderer (a real origin the IPC
 * sender check can pin, unlike file://), `media://file/<id>/<variant>` serves library files by
 * opaque id. Both are privileged before `app.ready` in one call (a second call would replace the
 * first). Neither bypasses CSP.
 */

export const APP_SCHEME = 'app';
export const APP_HOST = 'bindery';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

export const PRIVILEGED_SCHEMES: CustomScheme[] = [
  {
    scheme: APP_SCHEME,
    privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
  },
  { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
];

/**
 * True for our renderer's URLs only. Node's URL reports `origin` as "null" for custom schemes,
 * so the scheme and host are compared instead.
 */
export function isAppUrl(url: string | null | undefined): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && !u.username && !u.password && !u.port;
  } catch {
    return false;
  }
}
