// Size: both transports' clients (the bridge and Electron) and the error mapping they share.
import {
  API_SCHEMAS,
  EVENT_SCHEMAS,
  type ApiEvent,
  type AppApi,
  type MediaVariant,
  type ModelProgress,
} from '../../../app/api.js';
import { ApiError, type ApiErrorBody, type ApiErrorCode } from '../../../app/errors.js';
import type { IndexProgress } from '../../../app/indexing.js';
import { apiCalls, bridgeMediaPath, type ApiMethodName } from '../../../app/transport.js';

type Caller = (method: ApiMethodName, payload: unknown) => Promise<unknown>;

/**
 * The renderer's one door to the engine: AppApi plus what only a UI needs (media URLs, dropped
 * files, the platform). Two transports implement it — Electron's preload (`window.bindery`) and the
 * loopback bridge of `bindery serve` (fetch + a reconnecting WebSocket) — and the components never
 * know which one they talk to.
 */
export interface BinderyClient extends AppApi {
  readonly platform: 'electron' | 'browser';
  /** A URL an <img>/<audio>/<video> can load: the original bytes or a thumbnail/poster frame. */
  mediaUrl(fileId: number, variant: MediaVariant): string;
  /** A path the engine can read for a file dropped from the OS (Electron: its own path; browser: an upload). */
  resolveDroppedFile(file: File): Promise<string>;
  /** A native folder picker, where the platform has one. Resolves null when the user cancels. */
  chooseFolder?: () => Promise<string | null>;
  /** Shows the file in the system file manager, where the platform can. */
  reveal?: (fileId: number) => Promise<void>;
  /** Live-connection state of the event channel (the bridge's WebSocket); Electron is always connected. */
  onConnection(listener: (state: ConnectionState) => void): () => void;
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

/** What Electron's preload exposes as `window.bindery` (see main/preload). */
export type BinderyPreload = Omit<AppApi, 'onIndexProgress' | 'onModelProgress'> &
  Partial<Pick<AppApi, 'onIndexProgress' | 'onModelProgress'>> & {
    on(event: ApiEvent, cb: (data: unknown) => void): () => void;
    mediaUrl(fileId: number, variant: MediaVariant): string;
    pathForFile(file: File): string;
    chooseFolder?: () => Promise<string | null>;
    reveal?: (fileId: number) => Promise<void>;
  };

declare global {
  interface Window {
    bindery?: BinderyPreload;
  }
}

const ERROR_CODES: readonly ApiErrorCode[] = [
  'invalid_request',
  'unauthorized',
  'not_found',
  'forbidden',
  'unsupported',
  'conflict',
  'cancelled',
  'failed',
];

/** Every rejection the UI sees is an ApiError, whatever the transport threw. */
export function toClientError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e && typeof e === 'object' && 'message' in e) {
    const body = e as Partial<ApiErrorBody>;
    const code = ERROR_CODES.includes(body.code as ApiErrorCode) ? (body.code as ApiErrorCode) : 'failed';
    // Electron prefixes errors thrown across IPC with "Error invoking remote method 'x': Error: ".
    const message = String(body.message).replace(/^Error invoking remote method '[^']+': (\w*Error: )?/, '');
    return new ApiError(code, message || 'unknown error', body.issues);
  }
  return new ApiError('failed', typeof e === 'string' ? e : 'unknown error');
}

// ---------------------------------------------------------------------------------------------
// Browser: the loopback bridge of `bindery serve`
// ---------------------------------------------------------------------------------------------

export interface BridgeClientOptions {
  /** Check responses against the API's zod schemas (on by default: the network is a boundary). */
  validate?: boolean;
  WebSocketImpl?: typeof WebSocket;
  fetchImpl?: typeof fetch;
}

