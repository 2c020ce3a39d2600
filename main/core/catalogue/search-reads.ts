import type { DateSource, MediaKind } from '../../../app/modality.js';
import type { FileFacts, Filters } from '../../../app/query.js';
import type { Db } from './open.js';
import { statement } from './statements.js';

/**
 * What search reads from the catalogue around the vector index: which segments the filters allow,
 * and the files behind a page of hits, each in one statement. List filters bind JSON arrays
 * (json_each), so the SQL text depends only on which filters are set and stays cacheable.
 */

interface SqlClause {
  sql: string;
  params: (string | number)[];
}

export interface FileRef {
  id: number;
  path: string;
  kind: MediaKind;
  size: number;
  mtime_ms: number;
  taken_ms: number;
  taken_source: DateSource;
  offline: 0 | 1;
  missing: 0 | 1;
  duration_s: number | null;
}

/** A file row as every listing shows it (search hits and the timeline alike). */
export function fileFacts(f: FileRef): FileFacts {
  return {
    fileId: f.id,
    path: f.path,
    kind: f.kind,
    size: f.size,
    takenMs: f.taken_ms,
    dateSource: f.taken_source,
    offline: f.offline === 1,
    missing: f.missing === 1,
    durationS: f.duration_s,
  };
}

/** The WHERE clause (over `files f`) shared by pre-filtering segments and choosing which path to show. */
function fileFilterClause(filters: Filters): SqlClause {
  // A missing file shows only when it had been indexed (it still has its content and vectors).
  const status = filters.includeMissing
    ? `(f.status = 'indexed' OR (f.status = 'missing' AND f.content_id IS NOT NULL AND f.kind IS NOT NULL))`
    : `f.status = 'indexed'`;
  const parts = [status];
  const params: (string | number)[] = [];
  if (filters.kinds) {
    parts.push(`f.kind IN (SELECT value FROM json_each(?))`);
    params.push(JSON.stringify(filters.kinds));
  }
  if (filters.roots) {
    parts.push(`f.root_id IN (SELECT value FROM json_each(?))`);
    params.push(JSON.stringify(filters.roots));
  }
  if (filters.pathPrefix) {
    // length(?) counts characters as substr does (JavaScript's length counts UTF-16 units).
    parts.push(`substr(f.path, 1, length(?)) = ?`);
    params.push(filters.pathPrefix, filters.pathPrefix);
  }
  const range: [keyof Filters, string][] = [
    ['dateFrom', 'f.taken_ms >= ?'],
    ['dateTo', 'f.taken_ms <= ?'],
    ['minBytes', 'f.size >= ?'],
    ['maxBytes', 'f.size <= ?'],
  ];
  for (const [key, sql] of range) {
    if (filters[key] !== undefined) {
      parts.push(sql);
      params.push(filters[key] as number);
    }
  }
  if (filters.bbox) {
    const { south, west, north, east } = filters.bbox;
    const lon = west <= east ? 'c.lon BETWEEN ? AND ?' : '(c.lon >= ? OR c.lon <= ?)';
    parts.push(`f.content_id IN (SELECT c.id FROM contents c WHERE c.lat BETWEEN ? AND ? AND ${lon})`);
    params.push(south, north, west, east);
  }
  return { sql: parts.join(' AND '), params };
}

/** Ids of the segments whose content has a file passing the filters. */
export function segmentIdsMatching(db: Db, filters: Filters): number[] {
  const where = fileFilterClause(filters);
  return statement(
    db,
    `SELECT DISTINCT s.id FROM segments s JOIN files f ON f.content_id = s.content_id WHERE ${where.sql}`,
    'pluck',
  ).all(...where.params) as number[];
}

/**
 * The indexed paths of each content that pass the filters: present and reachable ones first (a
 * copy on an unplugged drive, or one deleted, is shown only when no other is), then oldest row
 * first (stable across runs).
 */
export function filesOfContents(
  db: Db,
  contentIds: readonly number[],
  filters: Filters,
): Map<number, FileRef[]> {
  const where = fileFilterClause(filters);
  const rows = statement(
    db,
    `SELECT f.content_id, f.id, f.path, f.kind, f.size, f.mtime_ms, f.taken_ms, f.taken_source,
            r.status = 'offline' AS offline, f.status = 'missing' AS missing, c.duration_s
       FROM files f JOIN roots r ON r.id = f.root_id LEFT JOIN contents c ON c.id = f.content_id
      WHERE f.content_id IN (SELECT value FROM json_each(?)) AND ${where.sql}
      ORDER BY f.status = 'missing', r.status = 'offline', f.id`,
  ).all(JSON.stringify(contentIds), ...where.params) as (FileRef & { content_id: number })[];
  const out = new Map<number, FileRef[]>();
  for (const { content_id, ...file } of rows) out.set(content_id, [...(out.get(content_id) ?? []), file]);
  return out;
}

export type TimelineRow = FileRef;

/**
 * A page of the library newest first (the file's date, then id, so pages never overlap or skip),
 * after `after` when given, through the files_status_taken index; and how many files pass.
 */
export function timelinePage(
  db: Db,
  filters: Filters,
  limit: number,
  after?: { takenMs: number; fileId: number },
): { rows: TimelineRow[]; total: number } {
  const where = fileFilterClause(filters);
  const page = after ? ' AND (f.taken_ms < ? OR (f.taken_ms = ? AND f.id < ?))' : '';
  const rows = statement(
    db,
    `SELECT f.id, f.path, f.kind, f.size, f.mtime_ms, f.taken_ms, f.taken_source, c.duration_s,
            r.status = 'offline' AS offline, f.status = 'missing' AS missing
       FROM files f JOIN roots r ON r.id = f.root_id LEFT JOIN contents c ON c.id = f.content_id
      WHERE ${where.sql}${page} ORDER BY f.taken_ms DESC, f.id DESC LIMIT ?`,
  ).all(
    ...where.params,
    ...(after ? [after.takenMs, after.takenMs, after.fileId] : []),
    limit,
  ) as TimelineRow[];
  const total = statement(db, `SELECT count(*) FROM files f WHERE ${where.sql}`, 'pluck').get(
    ...where.params,
  ) as number;
  return { rows, total };
}
