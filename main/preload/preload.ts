import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { ApiEvent, AppApi, MediaVariant } from '../../app/api.js';
import { API_EVENTS, apiCalls, CHANNELS, mediaUrl } from '../../app/transport.js';
import type { ApiErrorBody } from '../../app/errors.js';

/**
 * The preload (sandboxed, context-isolated): exposes `window.bindery`, functions only. Every
 * AppApi method goes through one IPC channel that main checks (sender frame, zod schema); the
 * answer is an outcome `{ ok, value | error }` which this file unwraps.
 *
 * A sandboxed preload can only `require('electron')`, so this file is bundled to one CommonJS file
 * (dist/main/preload/preload.cjs, esbuild). It imports app/ for types only: the method, event and
 * variant lists below are checked against app/api.ts by the compiler (an API method added there
 * and missing here is a type error), so zod (≈750 kB) stays out of every renderer.
 *
 * Rejections are plain `{ name: 'ApiError', code, message, issues }` objects, not Error instances:
 * contextBridge copies an Error's message and drops every other property (electron/electron#25596),
 * which would lose the code. The renderer's `toClientError` turns them back into ApiErrors.
 */

const { call: CALL_CHANNEL, event: EVENT_CHANNEL } = CHANNELS;

type Outcome = { ok: true; value: unknown } | { ok: false; error: ApiErrorBody };

export interface PreloadDeps {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, message: unknown) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, message: unknown) => void): unknown;
  getPathForFile(file: File): string;
}

export type BinderyPreloadApi = Omit<AppApi, 'onIndexProgress' | 'onModelProgress'> &
  Pick<AppApi, 'onIndexProgress' | 'onModelProgress'> & {
    on(event: ApiEvent, cb: (data: unknown) => void): () => void;
    mediaUrl(fileId: number, variant: MediaVariant): string;
    pathForFile(file: File): string;
    chooseFolder(): Promise<string | null>;
    reveal(fileId: number): Promise<void>;
  };

export type PreloadRejection = ApiErrorBody & { name: 'ApiError' };

function rejection(error: Partial<ApiErrorBody> | undefined): PreloadRejection {
  const body: PreloadRejection = {
    name: 'ApiError',
    code: error?.code ?? 'failed',
    message: typeof error?.message === 'string' ? error.message : 'unknown error',
  };
  if (Array.isArray(error?.issues))
    body.issues = error.issues.map((i) => ({ path: String(i.path), message: String(i.message) }));
  return body;
}

const isEvent = (e: unknown): e is ApiEvent =>
  typeof e === 'string' && (API_EVENTS as readonly string[]).includes(e);

export function createBinderyApi(deps: PreloadDeps): BinderyPreloadApi {
  const call = async (method: string, payload: unknown): Promise<unknown> => {
    let outcome: Outcome;
    try {
      outcome = (await deps.invoke(CALL_CHANNEL, method, payload ?? {})) as Outcome;
    } catch (e) {
      throw rejection({ code: 'failed', message: e instanceof Error ? e.message : String(e) });
    }
    if (outcome?.ok === true) return outcome.value;
    throw rejection(
      outcome?.ok === false ? outcome.error : { code: 'failed', message: 'malformed IPC reply' },
    );
  };

  const listeners = new Map<ApiEvent, Set<(data: unknown) => void>>();
  let subscribed = false;
  const onMessage = (_event: unknown, message: unknown) => {
    const { event, data } = (message ?? {}) as { event?: unknown; data?: unknown };
    if (!isEvent(event)) return;
    for (const cb of listeners.get(event as ApiEvent) ?? []) {
      try {
        cb(data);
      } catch (e) {
        console.error(e);
      }
    }
  };
  const on = (event: ApiEvent, cb: (data: unknown) => void): (() => void) => {
    if (!isEvent(event)) throw new Error(`unknown event ${String(event)}`);
    if (typeof cb !== 'function') throw new Error('listener must be a function');
    if (!subscribed) {
      deps.on(EVENT_CHANNEL, onMessage);
      subscribed = true;
    }
    const set = listeners.get(event) ?? new Set();
    set.add(cb);
    listeners.set(event, set);
    return () => {
      set.delete(cb);
      if ([...listeners.values()].every((s) => s.size === 0) && subscribed) {
        deps.removeListener(EVENT_CHANNEL, onMessage);
        subscribed = false;
      }
    };
  };

  return {
    ...apiCalls(call),
    on,
    onIndexProgress: (cb) => on('indexProgress', cb as (d: unknown) => void),
    onModelProgress: (cb) => on('modelProgress', cb as (d: unknown) => void),
    mediaUrl,
    pathForFile: (file) => deps.getPathForFile(file),
    chooseFolder: async () => (await call('chooseFolder', {})) as string | null,
    reveal: async (fileId) => {
      await call('reveal', { fileId });
    },
  };
}

contextBridge.exposeInMainWorld(
  'bindery',
  createBinderyApi({
    invoke: (channel, ...args) => ipcRenderer.invoke(channel, ...args),
    on: (channel, listener) => ipcRenderer.on(channel, listener),
    removeListener: (channel, listener) => ipcRenderer.removeListener(channel, listener),
    getPathForFile: (file) => webUtils.getPathForFile(file),
  }),
);
