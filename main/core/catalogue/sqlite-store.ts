import path from 'node:path';
import type { MediaKind } from '../../../app/modality.js';
import type { Filters } from '../../../app/query.js';
import type { PackManifest } from '../../../app/pack.js';
import { dot } from '../../../app/vector-math.js';
import {
  blobToVector,
  contentByHash,
  embeddingCount,
  isEmbedded,
  markEmbedded,
  putEmbedding,
  upsertContent,
  upsertSegment,
} from './contents.js';
import {
  keepUnreachable,
  markFailed,
  markIndexed,
  markUnseenMissing,
  recordSeen,
  requeueFailed,
  type FileStatus,
} from './files.js';
import { openCatalogue, schemaVersion, type Db } from './open.js';
import { modelManifest, registerModel } from './packs.js';
import { addRoot, getRoot } from './roots.js';
import { segmentIdsMatching } from './search-reads.js';
import { statement } from './statements.js';
import {
  MAX_ATTEMPTS,
  dimensionMismatch,
  EXHAUSTED_REASON,
  type CatalogueStore,
  type JobOutcome,
  type LeasedJob,
  type RootMount,
  type ScanCounts,
  type SeenEntry,
  type StoreCounts,
  type StoreHit,
  type StoreRoot,
  type WorkerRef,
} from './store.js';

/**
 * The shared-catalogue contract over the embedded SQLite file (docs/architecture.md §13): workers
 * on one machine (processes sharing a file in WAL mode), or a catalogue on a removable disk. It
 * reuses the catalogue's own functions, so a root added here is an ordinary library folder to the
 * app, and the app's vector index picks up what workers embedded (it is rebuilt when it disagrees).
 * Leases are kept in the jobs table. Every write transaction begins IMMEDIATE: another process may
 * write between a deferred transaction's read and its write, and SQLite then fails it at once
 * (SQLITE_BUSY_SNAPSHOT) instead of waiting.
 */
export class SqliteStore implements CatalogueStore {
  readonly kind = 'sqlite';
  readonly label: string;
  readonly #db: Db;
  #lastScan = 0;

  constructor(file: string) {
    this.#db = openCatalogue(file);
    this.label = file;
  }

