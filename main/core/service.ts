import type { z } from 'zod';
import { ApiError } from '../../app/errors.js';
import path from 'node:path';
import type {
  AppApi,
  AvailableModels,
  Embedding,
  Failure,
  FileInfo,
  InstallResult,
  ModelInfo,
  ModelProgress,
  ModelSummary,
  RootInfo,
  Status,
} from '../../app/api.js';
import {
  AddRootRequestSchema,
  EmbedRequestSchema,
  FileIdRequestSchema,
  IndexRequestSchema,
  RemoveRootRequestSchema,
  StatusRequestSchema,
  InstallModelRequestSchema,
  WaveformRequestSchema,
} from '../../app/api.js';
import type { IndexProgress, IndexSummary } from '../../app/indexing.js';
import { inputKindsFor, MEDIA_KINDS, type MediaKind } from '../../app/modality.js';
import { licenceLabel } from '../../app/pack.js';
import type { Query, SearchResponse } from '../../app/query.js';
import { collectGarbage, segmentCount, segmentsOfContent } from './db/contents.js';
import {
  failures as listFailures,
  fileCountsByKindAndStatus,
  fileWithDuration,
  queuedCount,
  rootFileCounts,
  rootFileTotal,
} from './db/files.js';
import { addRoot, getRoot, listRoots, removeRoot, scanProblems, type RootRow } from './db/roots.js';
import type { Engine } from './engine.js';
import { MediaError, resolveMedia, waveformPeaks } from './media/media.js';
import { ModelManager } from './model-manager.js';
import { checkLibraryFolder } from './ingest/folders.js';
import { indexLibrary } from './ingest/pipeline.js';
import { search } from './search/search.js';
import { TermEncoder } from './search/term-encoder.js';

type Counts = Status['files'];
const zero = (): Counts => ({ pending: 0, indexed: 0, failed: 0, missing: 0 });

/** A method's request as its schema's parse leaves it (defaults filled in). */
type Req<S extends z.ZodType> = z.output<S>;

/**
 * The core's implementation of AppApi. It is reached only through app/dispatch.ts (every
 * transport; in-process callers hold `viaDispatch(service)`), which has parsed each request with
 * the method's schema, so requests arrive parsed and are not parsed again here.
 */
export class CoreService implements AppApi {
  private readonly terms: TermEncoder;
  private readonly models: ModelManager;
  private readonly listeners = new Set<(p: IndexProgress) => void>();
  private readonly modelListeners = new Set<(p: ModelProgress) => void>();
  private running: { promise: Promise<IndexSummary>; abort: AbortController } | null = null;

  constructor(readonly engine: Engine) {
    this.terms = new TermEncoder(engine);
    const emit = (p: ModelProgress) => this.modelListeners.forEach((l) => l(p));
    this.models = new ModelManager(engine, this.packsDir(), emit, () => {
      if (engine.backgroundReembed) this.reembedInBackground();
    });
    if (engine.backgroundReembed) this.reembedInBackground();
  }

  /**
   * Long-running hosts (serve, the app) call this once at start, in the background: the serving
   * pack's query encoders are loaded and the text path (tokenizer, session, a first run) exercised,
   * so the user's first query does not pay for it. Failures are left for that query to report.
   */
  async warmUp(): Promise<void> {
    const { encoders } = this.engine.serving.pack;
    try {
      if (encoders.includes('text'))
        await this.terms.encode({ modality: 'text', text: 'warm up', weight: 1 });
      for (const m of ['vision', 'audio'] as const)
        if (encoders.includes(m)) await this.engine.serving.runtime.load(m);
    } catch {
      // Nothing to do here: the first query that needs the encoder says what is wrong.
    }
  }

  /** While a newly chosen pack catches up, the library is re-embedded without blocking anyone. */
  private reembedInBackground(): void {
    if (this.engine.serving === this.engine.active) return;
    this.index({ retryFailed: false, skipScan: true }).catch(() => undefined);
  }

  async status(req: Req<typeof StatusRequestSchema> = {}): Promise<Status> {
    if (req.loadEncoders) await this.engine.active.runtime.warmUp();
    const { db } = this.engine;
    const byKind = Object.fromEntries(MEDIA_KINDS.map((k) => [k, zero()])) as Record<MediaKind, Counts>;
    const files = zero();
    for (const r of fileCountsByKindAndStatus(db)) {
      files[r.status] += r.n;
      if (r.kind) byKind[r.kind][r.status] += r.n;
    }
    const stats = this.engine.serving.index.stats();
    return {
      catalogue: db.name,
      files,
      byKind,
      segments: segmentCount(db),
      queued: queuedCount(db),
      failures: await this.failures(),
      model: this.modelInfo(),
      servingModel: this.engine.serving.id,
      servingInputKinds: inputKindsFor(this.engine.serving.pack.encoders),
      vectors: { backend: stats.backend, count: stats.count, dim: stats.dim, shards: stats.shards },
      roots: await this.listRoots(),
      indexing: this.running !== null,
    };
  }

  modelInfo(): ModelInfo {
    const { pack, runtime } = this.engine.active;
    const m = pack.manifest;
    return {
      id: m.id,
      name: m.name,
      version: m.version,
      dir: pack.dir,
      licence: { name: m.licence.name, url: m.licence.url, label: licenceLabel(m.licence) },
      testPack: m.testPack,
      ...this.models.verification(m.id),
      embeddingDim: m.embeddingDim,
      encoders: pack.encoders,
      inputKinds: inputKindsFor(pack.encoders),
      providers: runtime.providerReport(),
      providerOrder: runtime.providerOrder,
      active: true,
    };
  }

