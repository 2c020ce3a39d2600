import type { Filters } from '../../../app/query.js';

export interface SqlClause {
  sql: string;
  params: (string | number)[];
}

/** The WHERE clause (over `files f`) shared by pre-filtering segments and choosing which path to show. */
export function fileFilterClause(filters: Filters): SqlClause {
  const parts = [`f.status = 'indexed'`];
  const params: (string | number)[] = [];
  if (filters.kinds) {
    parts.push(`f.kind IN (${filters.kinds.map(() => '?').join(',')})`);
    params.push(...filters.kinds);
  }
  if (filters.roots) {
    parts.push(`f.root_id IN (${filters.roots.map(() => '?').join(',')})`);
    params.push(...filters.roots);
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

export function hasFilters(filters: Filters): boolean {
  return Object.values(filters).some((v) => v !== undefined);
}