  async schemaVersion(): Promise<number> {
    return schemaVersion(this.#db);
  }

  /** A SQLite root is a folder of this machine, an ordinary library folder to the app. */
  async addRoot(name: string, mount: { machine: string; folder: string }): Promise<StoreRoot> {
    const row = addRoot(this.#db, mount.folder, name);
    await this.setMount(row.id, mount.machine, row.path);
    return this.#root(row.id)!;
  }

  async listRoots(): Promise<StoreRoot[]> {
    return statement(this.#db, 'SELECT id, key, name FROM roots ORDER BY id').all() as StoreRoot[];
  }

  async setMount(rootId: number, machine: string, folder: string): Promise<void> {
    statement(
      this.#db,
      `INSERT INTO root_mounts (root_id, machine, folder) VALUES (?, ?, ?)
       ON CONFLICT (root_id, machine) DO UPDATE SET folder = excluded.folder`,
    ).run(rootId, machine, folder);
  }

  async unmount(rootId: number, machine: string): Promise<void> {
    statement(this.#db, 'DELETE FROM root_mounts WHERE root_id = ? AND machine = ?').run(rootId, machine);
  }

  async mounts(machine: string): Promise<RootMount[]> {
    return statement(
      this.#db,
      'SELECT root_id AS rootId, folder FROM root_mounts WHERE machine = ? ORDER BY root_id',
    ).all(machine) as RootMount[];
  }

  async ensurePack(pack: { dir: string; manifest: PackManifest }): Promise<void> {
    registerModel(this.#db, pack.dir, pack.manifest);
  }

  async listPacks(): Promise<{ id: string; dim: number }[]> {
    return statement(
      this.#db,
      `SELECT m.id, m.dim FROM models m LEFT JOIN content_models c ON c.model_id = m.id
        GROUP BY m.id ORDER BY count(c.content_id) DESC, m.installed_at DESC, m.id`,
    ).all() as {
      id: string;
      dim: number;
    }[];
  }

  async recordScan(rootId: number, scanId: number, seen: readonly SeenEntry[]): Promise<ScanCounts> {
    const root = this.#rootPath(rootId);
    const counts: ScanCounts = { new: 0, changed: 0, unchanged: 0 };
    this.#db
      .transaction(() => {
        for (const f of seen)
          counts[recordSeen(this.#db, rootId, scanId, { ...f, path: path.join(root, f.rel) })]++;
      })
      .immediate();
    return counts;
  }

  /** One machine's catalogue: its clock, as its own scans and watcher use (ingest/pipeline.ts), never twice. */
  async beginScan(): Promise<number> {
    this.#lastScan = Math.max(Date.now(), this.#lastScan + 1);
    return this.#lastScan;
  }

  async finishScan(rootId: number, scanId: number, unreachable: readonly string[] = []): Promise<number> {
    const root = this.#rootPath(rootId);
    const paths = unreachable.map((rel) => path.join(root, rel));
    return this.#db
      .transaction(() => {
        keepUnreachable(this.#db, rootId, scanId, paths);
        return markUnseenMissing(this.#db, rootId, scanId);
      })
      .immediate();
  }

  async lease(
    worker: WorkerRef,
    roots: readonly number[],
    limit: number,
    leaseMs: number,
  ): Promise<LeasedJob[]> {
    const db = this.#db;
    const take = db.transaction((now: number) => {
      this.#failExhausted(now);
      const rows = statement(
        db,
        `SELECT j.id AS jobId, f.id AS fileId, f.root_id AS rootId, f.path, r.path AS root, f.size,
                f.mtime_ms AS mtimeMs, j.attempts
           FROM jobs j JOIN files f ON f.id = j.file_id JOIN roots r ON r.id = f.root_id
          WHERE (j.lease_until IS NULL OR j.lease_until < ?)
            AND f.root_id IN (SELECT value FROM json_each(?))
          ORDER BY j.id LIMIT ?`,
      ).all(now, JSON.stringify(roots), limit) as (Omit<LeasedJob, 'rel'> & { path: string; root: string })[];
      const claim = statement(
        db,
        'UPDATE jobs SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?',
      );
      return rows.map(({ path: abs, root, ...job }) => {
        claim.run(worker.id, now + leaseMs, job.jobId);
        return { ...job, rel: path.relative(root, abs), attempts: job.attempts + 1 };
      });
    });
    return take.immediate(Date.now());
  }

  /** Jobs leased MAX_ATTEMPTS times whose last lease expired: the input kills workers; fail it. */
  #failExhausted(now: number): void {
    const ids = statement(
      this.#db,
      'SELECT file_id FROM jobs WHERE attempts >= ? AND lease_until < ?',
      'pluck',
    ).all(MAX_ATTEMPTS, now) as number[];
    for (const id of ids) markFailed(this.#db, id, EXHAUSTED_REASON);
  }

  async heartbeat(worker: string, leaseMs: number): Promise<number> {
    const now = Date.now();
    return statement(
      this.#db,
      'UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND lease_until >= ?',
    ).run(now + leaseMs, worker, now).changes;
  }

  async embeddedContent(hash: string, packId: string): Promise<{ id: number; kind: MediaKind } | undefined> {
    const known = contentByHash(this.#db, hash);
    return known && isEmbedded(this.#db, known.id, packId) ? known : undefined;
  }

  async complete(worker: string, packId: string, job: LeasedJob, outcome: JobOutcome): Promise<boolean> {
    const db = this.#db;
    const write = db.transaction(() => {
      const held = statement(
        db,
        'SELECT 1 FROM jobs WHERE id = ? AND lease_owner = ? AND lease_until >= ?',
      ).get(job.jobId, worker, Date.now());
      if (!held) return false;
      this.#writeOutcome(packId, job.fileId, outcome);
      return true;
    });
    return write.immediate();
  }

  #writeOutcome(packId: string, fileId: number, outcome: JobOutcome): void {
    const db = this.#db;
    if (outcome.type === 'failed') return markFailed(db, fileId, outcome.error, outcome.kind);
    if (outcome.type === 'reuse') {
      const known = contentByHash(db, outcome.hash);
      if (!known)
        return markFailed(db, fileId, 'its content left the catalogue while it was read; index again');
      return markIndexed(db, fileId, known.id, known.kind);
    }
    const contentId = upsertContent(db, outcome.content);
    if (!isEmbedded(db, contentId, packId)) {
      for (const s of outcome.segments)
        putEmbedding(db, upsertSegment(db, contentId, s.segment), packId, s.vector);
      markEmbedded(db, contentId, packId);
    }
    markIndexed(db, fileId, contentId, outcome.content.kind);
  }

  async requeueFailed(roots: readonly number[]): Promise<number> {
    return requeueFailed(this.#db, roots);
  }

  async counts(): Promise<StoreCounts> {
    const out: StoreCounts = { pending: 0, indexed: 0, failed: 0, missing: 0, queued: 0, leased: 0 };
    const rows = statement(this.#db, 'SELECT status, COUNT(*) AS n FROM files GROUP BY status').all() as {
      status: FileStatus;
      n: number;
    }[];
    for (const r of rows) out[r.status] = r.n;
    const jobs = statement(
      this.#db,
      'SELECT COUNT(*) AS queued, COUNT(CASE WHEN lease_until >= ? THEN 1 END) AS leased FROM jobs',
    ).get(Date.now()) as { queued: number; leased: number };
    return { ...out, ...jobs };
  }

  async queuedFor(roots: readonly number[]): Promise<number> {
    return statement(
      this.#db,
      `SELECT COUNT(*) FROM jobs j JOIN files f ON f.id = j.file_id
        WHERE f.root_id IN (SELECT value FROM json_each(?))`,
      'pluck',
    ).get(JSON.stringify(roots)) as number;
  }

  async embeddingCount(packId: string): Promise<number> {
    return embeddingCount(this.#db, packId);
  }

  async failures(limit = 1000): Promise<{ rootId: number; rel: string; error: string }[]> {
    const rows = statement(
      this.#db,
      `SELECT f.root_id AS rootId, f.path, r.path AS root, f.error FROM files f JOIN roots r ON r.id = f.root_id
        WHERE f.status = 'failed' ORDER BY f.path LIMIT ?`,
    ).all(limit) as { rootId: number; path: string; root: string; error: string | null }[];
    return rows.map((f) => ({ rootId: f.rootId, rel: path.relative(f.root, f.path), error: f.error ?? '' }));
  }

  /**
   * Exact cosine over the filtered segments: the contract's reference answer. The app searches
   * SQLite through its vector index instead (vectors/, docs/architecture.md §3).
   */
  async search(packId: string, query: Float32Array, k: number, filters: Filters = {}): Promise<StoreHit[]> {
    const dim = modelManifest(this.#db, packId)?.embeddingDim;
    if (dim === undefined) throw new Error(`pack ${packId} has no vectors in this catalogue`);
    if (query.length !== dim) throw dimensionMismatch(query.length, packId, dim);
    const allowed = segmentIdsMatching(this.#db, this.#absoluteFilters(filters));
    const read = statement(
      this.#db,
      'SELECT vector FROM embeddings WHERE segment_id = ? AND model_id = ?',
      'pluck',
    );
    const scored: { id: number; score: number }[] = [];
    for (const id of allowed) {
      const blob = read.get(id, packId) as Buffer | undefined;
      if (blob) scored.push({ id, score: dot(query, blobToVector(blob)) });
    }
    scored.sort((a, b) => b.score - a.score || a.id - b.id);
    return scored.slice(0, k).map((h) => this.#hit(h.id, h.score, filters));
  }

  /** The contract's pathPrefix is relative to its root; SQLite files store absolute paths. */
  #absoluteFilters(filters: Filters): Filters {
    if (!filters.pathPrefix) return filters;
    if (filters.roots?.length !== 1) throw new Error('a path prefix needs exactly one root');
    return { ...filters, pathPrefix: path.join(this.#rootPath(filters.roots[0]), filters.pathPrefix) };
  }

  #hit(segmentId: number, score: number, filters: Filters): StoreHit {
    const row = statement(
      this.#db,
      `SELECT f.id AS fileId, f.root_id AS rootId, f.path, r.path AS root, s.t_start AS tStart,
              s.t_end AS tEnd, s.level
         FROM segments s JOIN files f ON f.content_id = s.content_id JOIN roots r ON r.id = f.root_id
        WHERE s.id = ? AND f.status = 'indexed' AND (? IS NULL OR f.root_id IN (SELECT value FROM json_each(?)))
        ORDER BY f.id LIMIT 1`,
    ).get(segmentId, filters.roots ? 1 : null, JSON.stringify(filters.roots ?? [])) as Omit<
      StoreHit,
      'segmentId' | 'score' | 'rel'
    > & { path: string; root: string };
    const { path: abs, root, ...rest } = row;
    return { segmentId, score, ...rest, rel: path.relative(root, abs) };
  }

  #root(id: number): StoreRoot | undefined {
    return statement(this.#db, 'SELECT id, key, name FROM roots WHERE id = ?').get(id) as
      StoreRoot | undefined;
  }

  #rootPath(id: number): string {
    const root = getRoot(this.#db, id);
    if (!root) throw new Error(`no root ${id} in the catalogue`);
    return root.path;
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
