import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { MediaKind } from '../../../../app/modality.js';
import type { Filters } from '../../../../app/query.js';
import type { PackManifest } from '../../../../app/pack.js';
import {
  MAX_ATTEMPTS,
  dimensionMismatch,
  EXHAUSTED_REASON,
  type CatalogueStore,
  type JobOutcome,
  type RemoteContents,
  type RemoteFiles,
  type ReplicaSource,
  type LeasedJob,
  type RootMount,
  type ScanCounts,
  type SeenEntry,
  type StoreCounts,
  type StoreHit,
  type StoreRoot,
  type WorkerRef,
} from '../store.js';
import { inTransaction, openPool, redact } from './connect.js';
import { changedFiles, remoteContents } from './changes.js';
import { pgFileFilter } from './filters.js';
import { pgMigrate, pgSchemaVersion } from './migrations.js';
import { createPackTable, insertVectors, nearestSegments, packSize, packTable } from './vectors.js';

/**
 * The shared-catalogue contract on PostgreSQL + pgvector (docs/architecture.md §13): one server,
 * any number of workers. Jobs are leased with FOR UPDATE SKIP LOCKED by the server's clock, a
 * completion is accepted only from the lease's holder, and a content is embedded once per pack
 * whichever worker gets there first (content_packs' key decides).
 */
export class PgStore implements CatalogueStore, ReplicaSource {
  readonly kind = 'postgres';
  readonly label: string;
  readonly #pool: pg.Pool;
  #iterative = false;
  readonly #dims = new Map<string, number>();
  readonly #sizes = new Map<string, { n: number; at: number }>();

  private constructor(url: string, onIdleError: (e: Error) => void) {
    this.label = redact(url);
    this.#pool = openPool(url, onIdleError);
  }

