import type { AppApi } from './api.js';

/**
 * What every transport of AppApi shares (docs/architecture.md §2): the method and event lists, the
 * Electron channel names, the engine host's options flag, the media URL, and the one client
 * factory the renderer, the preload and the worker client build their AppApi with. Pure and
 * zod-free on purpose: the sandboxed preload bundles this file, and zod must stay out of it.
 * app/api.ts checks at compile time that API_METHODS names exactly its schemas' methods.
 */

export const API_METHODS = [
  'status',
  'listRoots',
  'addRoot',
  'removeRoot',
  'listDirs',
  'index',
  'cancelIndex',
  'search',
  'failures',
  'fileInfo',
  'waveform',
  'listModels',
  'useModel',
  'installModel',
  'removeModel',
  'embed',
  'availableModels',
  'cancelModelInstall',
  'setModelMirror',
  'selfTestModel',
  'browse',
  'settings',
  'setSettings',
] as const;
export type ApiMethodName = (typeof API_METHODS)[number];

export const API_EVENTS = ['indexProgress', 'modelProgress'] as const;
export type ApiEventName = (typeof API_EVENTS)[number];

/** Media bytes are not JSON: each transport serves them by opaque file id (media:// or /media/…). */
export const MEDIA_VARIANTS = ['original', 'thumb'] as const;
/**
 * `original`, `thumb` (a photo's thumbnail, a video's poster), or `at<ms>`: a video's frame at
 * that moment (a matched clip's poster), e.g. `at4000`.
 */
export type MediaVariant = (typeof MEDIA_VARIANTS)[number] | `at${number}`;

const MOMENT_VARIANT = /^at(0|[1-9][0-9]{0,9})$/;

/** The poster of a moment, to the tenth of a second (so nearby moments share one cached frame). */
export function momentVariant(seconds: number): MediaVariant {
  return `at${Math.max(0, Math.round(seconds * 10) * 100)}`;
}

/** The time a moment variant names, in ms; null for the other variants. */
export function momentOfVariant(variant: MediaVariant): number | null {
  return MOMENT_VARIANT.test(variant) ? Number(variant.slice(2)) : null;
}

export function isMediaVariant(v: unknown): v is MediaVariant {
  return (
    typeof v === 'string' && ((MEDIA_VARIANTS as readonly string[]).includes(v) || MOMENT_VARIANT.test(v))
  );
}

/** Electron IPC: every AppApi call goes through CALL, every engine event comes back on EVENT. */
export const CHANNELS = { call: 'bindery:call', event: 'bindery:event' } as const;

/** argv flag carrying the engine host's EngineOptions as JSON: `--engine-options={"dbPath":…}`. */
export const ENGINE_OPTIONS_FLAG = '--engine-options=';

/** The Electron scheme that serves library files by id: `media://file/<fileId>/<variant>`. */
export const MEDIA_SCHEME = 'media';

export function mediaUrl(fileId: number, variant: MediaVariant): string {
  if (!Number.isSafeInteger(fileId) || fileId <= 0) throw new Error('fileId must be a positive integer');
  if (!isMediaVariant(variant))
    throw new Error(`variant must be one of ${MEDIA_VARIANTS.join(', ')} or at<ms>`);
  return `${MEDIA_SCHEME}://file/${fileId}/${variant}`;
}

const MEDIA_URL = new RegExp(`^${MEDIA_SCHEME}://file/([1-9][0-9]{0,14})/([a-z0-9]{1,16})$`);

/**
 * The id and variant of a media URL, or null. The raw string is checked before anything parses
 * it: a URL parser would quietly fold `..`, `%2e%2e` and backslashes into another path, and no
 * valid media URL contains a dot, a percent sign, a backslash, a query or a fragment.
 */
export function parseMediaUrl(raw: string): { fileId: number; variant: MediaVariant } | null {
  if (typeof raw !== 'string' || raw.length > 64) return null;
  const m = MEDIA_URL.exec(raw);
  if (!m) return null;
  const fileId = Number(m[1]);
  const variant = m[2] as MediaVariant;
  if (!Number.isSafeInteger(fileId) || !isMediaVariant(variant)) return null;
  return { fileId, variant };
}

/** The bridge's path for a library file by id (HTTP: `GET /media/<fileId>/<variant>`, with the token). */
export function bridgeMediaPath(fileId: number, variant: MediaVariant): string {
  return `/media/${fileId}/${variant}`;
}

const BRIDGE_MEDIA_PATH = /^\/media\/([1-9][0-9]{0,14})\/([a-z0-9]{1,16})$/;

/** The id and variant of a bridge media path, or null. */
export function parseBridgeMediaPath(p: string): { fileId: number; variant: MediaVariant } | null {
  const m = BRIDGE_MEDIA_PATH.exec(p);
  if (!m || !isMediaVariant(m[2])) return null;
  return { fileId: Number(m[1]), variant: m[2] as MediaVariant };
}

/** AppApi's request/response methods (events are subscribed separately, per transport). */
export type ApiCalls = Omit<AppApi, 'onIndexProgress' | 'onModelProgress'>;

/** The one client factory: every AppApi method as a call of `call(method, payload)`. */
export function apiCalls(call: (method: ApiMethodName, payload: unknown) => Promise<unknown>): ApiCalls {
  return Object.fromEntries(
    API_METHODS.map((method) => [method, (payload: unknown = {}) => call(method, payload)]),
  ) as unknown as ApiCalls;
}
