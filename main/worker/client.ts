import type { ApiEvent, AppApi, ModelProgress } from '../../app/api.js';
import { apiCalls, type ApiCalls } from '../../app/transport.js';
import { ApiError } from '../../app/errors.js';
import type { IndexProgress } from '../../app/indexing.js';
import type { HostMessage, PortLike } from './protocol.js';

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
    port.on('message', (raw) => this.receive(raw as HostMessage));
  }

  /** Calls a method by name with an unvalidated payload: the host validates it. */
  call<T = unknown>(method: string, payload: unknown = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ type: 'call', id, method, payload });
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

  private receive(m: HostMessage): void {
    if (m.type === 'event') this.listeners.get(m.event)?.forEach((l) => l(m.data as never));
    if (m.type !== 'result') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(ApiError.from(m.error));
  }

  onIndexProgress = (l: (p: IndexProgress) => void) => this.on('indexProgress', l as (d: never) => void);
  onModelProgress = (l: (p: ModelProgress) => void) => this.on('modelProgress', l as (d: never) => void);
}