  /** Connects, migrates and checks pgvector (≥ 0.7 for halfvec). */
  static async open(url: string, onIdleError: (e: Error) => void = () => undefined): Promise<PgStore> {
    const store = new PgStore(url, onIdleError);
    try {
      await pgMigrate(store.#pool);
      await store.#checkPgvector();
      return store;
    } catch (e) {
      await store.#pool.end().catch(() => undefined);
      throw e;
    }
  }

  async #checkPgvector(): Promise<void> {
    const { rows } = await this.#pool.query<{ v: string }>(
      `SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`,
    );
    const [major, minor] = (rows[0]?.v ?? '0.0').split('.').map(Number);
    if (major === 0 && minor < 7)
      throw new Error(
        `the server's pgvector is ${rows[0]?.v ?? 'missing'}; Bindery needs 0.7 or later (halfvec)`,
      );
    this.#iterative = major > 0 || minor >= 8;
  }

  async schemaVersion(): Promise<number> {
    return pgSchemaVersion(this.#pool);
  }

  async addRoot(name: string, mount: { machine: string; folder: string }): Promise<StoreRoot> {
    const { rows } = await this.#pool.query<StoreRoot>(
      `INSERT INTO roots (key, name) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id, key, name`,
      [randomUUID(), name],
    );
    await this.setMount(rows[0].id, mount.machine, mount.folder);
    return rows[0];
  }

  async listRoots(): Promise<StoreRoot[]> {
    return (await this.#pool.query<StoreRoot>('SELECT id, key, name FROM roots ORDER BY id')).rows;
  }

  async setMount(rootId: number, machine: string, folder: string): Promise<void> {
    await this.#pool.query(
      `INSERT INTO root_mounts (root_id, machine, folder) VALUES ($1, $2, $3)
       ON CONFLICT (root_id, machine) DO UPDATE SET folder = excluded.folder`,
      [rootId, machine, folder],
    );
  }

  async unmount(rootId: number, machine: string): Promise<void> {
    await this.#pool.query('DELETE FROM root_mounts WHERE root_id = $1 AND machine = $2', [rootId, machine]);
  }

  async mounts(machine: string): Promise<RootMount[]> {
    return (
      await this.#pool.query<RootMount>(
        'SELECT root_id AS "rootId", folder FROM root_mounts WHERE machine = $1 ORDER BY root_id',
        [machine],
      )
    ).rows;
  }

  async ensurePack(pack: { dir: string; manifest: PackManifest }): Promise<void> {
    const { id, embeddingDim } = pack.manifest;
    await inTransaction(this.#pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [id]);
      const { rows } = await c.query<{ dim: number }>(
        `INSERT INTO packs (id, dim, manifest) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET manifest = excluded.manifest RETURNING dim`,
        [id, embeddingDim, pack.manifest],
      );
      if (rows[0].dim !== embeddingDim)
        throw new Error(`pack ${id} is registered with ${rows[0].dim} dimensions, not ${embeddingDim}`);
      await createPackTable(c, id, embeddingDim);
    });
    this.#dims.set(id, embeddingDim);
  }

  async listPacks(): Promise<{ id: string; dim: number }[]> {
    const { rows } = await this.#pool.query<{ id: string; dim: number }>(
      `SELECT p.id, p.dim FROM packs p LEFT JOIN content_packs c ON c.pack_id = p.id
        GROUP BY p.id ORDER BY count(c.content_id) DESC, p.installed_at DESC, p.id`,
    );
    return rows;
  }

  async recordScan(rootId: number, scanId: number, seen: readonly SeenEntry[]): Promise<ScanCounts> {
    if (seen.length === 0) return { new: 0, changed: 0, unchanged: 0 };
    return inTransaction(this.#pool, async (c) => {
      // A row is unchanged when size and mtime agree and it was settled (indexed or failed).
      const same = `f.size = excluded.size AND f.mtime_ms = excluded.mtime_ms AND f.status IN ('indexed', 'failed')`;
      const { rows } = await c.query<{ id: number; inserted: boolean; status: string }>(
        `INSERT INTO files AS f (root_id, rel, size, mtime_ms, taken_ms, status, scan_id)
           SELECT $1, t.rel, t.size, t.mtime, t.mtime, 'pending', $2
             FROM unnest($3::text[], $4::bigint[], $5::bigint[]) AS t(rel, size, mtime)
         ON CONFLICT (root_id, rel) DO UPDATE SET
           -- Two machines scanning one root at once: the later scan's mark stays.
           scan_id = GREATEST(f.scan_id, excluded.scan_id),
           status = CASE WHEN ${same} THEN f.status ELSE 'pending' END,
           error = CASE WHEN ${same} THEN f.error ELSE NULL END,
           updated_at = CASE WHEN ${same} THEN f.updated_at ELSE now() END,
           size = excluded.size, mtime_ms = excluded.mtime_ms
         RETURNING id, (xmax = 0) AS inserted, status`,
        [
          rootId,
          scanId,
          seen.map((s) => s.rel),
          seen.map((s) => s.size),
          seen.map((s) => Math.round(s.mtimeMs)),
        ],
      );
      const queue = rows.filter((r) => r.status === 'pending').map((r) => r.id);
      await c.query(
        'INSERT INTO jobs (file_id) SELECT unnest($1::bigint[]) ON CONFLICT (file_id) DO NOTHING',
        [queue],
      );
      const added = rows.filter((r) => r.inserted).length;
      return { new: added, changed: queue.length - added, unchanged: rows.length - queue.length };
    });
  }

  async beginScan(): Promise<number> {
    const { rows } = await this.#pool.query<{ id: string }>(`SELECT nextval('scan_ids') AS id`);
    return Number(rows[0].id);
  }

  async finishScan(rootId: number, scanId: number, unreachable: readonly string[] = []): Promise<number> {
    return inTransaction(this.#pool, async (c) => {
      // Out of reach, not gone: the rows under an unreadable folder ('' the root) take this scan's mark.
      await c.query(
        `UPDATE files SET scan_id = GREATEST(scan_id, $2)
          WHERE root_id = $1 AND scan_id < $2
            AND EXISTS (SELECT 1 FROM unnest($3::text[]) p WHERE p = '' OR rel = p OR left(rel, length(p) + 1) = p || '/')`,
        [rootId, scanId, unreachable],
      );
      await c.query(
        'DELETE FROM jobs WHERE file_id IN (SELECT id FROM files WHERE root_id = $1 AND scan_id < $2)',
        [rootId, scanId],
      );
      const { rowCount } = await c.query(
        `UPDATE files SET status = 'missing', updated_at = now()
          WHERE root_id = $1 AND scan_id < $2 AND status != 'missing'`,
        [rootId, scanId],
      );
      return rowCount ?? 0;
    });
  }

  async lease(
    worker: WorkerRef,
    roots: readonly number[],
    limit: number,
    leaseMs: number,
  ): Promise<LeasedJob[]> {
    return inTransaction(this.#pool, async (c) => {
      await c.query(
        `WITH dead AS (DELETE FROM jobs WHERE attempts >= $1 AND lease_until < now() RETURNING file_id)
         UPDATE files SET status = 'failed', error = $2, content_id = NULL, updated_at = now()
          WHERE id IN (SELECT file_id FROM dead)`,
        [MAX_ATTEMPTS, EXHAUSTED_REASON],
      );
      const { rows } = await c.query<LeasedJob>(
        `WITH picked AS (
           SELECT j.id FROM jobs j JOIN files f ON f.id = j.file_id
            WHERE (j.lease_until IS NULL OR j.lease_until < now())
              AND f.root_id = ANY($2::bigint[])
            ORDER BY j.id LIMIT $3 FOR UPDATE OF j SKIP LOCKED)
         UPDATE jobs j SET lease_owner = $1, lease_until = now() + $4 * interval '1 millisecond',
                attempts = j.attempts + 1
           FROM picked, files f WHERE j.id = picked.id AND f.id = j.file_id
         RETURNING j.id AS "jobId", f.id AS "fileId", f.root_id AS "rootId", f.rel, f.size,
                   f.mtime_ms AS "mtimeMs", j.attempts`,
        [worker.id, roots, limit, leaseMs],
      );
      return rows.sort((a, b) => a.jobId - b.jobId);
    });
  }

  async heartbeat(worker: string, leaseMs: number): Promise<number> {
    const { rowCount } = await this.#pool.query(
      `UPDATE jobs SET lease_until = now() + $2 * interval '1 millisecond'
        WHERE lease_owner = $1 AND lease_until >= now()`,
      [worker, leaseMs],
    );
    return rowCount ?? 0;
  }

  async embeddedContent(hash: string, packId: string): Promise<{ id: number; kind: MediaKind } | undefined> {
    const { rows } = await this.#pool.query<{ id: number; kind: MediaKind }>(
      `SELECT c.id, c.kind FROM content_packs cp JOIN contents c ON c.id = cp.content_id
        WHERE c.hash = $1 AND cp.pack_id = $2`,
      [hash, packId],
    );
    return rows[0];
  }

  async complete(worker: string, packId: string, job: LeasedJob, outcome: JobOutcome): Promise<boolean> {
    return inTransaction(this.#pool, async (c) => {
      const { rowCount } = await c.query(
        'DELETE FROM jobs WHERE id = $1 AND lease_owner = $2 AND lease_until >= now()',
        [job.jobId, worker],
      );
      if (!rowCount) return false;
      await this.#writeOutcome(c, packId, job.fileId, outcome);
      return true;
    });
  }

  async #writeOutcome(c: pg.PoolClient, packId: string, fileId: number, outcome: JobOutcome): Promise<void> {
    if (outcome.type === 'failed') {
      await c.query(
        `UPDATE files SET status = 'failed', error = $2, kind = COALESCE($3, kind), content_id = NULL,
                updated_at = now() WHERE id = $1`,
        [fileId, outcome.error.slice(0, 2000), outcome.kind],
      );
      return;
    }
    const contentId =
      outcome.type === 'reuse' ? await contentIdOf(c, outcome.hash) : await this.#embed(c, packId, outcome);
    if (contentId === undefined) {
      await c.query(`UPDATE files SET status = 'failed', error = $2, updated_at = now() WHERE id = $1`, [
        fileId,
        'its content left the catalogue while it was read; index again',
      ]);
      return;
    }
    await c.query(
      `UPDATE files f SET content_id = c.id, kind = c.kind, status = 'indexed', error = NULL, updated_at = now(),
              taken_ms = COALESCE(c.taken_ms, f.mtime_ms), taken_source = COALESCE(c.taken_source, 'mtime')
         FROM contents c WHERE c.id = $2 AND f.id = $1 AND f.status != 'missing'`,
      [fileId, contentId],
    );
  }

  /** Stores a content and, unless another worker already did, its segments and vectors. */
  async #embed(
    c: pg.PoolClient,
    packId: string,
    outcome: Extract<JobOutcome, { type: 'new' }>,
  ): Promise<number> {
    const { hash, size, kind, durationS, capture: cap } = outcome.content;
    const { rows } = await c.query<{ id: number }>(
      `INSERT INTO contents AS c (hash, size, kind, duration_s, taken_ms, taken_source, lat, lon)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (hash) DO UPDATE SET duration_s = COALESCE(excluded.duration_s, c.duration_s),
         taken_ms = COALESCE(excluded.taken_ms, c.taken_ms), taken_source = COALESCE(excluded.taken_source, c.taken_source),
         lat = COALESCE(excluded.lat, c.lat), lon = COALESCE(excluded.lon, c.lon)
       RETURNING id`,
      [hash, size, kind, durationS, cap.takenMs, cap.source, cap.lat, cap.lon],
    );
    const contentId = rows[0].id;
    const first = await c.query(
      'INSERT INTO content_packs (content_id, pack_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [contentId, packId],
    );
    if (!first.rowCount) return contentId;
    const segs = outcome.segments;
    const key = (m: string, l: string, a: number, b: number, crop: string) =>
      `${m}\0${l}\0${a}\0${b}\0${crop}`;
    const ids = await c.query<{
      id: number;
      modality: string;
      level: string;
      t_start: number;
      t_end: number;
      crop: string;
    }>(
      `INSERT INTO segments AS s (content_id, modality, level, t_start, t_end, crop)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[])
       ON CONFLICT (content_id, modality, level, t_start, t_end, crop) DO UPDATE SET crop = excluded.crop
       RETURNING id, modality, level, t_start, t_end, crop`,
      [
        contentId,
        segs.map((s) => s.segment.modality),
        segs.map((s) => s.segment.level),
        segs.map((s) => s.segment.tStart),
        segs.map((s) => s.segment.tEnd),
        segs.map((s) => s.segment.crop ?? ''),
      ],
    );
    const idOf = new Map(ids.rows.map((r) => [key(r.modality, r.level, r.t_start, r.t_end, r.crop), r.id]));
    await insertVectors(
      c,
      packId,
      segs.map(({ segment: g, vector }) => ({
        segmentId: idOf.get(key(g.modality, g.level, g.tStart, g.tEnd, g.crop ?? ''))!,
        vector,
      })),
    );
    return contentId;
  }

  async requeueFailed(roots: readonly number[]): Promise<number> {
    return inTransaction(this.#pool, async (c) => {
      const { rows } = await c.query<{ id: number }>(
        `UPDATE files SET status = 'pending', error = NULL, updated_at = now()
          WHERE status = 'failed' AND root_id = ANY($1::bigint[]) RETURNING id`,
        [roots],
      );
      await c.query(
        'INSERT INTO jobs (file_id) SELECT unnest($1::bigint[]) ON CONFLICT (file_id) DO UPDATE SET attempts = 0',
        [rows.map((r) => r.id)],
      );
      return rows.length;
    });
  }

  async counts(): Promise<StoreCounts> {
    const out: StoreCounts = { pending: 0, indexed: 0, failed: 0, missing: 0, queued: 0, leased: 0 };
    const files = await this.#pool.query<{ status: keyof StoreCounts; n: number }>(
      'SELECT status, COUNT(*)::int AS n FROM files GROUP BY status',
    );
    for (const r of files.rows) out[r.status] = r.n;
    const { rows } = await this.#pool.query<{ queued: number; leased: number }>(
      `SELECT COUNT(*)::int AS queued, COUNT(*) FILTER (WHERE lease_until >= now())::int AS leased FROM jobs`,
    );
    return { ...out, ...rows[0] };
  }

  async queuedFor(roots: readonly number[]): Promise<number> {
    const { rows } = await this.#pool.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM jobs j JOIN files f ON f.id = j.file_id WHERE f.root_id = ANY($1::bigint[])`,
      [roots],
    );
    return rows[0].n;
  }

  async embeddingCount(packId: string): Promise<number> {
    await this.#dim(packId);
    const { rows } = await this.#pool.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM ${packTable(packId)}`,
    );
    return rows[0].n;
  }

  async failures(limit = 1000): Promise<{ rootId: number; rel: string; error: string }[]> {
    return (
      await this.#pool.query<{ rootId: number; rel: string; error: string }>(
        `SELECT root_id AS "rootId", rel, error FROM files WHERE status = 'failed' ORDER BY rel LIMIT $1`,
        [limit],
      )
    ).rows;
  }

  async search(packId: string, query: Float32Array, k: number, filters: Filters = {}): Promise<StoreHit[]> {
    const dim = await this.#dim(packId);
    if (query.length !== dim) throw dimensionMismatch(query.length, packId, dim);
    if (k === 0) return [];
    return inTransaction(this.#pool, async (c) => {
      const params: unknown[] = [];
      const where = pgFileFilter(filters, params);
      const allowedSql = `SELECT s.id FROM segments s JOIN files f ON f.content_id = s.content_id WHERE ${where}`;
      const ranked = await nearestSegments(c, {
        packId,
        dim,
        query,
        k,
        allowedSql,
        params,
        iterative: this.#iterative,
        size: await this.#size(c, packId),
      });
      if (ranked.length === 0) return [];
      const fileParams: unknown[] = [ranked.map((r) => r.segmentId)];
      const fileWhere = pgFileFilter(filters, fileParams);
      const { rows } = await c.query<Omit<StoreHit, 'score'>>(
        `SELECT s.id AS "segmentId", s.t_start AS "tStart", s.t_end AS "tEnd", s.level, f.id AS "fileId",
                f.root_id AS "rootId", f.rel
           FROM segments s CROSS JOIN LATERAL (
             SELECT f.id, f.root_id, f.rel FROM files f WHERE f.content_id = s.content_id AND ${fileWhere}
              ORDER BY f.id LIMIT 1) f
          WHERE s.id = ANY($1::bigint[])`,
        fileParams,
      );
      const bySegment = new Map(rows.map((r) => [r.segmentId, r]));
      return ranked.map((r) => ({ ...bySegment.get(r.segmentId)!, score: r.score }));
    });
  }

  async changedFiles(rootId: number, since: string, afterId: number, limit: number): Promise<RemoteFiles> {
    return changedFiles(this.#pool, rootId, since, afterId, limit);
  }

  async contents(packId: string, contentIds: readonly number[]): Promise<RemoteContents> {
    const known = (await this.#knownDim(packId)) !== undefined;
    return remoteContents(this.#pool, packId, known, contentIds);
  }

  /** A pack's size for the search beam, read again once a minute (it only needs to be about right). */
  async #size(c: pg.PoolClient, packId: string): Promise<number> {
    const known = this.#sizes.get(packId);
    if (known && Date.now() - known.at < 60_000) return known.n;
    const n = await packSize(c, packId);
    this.#sizes.set(packId, { n, at: Date.now() });
    return n;
  }

  async #dim(packId: string): Promise<number> {
    const dim = await this.#knownDim(packId);
    if (dim === undefined) throw new Error(`pack ${packId} has no vectors in this catalogue`);
    return dim;
  }

  /** The pack's dimension, or undefined when no worker has registered it here. */
  async #knownDim(packId: string): Promise<number | undefined> {
    const known = this.#dims.get(packId);
    if (known) return known;
    const { rows } = await this.#pool.query<{ dim: number }>('SELECT dim FROM packs WHERE id = $1', [packId]);
    if (rows[0]) this.#dims.set(packId, rows[0].dim);
    return rows[0]?.dim;
  }

  /** The pool itself, for benchmarks and tests that build tables the way the store does. */
  get pool(): pg.Pool {
    return this.#pool;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

async function contentIdOf(c: pg.PoolClient, hash: string): Promise<number | undefined> {
  const { rows } = await c.query<{ id: number }>('SELECT id FROM contents WHERE hash = $1', [hash]);
  return rows[0]?.id;
}
