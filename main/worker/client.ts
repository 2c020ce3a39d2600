import type { ApiEvent, AppApi, ModelProgress } from '../../app/api.js';
import { apiCalls, type ApiCalls } from '../../app/transport.js';
import { ApiError } from '../../app/errors.js';
import type { IndexProgress } from '../../app/indexing.js';
import type { MediaVariant } from '../../app/api.js';
import type { ServedFile } from '../core/media/media.js';
import type { HostMessage, MediaReply, PortLike } from './protocol.js';

const MEDIA_CODES = {
  400: 'invalid_request',
  403: 'forbidden',
  404: 'not_found',
  415: 'unsupported',
  500: 'failed',
  503: 'offline',
} as const;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

// The AppApi methods come from the one client factory (app/transport.ts apiCalls), assigned in the constructor.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface PortApiClient extends ApiCalls {}

/** AppApi over a port to an engine host: what the bridge and the Electron shell hold. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PortApiClient implements AppApi {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<ApiEvent, Set<(data: never) => void>>();

  constructor(private readonly port: PortLike) {
    Object.assign(
      this,
      apiCalls((method, payload) => this.call(method, payload)),
    );
    port.on('message', (raw) => this.receive(raw as HostMessage | MediaReply));
  }

  /** Calls a method by name with an unvalidated payload: the host validates it. */
  call<T = unknown>(method: string, payload: unknown = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ type: 'call', id, method, payload });
    });
  }

  /**
   * A library file by opaque id, resolved by the engine host (resolveMedia: catalogued, under a
   * library folder, its thumbnail made there). Rejects with an ApiError whose code carries the
   * status: forbidden, not_found, unsupported, offline, invalid_request or failed.
   */
  resolveMedia(fileId: number, variant: MediaVariant): Promise<ServedFile> {
    const id = this.nextId++;
    return new Promise<ServedFile>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ type: 'media', id, fileId, variant });
    });
  }

  /** Rejects every call in flight (the host died); callers see an error, not a hang. */
  failAll(message: string): void {
    for (const p of this.pending.values()) p.reject(new ApiError('failed', message));
    this.pending.clear();
  }

  on(event: ApiEvent, listener: (data: never) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener);
    this.listeners.set(event, set);
    return () => set.delete(listener);
  }

  private receive(m: HostMessage | MediaReply): void {
    if (m.type === 'event') this.listeners.get(m.event)?.forEach((l) => l(m.data as never));
    if (m.type === 'media') return this.settleMedia(m);
    if (m.type !== 'result') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(ApiError.from(m.error));
  }

  private settleMedia(m: MediaReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.file);
    else p.reject(new ApiError(MEDIA_CODES[m.status], m.message));
  }

  onIndexProgress = (l: (p: IndexProgress) => void) => this.on('indexProgress', l as (d: never) => void);
  onModelProgress = (l: (p: ModelProgress) => void) => this.on('modelProgress', l as (d: never) => void);
}
