import type { MediaKind } from '../../../app/modality.js';
import type { Filters } from '../../../app/query.js';
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
}

/** The WHERE clause (over `files f`) shared by pre-filtering segments and choosing which path to show. */
function fileFilterClause(filters: Filters): SqlClause {
  const parts = [`f.status = 'indexed'`];
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
    parts.push(`substr(f.path, 1, ?) = ?`);
    params.push(filters.pathPrefix.length, filters.pathPrefix);
  }
  const range: [keyof Filters, string][] = [
    ['dateFrom', 'f.mtime_ms >= ?'],
    ['dateTo', 'f.mtime_ms <= ?'],
    ['minBytes', 'f.size >= ?'],
    ['maxBytes', 'f.size <= ?'],
  ];
  for (const [key, sql] of range) {
    if (filters[key] !== undefined) {
      parts.push(sql);
      params.push(filters[key] as number);
    }
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

/** The indexed paths of each content that pass the filters, oldest row first (stable across runs). */
export function filesOfContents(
  db: Db,
  contentIds: readonly number[],
  filters: Filters,
): Map<number, FileRef[]> {
  const where = fileFilterClause(filters);
  const rows = statement(
    db,
    `SELECT f.content_id, f.id, f.path, f.kind, f.size, f.mtime_ms FROM files f
      WHERE f.content_id IN (SELECT value FROM json_each(?)) AND ${where.sql} ORDER BY f.id`,
  ).all(JSON.stringify(contentIds), ...where.params) as (FileRef & { content_id: number })[];
  const out = new Map<number, FileRef[]>();
  for (const { content_id, ...file } of rows) out.set(content_id, [...(out.get(content_id) ?? []), file]);
  return out;
}
