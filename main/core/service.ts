import type { AppApi, Failure, ModelInfo, RootInfo, Status } from '../../app/api.js';
import { AddRootRequestSchema, IndexRequestSchema, RemoveRootRequestSchema } from '../../app/api.js';
import type { IndexProgress, IndexSummary } from '../../app/indexing.js';
import { inputKindsFor, MEDIA_KINDS, type MediaKind } from '../../app/modality.js';
import { QuerySchema, type QueryInput, type SearchResponse } from '../../app/query.js';
import { collectGarbage } from './db/contents.js';
import { failures as listFailures } from './db/files.js';
import { addRoot, getRoot, listRoots, removeRoot, type RootRow } from './db/roots.js';
import type { Engine } from './engine.js';
import { indexLibrary } from './ingest/pipeline.js';
import { search } from './search/search.js';
import { TermEncoder } from './search/term-encoder.js';

type Counts = Status['files'];
const zero = (): Counts => ({ pending: 0, indexed: 0, failed: 0, missing: 0 });

/** The core's implementation of AppApi: every transport (CLI, IPC, bridge) calls this. */
export class CoreService implements AppApi {
  private readonly terms: TermEncoder;
  private readonly listeners = new Set<(p: IndexProgress) => void>();
  private running: { promise: Promise<IndexSummary>; abort: AbortController } | null = null;

  constructor(readonly engine: Engine) {
    this.terms = new TermEncoder(engine);
  }

  async status(): Promise<Status> {
    const { db } = this.engine;
    const byKind = Object.fromEntries(MEDIA_KINDS.map((k) => [k, zero()])) as Record<MediaKind, Counts>;
    const files = zero();
    const rows = db.prepare('SELECT kind, status, COUNT(*) AS n FROM files GROUP BY kind, status').all() as {
      kind: MediaKind | null;
      status: keyof Counts;
      n: number;
    }[];
    for (const r of rows) {
      files[r.status] += r.n;
      if (r.kind) byKind[r.kind][r.status] += r.n;
    }
    const stats = this.engine.index.stats();
    return {
      catalogue: db.name,
      files,
      byKind,
      segments: db.prepare('SELECT COUNT(*) FROM segments').pluck().get() as number,
      queued: db.prepare('SELECT COUNT(*) FROM jobs').pluck().get() as number,
      failures: await this.failures(),
      model: this.modelInfo(),
      vectors: { backend: stats.backend, count: stats.count, dim: stats.dim, shards: stats.shards },
      roots: await this.listRoots(),
      indexing: this.running !== null,
    };
  }

  modelInfo(): ModelInfo {
    const { pack, runtime } = this.engine;
    const m = pack.manifest;
    return {
      id: m.id,
      name: m.name,
      version: m.version,
      dir: pack.dir,
      licence: { name: m.licence.name, url: m.licence.url },
      testPack: m.testPack,
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
    const rows = this.engine.db
      .prepare('SELECT status, COUNT(*) AS n FROM files WHERE root_id = ? GROUP BY status')
      .all(r.id) as { status: keyof Counts; n: number }[];
    for (const row of rows) counts[row.status] = row.n;
    return { id: r.id, path: r.path, status: r.status, lastScanAt: r.last_scan_at, files: counts };
  }

  async addRoot(req: { path: string }): Promise<RootInfo> {
    const { path } = AddRootRequestSchema.parse(req);
    return this.rootInfo(addRoot(this.engine.db, path));
  }

  async removeRoot(req: { id: number }): Promise<{ removed: number }> {
    const { id } = RemoveRootRequestSchema.parse(req);
    const { db, index } = this.engine;
    if (!getRoot(db, id)) throw new Error(`no library folder with id ${id}`);
    const removed = db.prepare('SELECT COUNT(*) FROM files WHERE root_id = ?').pluck().get(id) as number;
    db.transaction(() => {
      removeRoot(db, id);
      const orphans = collectGarbage(db);
      if (orphans.length > 0) index.remove(orphans);
    })();
    return { removed };
  }

  async index(req: { retryFailed?: boolean; skipScan?: boolean } = {}): Promise<IndexSummary> {
    const opts = IndexRequestSchema.parse(req);
    if (this.running) return this.running.promise;
    const abort = new AbortController();
    const promise = indexLibrary(this.engine, {
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

  async search(query: QueryInput): Promise<SearchResponse> {
    return search(this.engine, this.terms, QuerySchema.parse(query));
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
}
