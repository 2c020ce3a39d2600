import type { DateSource, MediaKind } from '../../../app/modality.js';
import path from 'node:path';
import type { Db } from './open.js';
import { statement } from './statements.js';

export type FileStatus = 'pending' | 'indexed' | 'failed' | 'missing';

export interface FileRow {
  id: number;
  root_id: number;
  path: string;
  size: number;
  mtime_ms: number;
  content_id: number | null;
  kind: MediaKind | null;
  status: FileStatus;
  error: string | null;
  taken_ms: number;
  taken_source: DateSource;
}

export interface SeenFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export type ScanOutcome = 'new' | 'changed' | 'unchanged';

/**
 * Records one file seen by a scan and, when it is new or changed, queues it, in the caller's
 * transaction, so a file is never queued without its row nor its row changed without its job.
 */
export function recordSeen(db: Db, rootId: number, scanId: number, f: SeenFile): ScanOutcome {
  const row = statement(db, 'SELECT id, size, mtime_ms, status FROM files WHERE path = ?').get(f.path) as
    Pick<FileRow, 'id' | 'size' | 'mtime_ms' | 'status'> | undefined;
  const now = Date.now();
  if (!row) {
    const { lastInsertRowid } = statement(
      db,
      `INSERT INTO files (root_id, path, size, mtime_ms, taken_ms, status, scan_id, updated_at)
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`,
    ).run(rootId, f.path, f.size, Math.round(f.mtimeMs), Math.round(f.mtimeMs), scanId, now);
    enqueue(db, Number(lastInsertRowid));
    return 'new';
  }
  const unchanged = row.size === f.size && row.mtime_ms === Math.round(f.mtimeMs);
  if (unchanged && (row.status === 'indexed' || row.status === 'failed')) {
    statement(db, 'UPDATE files SET scan_id = ? WHERE id = ?').run(scanId, row.id);
    return 'unchanged';
  }
  statement(
    db,
    `UPDATE files SET size = ?, mtime_ms = ?, status = 'pending', error = NULL, scan_id = ?, updated_at = ?
     WHERE id = ?`,
  ).run(f.size, Math.round(f.mtimeMs), scanId, now, row.id);
  enqueue(db, row.id);
  return 'changed';
}

export function enqueue(db: Db, fileId: number): void {
  statement(db, 'INSERT OR IGNORE INTO jobs (file_id, created_at) VALUES (?, ?)').run(fileId, Date.now());
}

/**
 * Files under paths the scan could not read (a folder or file that became unreadable) were not
 * seen, but they are not gone: they count as seen, so they keep their rows and embeddings, like the
 * files of an unplugged drive.
 */
export function keepUnreachable(db: Db, rootId: number, scanId: number, paths: readonly string[]): void {
  const touch = statement(
    db,
    `UPDATE files SET scan_id = ? WHERE root_id = ? AND (path = ? OR substr(path, 1, length(?) + 1) = ? || '/')`,
  );
  for (const p of paths) touch.run(scanId, rootId, p, p, p);
}

/**
 * Files of a scanned root that the scan did not see are gone (or moved): mark them, drop their
 * jobs. Only rows older than the scan: a watcher records files with later ids while a scan runs.
 */
export function markUnseenMissing(db: Db, rootId: number, scanId: number): number {
  statement(
    db,
    `DELETE FROM jobs WHERE file_id IN (SELECT id FROM files WHERE root_id = ? AND scan_id < ?)`,
  ).run(rootId, scanId);
  return statement(
    db,
    `UPDATE files SET status = 'missing', updated_at = ? WHERE root_id = ? AND scan_id < ? AND status != 'missing'`,
  ).run(Date.now(), rootId, scanId).changes;
}

/**
 * The file's date becomes its content's capture time when the bytes state one, else its mtime. A
 * file deleted while its job ran stays missing.
 */
/**
 * Files at `target` or under it (a deleted file or folder, as a watcher reports it) become missing
 * at once; they leave results now and the catalogue at a later garbage pass. Returns how many.
 */
