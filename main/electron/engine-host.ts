import type { ApiEvent, MediaVariant } from '../../app/api.js';
import { ApiError } from '../../app/errors.js';
import type { ServedFile } from '../core/media/media.js';
import { PortApiClient } from '../worker/client.js';
import type { HostMessage, PortLike } from '../worker/protocol.js';
import type { MediaReply, MediaRequest } from '../worker/protocol.js';

/**
 * Keeps the engine host (utility-entry in a utility process) alive for the shell: starts it,
 * forwards calls and events, and restarts it with backoff when it dies. Calls in flight when it
 * dies are rejected with a clear error (never left hanging); calls made while it restarts wait
 * for it. If an indexing run was under way, it resumes from the persistent job queue
 * (`index({ skipScan: true })`) once the new host is ready.
 *
 * Plain Node: the process behind it is abstracted as a HostProcess, so tests drive it with a fake
 * or a forked Node child, and the shell with `utilityProcess.fork`.
 */

export interface HostProcess {
  postMessage(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  /** `signal` when the OS killed it (Node children; a utility process reports only a code). */
  onExit(listener: (code: number | null, signal?: string | null) => void): void;
  kill(): void;
}

export type SpawnHost = () => HostProcess;
export type EngineState = 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped';
export type EventListener = (event: ApiEvent, data: unknown) => void;

export interface SupervisorOptions {
  spawn: SpawnHost;
  /** Delay before the n-th restart inside the crash window (n ≥ 1). Default: 0.5 s doubling, at most 30 s. */
  backoffMs?: (attempt: number) => number;
  /** Crashes tolerated inside `crashWindowMs`; one more and the supervisor gives up (state `failed`). */
  maxCrashes?: number;
  crashWindowMs?: number;
  /** A host that has not said `ready` by then is killed (and restarted like a crash). */
  readyTimeoutMs?: number;
  /** How long `stop()` waits for a clean shutdown before killing. */
  stopTimeoutMs?: number;
  /**
   * A host that reports `fatal` (it could not open the engine) may be replaced by another way of
   * hosting it; return a spawner to switch to it at once, or undefined to treat it as a crash.
   */
  onFatal?: (message: string) => SpawnHost | undefined;
  onState?: (state: EngineState, detail: string | null) => void;
  log?: (line: string) => void;
}

export class MediaLookupError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Deferred<T> = { resolve: (v: T) => void; reject: (e: Error) => void };

interface Generation {
  proc: HostProcess;
  client: PortApiClient;
  ready: boolean;
  exited: boolean;
  fatal: string | null;
  media: Map<number, Deferred<ServedFile>>;
  readyTimer: ReturnType<typeof setTimeout>;
  exit: Promise<void>;
}

export const defaultBackoff = (attempt: number) => Math.min(500 * 2 ** (attempt - 1), 30_000);

export class EngineSupervisor {
  private spawn: SpawnHost;
  private gen: Generation | null = null;
  private status: EngineState = 'stopped';
  private detail: string | null = null;
  private waiters: Deferred<Generation>[] = [];
  private crashes: number[] = [];
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<EventListener>();
  private indexCalls = 0;
  private indexingSeen = false;
  private resumeIndex = false;
  private nextMediaId = 1;

  constructor(private readonly opts: SupervisorOptions) {
    this.spawn = opts.spawn;
  }

  get state(): EngineState {
    return this.status;
  }

  /** True while an indexing run is known to be under way (a call in flight, or progress seen). */
  get indexing(): boolean {
    return this.indexCalls > 0 || this.indexingSeen;
  }

  start(): void {
    if (this.status !== 'stopped' && this.status !== 'failed') return;
    this.crashes = [];
    this.launch('starting');
  }