  async listRoots(): Promise<RootInfo[]> {
    return listRoots(this.engine.db).map((r) => this.rootInfo(r));
  }

  private rootInfo(r: RootRow): RootInfo {
    const counts = zero();
    for (const row of rootFileCounts(this.engine.db, r.id)) counts[row.status] = row.n;
    const { total, problems, skippedTotal, skipped } = scanProblems(this.engine.db, r.id);
    return {
      id: r.id,
      path: r.path,
      status: r.status,
      lastScanAt: r.last_scan_at,
      files: counts,
      unreachable: problems,
      unreachableTotal: total,
      skipped,
      skippedTotal,
    };
  }

  async addRoot({ path }: Req<typeof AddRootRequestSchema>): Promise<RootInfo> {
    return this.rootInfo(addRoot(this.engine.db, await checkLibraryFolder(path)));
  }

  async removeRoot({ id }: Req<typeof RemoveRootRequestSchema>): Promise<{ removed: number }> {
    const { db } = this.engine;
    if (!getRoot(db, id)) throw new ApiError('not_found', `no library folder with id ${id}`);
    const removed = rootFileTotal(db, id);
    db.transaction(() => {
      removeRoot(db, id);
      this.engine.forgetSegments(collectGarbage(db));
    })();
    return { removed };
  }

  async index(opts: Req<typeof IndexRequestSchema>): Promise<IndexSummary> {
    if (this.running) return this.running.promise;
    const abort = new AbortController();
    const promise = indexLibrary(this.engine.ingestPorts(), {
      ...opts,
      signal: abort.signal,
      onProgress: (p) => this.listeners.forEach((l) => l(p)),
    })
      .then((r) => r.summary)
      .finally(() => {
        this.running = null;
      });
    this.running = { promise, abort };
    return promise;
  }

  async cancelIndex(): Promise<{ cancelled: boolean }> {
    if (!this.running) return { cancelled: false };
    this.running.abort.abort();
    await this.running.promise.catch(() => undefined);
    return { cancelled: true };
  }

  async search(query: Query): Promise<SearchResponse> {
    return search(this.engine, this.terms, query);
  }

  async failures(): Promise<Failure[]> {
    return listFailures(this.engine.db).map((f) => ({
      fileId: f.id,
      path: f.path,
      error: f.error ?? 'unknown error',
    }));
  }

  onIndexProgress(listener: (p: IndexProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async fileInfo({ fileId }: Req<typeof FileIdRequestSchema>): Promise<FileInfo> {
    const { db } = this.engine;
    const f = fileWithDuration(db, fileId);
    if (!f) throw new ApiError('not_found', `no file with id ${fileId}`);
    const segments = f.content_id ? segmentsOfContent(db, f.content_id) : [];
    return {
      fileId: f.id,
      path: f.path,
      kind: f.kind,
      status: f.status,
      error: f.error,
      size: f.size,
      mtimeMs: f.mtime_ms,
      durationS: f.duration_s,
      rootId: f.root_id,
      segments,
    };
  }

  async waveform({ fileId, points }: Req<typeof WaveformRequestSchema>): Promise<{ peaks: number[] }> {
    const media = await resolveMedia(this.engine.db, fileId, 'original');
    if (!media.mime.startsWith('audio/') && !media.mime.startsWith('video/')) {
      throw new MediaError(415, 'only audio and video files have a waveform');
    }
    return { peaks: await waveformPeaks(media.path, points) };
  }

  listModels(): Promise<ModelSummary[]> {
    return this.models.list();
  }

  useModel(req: { id: string }): Promise<ModelSummary[]> {
    return this.models.use(req.id);
  }

  /**
   * Installs a catalogue pack, a pack, or a checkpoint (converted) into the catalogue's packs
   * folder, verified and atomically; runs its self-test unless told not to, and makes it active
   * when that passed.
   */
  installModel(req: Req<typeof InstallModelRequestSchema>): Promise<InstallResult> {
    return this.models.install(req);
  }

  availableModels(): Promise<AvailableModels> {
    return this.models.available();
  }

  cancelModelInstall(): Promise<{ cancelled: boolean }> {
    return this.models.cancel();
  }

  setModelMirror(req: { url: string | null }): Promise<AvailableModels> {
    return this.models.setMirror(req);
  }

  selfTestModel(req: { id: string }): Promise<ModelSummary> {
    return this.models.selfTest(req);
  }

  /** The vector the active pack gives one input (the index's vector: file-level for audio and video). */
  async embed(term: Req<typeof EmbedRequestSchema>): Promise<Embedding> {
    const handle = this.engine.active;
    const vector = await this.terms.encode({ ...term, weight: 1 }, handle);
    return { modality: term.modality, pack: handle.id, dim: vector.length, vector: Array.from(vector) };
  }

  removeModel(req: { id: string }): Promise<ModelSummary[]> {
    return this.models.remove(req);
  }

  onModelProgress(listener: (p: ModelProgress) => void): () => void {
    this.modelListeners.add(listener);
    return () => this.modelListeners.delete(listener);
  }

  /** Packs live beside the catalogue they were installed for. */
  packsDir(): string {
    return path.join(path.dirname(path.resolve(this.engine.db.name)), 'packs');
  }
}
