import type {
  ApiEvent,
  AppApi,
  AvailableModels,
  EmbedRequest,
  Embedding,
  Failure,
  FileInfo,
  InstallModelRequest,
  InstallResult,
  ModelProgress,
  ModelSummary,
  RootInfo,
  Status,
} from '../../app/api.js';
import { ApiError } from '../../app/errors.js';
import type { IndexProgress, IndexSummary } from '../../app/indexing.js';
import type { QueryInput, SearchResponse } from '../../app/query.js';
import type { HostMessage, PortLike } from './protocol.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/** AppApi over a port to an engine host: what the bridge and the Electron shell hold. */
export class PortApiClient implements AppApi {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<ApiEvent, Set<(data: never) => void>>();

  constructor(private readonly port: PortLike) {
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

  status = () => this.call<Status>('status');
  listRoots = () => this.call<RootInfo[]>('listRoots');
  addRoot = (req: { path: string }) => this.call<RootInfo>('addRoot', req);
  removeRoot = (req: { id: number }) => this.call<{ removed: number }>('removeRoot', req);
  index = (req: { retryFailed?: boolean; skipScan?: boolean } = {}) => this.call<IndexSummary>('index', req);
  cancelIndex = () => this.call<{ cancelled: boolean }>('cancelIndex');
  search = (query: QueryInput) => this.call<SearchResponse>('search', query);
  failures = () => this.call<Failure[]>('failures');
  fileInfo = (req: { fileId: number }) => this.call<FileInfo>('fileInfo', req);
  waveform = (req: { fileId: number; points?: number }) => this.call<{ peaks: number[] }>('waveform', req);
  listModels = () => this.call<ModelSummary[]>('listModels');
  useModel = (req: { id: string }) => this.call<ModelSummary[]>('useModel', req);
  installModel = (req: InstallModelRequest) => this.call<InstallResult>('installModel', req);
  removeModel = (req: { id: string }) => this.call<ModelSummary[]>('removeModel', req);
  embed = (req: EmbedRequest) => this.call<Embedding>('embed', req);
  availableModels = () => this.call<AvailableModels>('availableModels');
  cancelModelInstall = () => this.call<{ cancelled: boolean }>('cancelModelInstall');
  setModelMirror = (req: { url: string | null }) => this.call<AvailableModels>('setModelMirror', req);
  selfTestModel = (req: { id: string }) => this.call<ModelSummary>('selfTestModel', req);
  onIndexProgress = (l: (p: IndexProgress) => void) => this.on('indexProgress', l as (d: never) => void);
  onModelProgress = (l: (p: ModelProgress) => void) => this.on('modelProgress', l as (d: never) => void);
}
