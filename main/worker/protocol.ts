import type { ApiEvent, MediaVariant } from '../../app/api.js';
import type { ApiErrorBody } from '../../app/errors.js';
import type { ServedFile } from '../core/media/media.js';

/**
 * Messages between a transport and the engine host (a worker thread for `bindery serve`, an
 * Electron utility process for the app). Structured-clone friendly: plain objects only.
 */
export type HostRequest = { type: 'call'; id: number; method: string; payload: unknown };

export type HostMessage =
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: ApiErrorBody }
  | { type: 'event'; event: ApiEvent; data: unknown }
  | { type: 'ready' }
  | { type: 'fatal'; message: string };

/** Media by opaque id, for the media:// protocol and the bridge's /media/ alike (resolveMedia). */
export type MediaRequest = { type: 'media'; id: number; fileId: number; variant: MediaVariant };
export type MediaReply =
  | { type: 'media'; id: number; ok: true; file: ServedFile }
  | { type: 'media'; id: number; ok: false; status: 400 | 403 | 404 | 415 | 500 | 503; message: string };
export type ShutdownRequest = { type: 'shutdown' };

/** The part of MessagePort / parentPort / utilityProcess both sides need. */
export interface PortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}
