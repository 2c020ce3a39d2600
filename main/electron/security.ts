import type { Session, WebContents } from 'electron';
import { CSP as BRIDGE_CSP } from '../../app/csp.js';
import { MEDIA_SCHEME } from '../../app/transport.js';
import { isAppUrl } from './schemes.js';

/**
 * The window's security policy, as plain functions the tests exercise without Electron, plus
 * the two small functions that install it on a session and on every web contents.
 */

/**
 * The bridge's strict policy, adapted: media comes from `media:` instead of the bridge's own
 * `/media/` path, and there is no WebSocket (events arrive over IPC), so `connect-src` is 'self'.
 */
export const APP_CSP = BRIDGE_CSP.split('; ')
  .map((directive) => {
    const [name] = directive.split(' ');
    if (name === 'img-src' || name === 'media-src') return `${directive} ${MEDIA_SCHEME}:`;
    if (name === 'connect-src') return "connect-src 'self'";
    return directive;
  })
  .join('; ');

/** The only permissions granted, and only to our own page: fullscreen video, copying text. */
const GRANTED = new Set(['fullscreen', 'clipboard-sanitized-write']);

export function permissionAllowed(permission: string, requestingUrl: string | null | undefined): boolean {
  return GRANTED.has(permission) && isAppUrl(requestingUrl);
}

/** The window never leaves the app: in-app reloads only. */
export function navigationAllowed(url: string): boolean {
  return isAppUrl(url);
}

/**
 * Links may open in the OS browser only when they are one of a few known pages (the active pack's
 * licence, say), compared exactly after normalisation, and only over http(s).
 */
export function externalUrlAllowed(url: string, allowed: Iterable<string>): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password) return false;
  for (const a of allowed) {
    try {
      if (new URL(a).href === u.href) return true;
    } catch {
      // An unparsable allow-list entry matches nothing.
    }
  }
  return false;
}

type Contents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

export interface HardenOptions {
  /** Resolves the pages that may open in the OS browser (asked lazily, when a link is clicked). */
  externalAllowList: () => Promise<Iterable<string>>;
  openExternal: (url: string) => void;
  log?: (line: string) => void;
}

/** Denies navigation away, new windows (maybe handing an allowed link to the OS) and <webview>. */
export function hardenWebContents(contents: Contents, opts: HardenOptions): void {
  const guard = (event: { preventDefault(): void; url?: string }, url?: string) => {
    const target = event.url ?? url ?? '';
    if (!navigationAllowed(target)) {
      event.preventDefault();
      opts.log?.(`blocked navigation to ${target.slice(0, 200)}`);
    }
  };
  contents.on('will-navigate', guard);
  contents.on('will-redirect', guard);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    void opts
      .externalAllowList()
      .then((list) =>
        externalUrlAllowed(url, list)
          ? opts.openExternal(url)
          : opts.log?.(`blocked window.open(${url.slice(0, 200)})`),
      )
      .catch(() => undefined);
    return { action: 'deny' };
  });
}

type SessionLike = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'> & {
  webRequest: Pick<Session['webRequest'], 'onBeforeRequest'>;
};

/** Permissions off (but the two above), and no network: Bindery is offline by design. */
export function hardenSession(session: SessionLike): void {
  session.setPermissionRequestHandler((_wc, permission, callback, details) =>
    callback(permissionAllowed(permission, details.requestingUrl)),
  );
  session.setPermissionCheckHandler((_wc, permission, requestingOrigin, details) =>
    permissionAllowed(permission, details.requestingUrl ?? requestingOrigin),
  );
  session.webRequest.onBeforeRequest(
    { urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] },
    (_d, callback) => callback({ cancel: true }),
  );
}