export function markMissingAt(db: Db, target: string): number {
  const prefix = target.endsWith(path.sep) ? target : target + path.sep;
  // length(?) counts characters as substr does (JavaScript's length counts UTF-16 units).
  const under = `(path = ? OR substr(path, 1, length(?)) = ?)`;
  // A queued job for a deleted file would only turn it into a failure.
  statement(db, `DELETE FROM jobs WHERE file_id IN (SELECT id FROM files WHERE ${under})`).run(
    target,
    prefix,
    prefix,
  );
  return statement(
    db,
    `UPDATE files SET status = 'missing', updated_at = ? WHERE ${under} AND status != 'missing'`,
  ).run(Date.now(), target, prefix, prefix).changes;
}

export function markIndexed(db: Db, fileId: number, contentId: number, kind: MediaKind): void {
  statement(
    db,
    `UPDATE files SET content_id = c.id, kind = ?, status = 'indexed', error = NULL, updated_at = ?,
       taken_ms = COALESCE(c.taken_ms, files.mtime_ms), taken_source = COALESCE(c.taken_source, 'mtime')
     FROM (SELECT id, taken_ms, taken_source FROM contents WHERE id = ?) AS c
     WHERE files.id = ? AND files.status != 'missing'`,
  ).run(kind, Date.now(), contentId, fileId);
  statement(db, 'DELETE FROM jobs WHERE file_id = ?').run(fileId);
}

export function markFailed(db: Db, fileId: number, error: string, kind: MediaKind | null = null): void {
  statement(
    db,
    `UPDATE files SET status = 'failed', error = ?, kind = COALESCE(?, kind), content_id = NULL, updated_at = ?
     WHERE id = ?`,
  ).run(error.slice(0, 2000), kind, Date.now(), fileId);
  statement(db, 'DELETE FROM jobs WHERE file_id = ?').run(fileId);
}

/** Queues every failed file again (after the user fixed permissions, installed a codec, …). */
/** Failed files (of these roots, else all) are queued again; returns how many. */
export function requeueFailed(db: Db, roots?: readonly number[]): number {
  const ids = (
    roots
      ? statement(
          db,
          `SELECT id FROM files WHERE status = 'failed' AND root_id IN (SELECT value FROM json_each(?))`,
          'pluck',
        ).all(JSON.stringify(roots))
      : statement(db, `SELECT id FROM files WHERE status = 'failed'`, 'pluck').all()
  ) as number[];
  db.transaction(() => {
    for (const id of ids) {
      statement(db, `UPDATE files SET status = 'pending', error = NULL WHERE id = ?`).run(id);
      enqueue(db, id);
    }
  })();
  return ids.length;
}

export interface QueuedJob {
  jobId: number;
  file: FileRow;
}

/**
 * The next queued jobs after `afterJobId`, oldest first: the pipeline's only source of work. Jobs a
 * shared-catalogue worker holds under a live lease are its own (docs/architecture.md §13).
 */
export function nextJobs(db: Db, afterJobId: number, limit: number): QueuedJob[] {
  const rows = statement(
    db,
    `SELECT j.id AS jobId, f.* FROM jobs j JOIN files f ON f.id = j.file_id
       JOIN roots r ON r.id = f.root_id AND r.status = 'online'
       WHERE j.id > ? AND (j.lease_until IS NULL OR j.lease_until < ?) ORDER BY j.id LIMIT ?`,
  ).all(afterJobId, Date.now(), limit) as (FileRow & { jobId: number })[];
  return rows.map(({ jobId, ...file }) => ({ jobId, file }));
}

export function queuedCount(db: Db): number {
  return statement(db, 'SELECT COUNT(*) FROM jobs', 'pluck').get() as number;
}

/** Another path already indexed with this content that has since gone missing: this file is that one, moved. */
export function hasMissingTwin(db: Db, contentId: number, fileId: number): boolean {
  return (
    statement(db, `SELECT 1 FROM files WHERE content_id = ? AND id != ? AND status = 'missing' LIMIT 1`).get(
      contentId,
      fileId,
    ) !== undefined
  );
}

export function failures(db: Db, limit = 1000): Pick<FileRow, 'id' | 'path' | 'error' | 'kind'>[] {
  return statement(
    db,
    `SELECT id, path, error, kind FROM files WHERE status = 'failed' ORDER BY path LIMIT ?`,
  ).all(limit) as Pick<FileRow, 'id' | 'path' | 'error' | 'kind'>[];
}

