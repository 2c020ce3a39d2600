import type { ApiEvent } from '../../app/api.js';
import type { ApiErrorBody } from '../../app/errors.js';

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

/** The part of MessagePort / parentPort / utilityProcess both sides need. */
export interface PortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}