  /** Starts again after giving up (a "Try again" button), with a fresh crash budget. */
  restart(): void {
    if (this.status === 'failed') this.start();
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forwards an AppApi call (the host validates it again with `dispatch`). */
  async call(method: string, payload: unknown): Promise<unknown> {
    const isIndex = method === 'index';
    if (isIndex) this.indexCalls++;
    try {
      const gen = await this.whenReady();
      return await gen.client.call(method, payload);
    } finally {
      if (isIndex) this.indexCalls--;
    }
  }

  /** Resolves an opaque file id to a file the media:// protocol may stream. */
  async resolveMedia(fileId: number, variant: MediaVariant): Promise<ServedFile> {
    const gen = await this.whenReady();
    if (gen.exited) throw new MediaLookupError(503, 'the engine is restarting');
    const id = this.nextMediaId++;
    return new Promise<ServedFile>((resolve, reject) => {
      gen.media.set(id, { resolve, reject });
      const request: MediaRequest = { type: 'media', id, fileId, variant };
      gen.proc.postMessage(request);
    });
  }

  /** Asks the host to close the catalogue and exit; kills it if it does not within the timeout. */
  async stop(): Promise<void> {
    if (this.status === 'stopped') return;
    this.setState('stopped', null);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.rejectWaiters('the engine was stopped');
    const gen = this.gen;
    if (!gen || gen.exited) return;
    gen.proc.postMessage({ type: 'shutdown' });
    const timer = setTimeout(() => gen.proc.kill(), this.opts.stopTimeoutMs ?? 5000);
    await gen.exit;
    clearTimeout(timer);
  }

  private whenReady(): Promise<Generation> {
    if (this.gen?.ready && !this.gen.exited) return Promise.resolve(this.gen);
    if (this.status === 'failed' || this.status === 'stopped') {
      return Promise.reject(
        new ApiError('failed', `the engine is not running${this.detail ? `: ${this.detail}` : ''}`),
      );
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private launch(state: 'starting' | 'restarting'): void {
    this.restartTimer = null;
    this.setState(state, this.detail);
    let proc: HostProcess;
    try {
      proc = this.spawn();
    } catch (e) {
      this.crashed(`the engine could not be started: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const port: PortLike = { postMessage: (m) => proc.postMessage(m), on: (_e, l) => proc.onMessage(l) };
    let exited!: () => void;
    const gen: Generation = {
      proc,
      client: new PortApiClient(port),
      ready: false,
      exited: false,
      fatal: null,
      media: new Map(),
      readyTimer: setTimeout(() => {
        this.log(`the engine did not start within ${this.opts.readyTimeoutMs ?? 120_000} ms; killing it`);
        proc.kill();
      }, this.opts.readyTimeoutMs ?? 120_000),
      exit: new Promise<void>((r) => (exited = r)),
    };
    this.gen = gen;
    gen.client.on('indexProgress', (data: never) => this.progress(data));
    gen.client.on('modelProgress', (data: never) => this.emit('modelProgress', data));
    proc.onMessage((m) => this.receive(gen, m as HostMessage | MediaReply));
    proc.onExit((code, signal) => {
      this.exited(gen, signal ? signal : `exit code ${code ?? 'none'}`);
      exited();
    });
  }

  private receive(gen: Generation, m: HostMessage | MediaReply): void {
    if (m?.type === 'ready') {
      gen.ready = true;
      clearTimeout(gen.readyTimer);
      this.setState('ready', null);
      const waiters = this.waiters.splice(0);
      waiters.forEach((w) => w.resolve(gen));
      if (this.resumeIndex) {
        this.resumeIndex = false;
        this.log('resuming the interrupted indexing run');
        this.call('index', { skipScan: true }).catch((e) =>
          this.log(`resumed indexing failed: ${String(e)}`),
        );
      }
    } else if (m?.type === 'fatal') {
      gen.fatal = m.message;
      this.log(`the engine could not start: ${m.message}`);
    } else if (m?.type === 'media') {
      const pending = gen.media.get(m.id);
      if (!pending) return;
      gen.media.delete(m.id);
      if (m.ok) pending.resolve(m.file);
      else pending.reject(new MediaLookupError(m.status, m.message));
    }
  }

  private progress(data: { phase?: string }): void {
    this.indexingSeen = data?.phase !== 'done' && data?.phase !== 'cancelled';
    this.emit('indexProgress', data);
  }

  private emit(event: ApiEvent, data: unknown): void {
    for (const l of this.listeners) {
      try {
        l(event, data);
      } catch (e) {
        this.log(`event listener failed: ${String(e)}`);
      }
    }
  }

  private exited(gen: Generation, how: string): void {
    if (gen.exited) return;
    gen.exited = true;
    clearTimeout(gen.readyTimer);
    if (this.gen === gen) this.gen = null;
    const stopping = this.status === 'stopped';
    const reason = gen.fatal
      ? `the engine could not start: ${gen.fatal}`
      : `the engine stopped unexpectedly (${how})`;
    const message = stopping ? 'the engine was stopped' : `${reason}; it is being restarted`;
    if (!stopping && this.indexing) this.resumeIndex = true;
    this.indexingSeen = false;
    gen.client.failAll(message);
    for (const p of gen.media.values()) p.reject(new MediaLookupError(503, message));
    gen.media.clear();
    if (stopping) return;
    const alternative = gen.fatal ? this.opts.onFatal?.(gen.fatal) : undefined;
    if (alternative) {
      this.spawn = alternative;
      this.launch('restarting');
      return;
    }
    this.crashed(reason);
  }

  private crashed(reason: string): void {
    const now = Date.now();
    const window = this.opts.crashWindowMs ?? 5 * 60_000;
    this.crashes = this.crashes.filter((t) => now - t < window);
    this.crashes.push(now);
    if (this.crashes.length > (this.opts.maxCrashes ?? 5)) {
      this.setState('failed', reason);
      this.rejectWaiters(reason);
      return;
    }
    this.setState('restarting', reason);
    const delay = (this.opts.backoffMs ?? defaultBackoff)(this.crashes.length);
    this.restartTimer = setTimeout(() => this.launch('restarting'), delay);
  }

  private rejectWaiters(reason: string): void {
    const waiters = this.waiters.splice(0);
    waiters.forEach((w) => w.reject(new ApiError('failed', `the engine is not running: ${reason}`)));
  }

  private setState(state: EngineState, detail: string | null): void {
    const changed = state !== this.status || detail !== this.detail;
    this.status = state;
    this.detail = detail;
    if (changed) this.opts.onState?.(state, detail);
  }

  private log(line: string): void {
    this.opts.log?.(`[engine] ${line}`);
  }
}