export function createBridgeClient(
  origin: string,
  token: string,
  opts: BridgeClientOptions = {},
): BinderyClient {
  const base = origin.replace(/\/+$/, '');
  const doFetch = opts.fetchImpl ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const validate = opts.validate ?? true;
  const auth = { authorization: `Bearer ${token}` };

  const request = async (url: string, init: RequestInit): Promise<unknown> => {
    let res: Response;
    try {
      res = await doFetch(url, init);
    } catch {
      throw new ApiError('failed', 'Cannot reach the Bindery server. Is `bindery serve` still running?');
    }
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      throw new ApiError('failed', `The server answered ${res.status} with something that is not JSON`);
    }
    if (!res.ok) {
      const err = (body as { error?: ApiErrorBody } | null)?.error;
      throw err ? toClientError(err) : new ApiError('failed', `The server answered ${res.status}`);
    }
    return body;
  };

  const call: Caller = async (method, payload) => {
    const body = await request(`${base}/api/${method}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(payload ?? {}),
    });
    if (!validate) return body;
    const parsed = API_SCHEMAS[method].response.safeParse(body);
    if (!parsed.success) throw new ApiError('failed', `Unexpected ${method} response from the server`);
    return parsed.data;
  };

  const events = createEventSocket(base, token, opts.WebSocketImpl);
  return {
    platform: 'browser',
    ...apiCalls(call),
    onIndexProgress: (l) => events.on('indexProgress', l as (d: unknown) => void),
    onModelProgress: (l) => events.on('modelProgress', l as (d: unknown) => void),
    onConnection: (l) => events.onState(l),
    mediaUrl: (fileId, variant) =>
      `${base}${bridgeMediaPath(fileId, variant)}?token=${encodeURIComponent(token)}`,
    resolveDroppedFile: async (file) => {
      const body = (await request(`${base}/api/upload`, {
        method: 'POST',
        headers: {
          ...auth,
          'content-type': 'application/octet-stream',
          'x-filename': encodeURIComponent(file.name),
        },
        body: file,
      })) as { path?: unknown };
      if (typeof body?.path !== 'string') throw new ApiError('failed', 'The upload returned no path');
      return body.path;
    },
  };
}

type EventListener = (data: unknown) => void;

/**
 * One WebSocket to `/api/events`, opened on the first subscription and reopened with backoff
 * (0.5 s doubling to 8 s) whenever it drops, so a restarted server or a sleeping laptop recovers.
 */
export function createEventSocket(base: string, token: string, WS: typeof WebSocket | undefined = undefined) {
  const listeners = new Map<ApiEvent, Set<EventListener>>();
  const stateListeners = new Set<(s: ConnectionState) => void>();
  let socket: WebSocket | null = null;
  let state: ConnectionState = 'connecting';
  let delay = 500;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const wsUrl = `${base.replace(/^http/, 'ws')}/api/events?token=${encodeURIComponent(token)}`;

  const setState = (s: ConnectionState) => {
    state = s;
    stateListeners.forEach((l) => l(s));
  };
  const connect = () => {
    const Impl = WS ?? globalThis.WebSocket;
    if (!Impl) return;
    const ws = new Impl(wsUrl);
    socket = ws;
    ws.onopen = () => {
      delay = 500;
      setState('open');
    };
    ws.onmessage = (m) => dispatchMessage(listeners, m.data);
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      setState('reconnecting');
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 8000);
    };
    ws.onerror = () => ws.close();
  };
  const ensure = () => {
    if (!socket && !timer) connect();
  };
  return {
    on(event: ApiEvent, cb: EventListener): () => void {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(cb);
      ensure();
      return () => listeners.get(event)?.delete(cb);
    },
    onState(cb: (s: ConnectionState) => void): () => void {
      stateListeners.add(cb);
      cb(state);
      ensure();
      return () => stateListeners.delete(cb);
    },
    close() {
      if (timer) clearTimeout(timer);
      const ws = socket;
      socket = null;
      ws?.close();
    },
  };
}

function dispatchMessage(listeners: Map<ApiEvent, Set<EventListener>>, raw: unknown): void {
  if (typeof raw !== 'string') return;
  let msg: { event?: unknown; data?: unknown };
  try {
    msg = JSON.parse(raw);
  } catch {
    return;
  }
  const event = msg.event as ApiEvent;
  if (!(event in EVENT_SCHEMAS)) return;
  const parsed = EVENT_SCHEMAS[event].safeParse(msg.data);
  if (!parsed.success) return;
  listeners.get(event)?.forEach((l) => l(parsed.data));
}

// ---------------------------------------------------------------------------------------------
// Electron: the preload's window.bindery
// ---------------------------------------------------------------------------------------------

export function createElectronClient(api: BinderyPreload): BinderyClient {
  const call: Caller = async (method, payload) => {
    const fn = (api as unknown as Record<string, (req: unknown) => Promise<unknown>>)[method];
    if (typeof fn !== 'function') throw new ApiError('not_found', `This Bindery build has no ${method}`);
    try {
      return await fn.call(api, payload ?? {});
    } catch (e) {
      throw toClientError(e);
    }
  };
  const wrap = <A extends unknown[], R>(fn: ((...a: A) => Promise<R>) | undefined) =>
    fn
      ? async (...a: A) => {
          try {
            return await fn.apply(api, a);
          } catch (e) {
            throw toClientError(e);
          }
        }
      : undefined;
  return {
    platform: 'electron',
    ...apiCalls(call),
    onIndexProgress: (l: (p: IndexProgress) => void) => api.on('indexProgress', l as EventListener),
    onModelProgress: (l: (p: ModelProgress) => void) => api.on('modelProgress', l as EventListener),
    onConnection: (l) => {
      l('open');
      return () => undefined;
    },
    mediaUrl: (fileId, variant) => api.mediaUrl(fileId, variant),
    resolveDroppedFile: async (file) => {
      const p = api.pathForFile(file);
      if (!p)
        throw new ApiError(
          'unsupported',
          `“${file.name}” is not a file on disk; save it first, then drop it`,
        );
      return p;
    },
    chooseFolder: wrap(api.chooseFolder),
    reveal: wrap(api.reveal),
  };
}

// ---------------------------------------------------------------------------------------------
// Start-up: which transport is this window on?
// ---------------------------------------------------------------------------------------------

export type ClientChoice =
  | { kind: 'electron'; client: BinderyClient }
  | { kind: 'bridge'; client: BinderyClient }
  | { kind: 'no-token' };

const TOKEN_KEY = 'bindery.token';

/** Reads `#token=…` from the address (then hides it from the address bar and keeps it for reloads). */
export function tokenFromLocation(
  loc: Location,
  storage: Storage | null,
  history: History | null,
): string | null {
  const params = new URLSearchParams(loc.hash.replace(/^#/, ''));
  const fromHash = params.get('token');
  if (fromHash) {
    try {
      storage?.setItem(TOKEN_KEY, fromHash);
      history?.replaceState(null, '', `${loc.pathname}${loc.search}`);
    } catch {
      // Storage can be disabled; the token still works for this page.
    }
    return fromHash;
  }
  try {
    return storage?.getItem(TOKEN_KEY) ?? null;
  } catch {
    return null;
  }
}

export function chooseClient(win: Window = window): ClientChoice {
  if (win.bindery) return { kind: 'electron', client: createElectronClient(win.bindery) };
  let storage: Storage | null = null;
  try {
    storage = win.sessionStorage;
  } catch {
    storage = null;
  }
  const token = tokenFromLocation(win.location, storage, win.history);
  if (!token) return { kind: 'no-token' };
  return { kind: 'bridge', client: createBridgeClient(win.location.origin, token) };
}