/** Indexed contents that a pack has not embedded yet. */
export function unembeddedContents(db: Db, modelId: string): number {
  return statement(
    db,
    `SELECT COUNT(DISTINCT f.content_id) FROM files f WHERE f.status = 'indexed' AND f.content_id NOT IN
         (SELECT content_id FROM content_models WHERE model_id = ?)`,
    'pluck',
  ).get(modelId) as number;
}

/**
 * Queues one file per content a pack lacks (durably: a re-embedding resumes after any stop). The
 * files stay 'indexed', so the serving pack keeps finding them meanwhile.
 */
export function enqueueMissingEmbeddings(db: Db, modelId: string): number {
  return statement(
    db,
    `INSERT OR IGNORE INTO jobs (file_id, created_at)
       SELECT MIN(f.id), ? FROM files f WHERE f.status = 'indexed' AND f.content_id NOT IN
         (SELECT content_id FROM content_models WHERE model_id = ?)
       GROUP BY f.content_id`,
  ).run(Date.now(), modelId).changes;
}

export type StatusCounts = Record<FileStatus, number>;

/** Files per kind and status, in one pass (status counts). */
export function fileCountsByKindAndStatus(
  db: Db,
): { kind: MediaKind | null; status: FileStatus; n: number }[] {
  return statement(db, 'SELECT kind, status, COUNT(*) AS n FROM files GROUP BY kind, status').all() as {
    kind: MediaKind | null;
    status: FileStatus;
    n: number;
  }[];
}

/** Files of one library folder per status. */
export function rootFileCounts(db: Db, rootId: number): { status: FileStatus; n: number }[] {
  return statement(db, 'SELECT status, COUNT(*) AS n FROM files WHERE root_id = ? GROUP BY status').all(
    rootId,
  ) as { status: FileStatus; n: number }[];
}

export function rootFileTotal(db: Db, rootId: number): number {
  return statement(db, 'SELECT COUNT(*) FROM files WHERE root_id = ?', 'pluck').get(rootId) as number;
}

/** Files of a root that are not missing: what an empty scan would retire. */
export function liveFileCount(db: Db, rootId: number): number {
  return statement(db, `SELECT count(*) FROM files WHERE root_id = ? AND status != 'missing'`, 'pluck').get(
    rootId,
  ) as number;
}

export function missingCount(db: Db): number {
  return statement(db, `SELECT COUNT(*) FROM files WHERE status = 'missing'`, 'pluck').get() as number;
}

/** Distinct contents that have an indexed file (what every pack must embed). */
export function indexedContentCount(db: Db): number {
  return statement(
    db,
    `SELECT COUNT(DISTINCT content_id) FROM files WHERE status = 'indexed' AND content_id IS NOT NULL`,
    'pluck',
  ).get() as number;
}

/** One file's row with its content's duration. */
/** A file with what its content knows (duration, place) and whether its folder is reachable. */
export type FileDetail = FileRow & {
  duration_s: number | null;
  lat: number | null;
  lon: number | null;
  offline: 0 | 1;
};

export function fileDetail(db: Db, fileId: number): FileDetail | undefined {
  return statement(
    db,
    `SELECT f.*, c.duration_s, c.lat, c.lon, r.status = 'offline' AS offline
       FROM files f JOIN roots r ON r.id = f.root_id LEFT JOIN contents c ON c.id = f.content_id WHERE f.id = ?`,
  ).get(fileId) as FileDetail | undefined;
}

/** What serving a file's bytes needs: its path, its folder, its kind, its content hash (thumbnails). */
export interface MediaRow {
  path: string;
  root: string;
  kind: MediaKind | null;
  hash: string | null;
  status: FileStatus;
}

export function mediaRow(db: Db, fileId: number): MediaRow | undefined {
  return statement(
    db,
    `SELECT f.path, r.path AS root, f.kind, c.hash, f.status FROM files f JOIN roots r ON r.id = f.root_id
       LEFT JOIN contents c ON c.id = f.content_id WHERE f.id = ?`,
  ).get(fileId) as MediaRow | undefined;
}
