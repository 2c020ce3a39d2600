import type { Filters } from '../../../../app/query.js';

/**
 * The app's search filters as a WHERE clause over `files f` on PostgreSQL: the same rules as
 * SQLite's (../search-reads.ts fileFilterClause), with `pathPrefix` relative to the root (files
 * store paths relative to their root here). Parameters are appended to `params`; placeholders
 * are numbered after the ones already there.
 */
export function pgFileFilter(filters: Filters, params: unknown[]): string {
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const parts = [
    filters.includeMissing
      ? `(f.status = 'indexed' OR (f.status = 'missing' AND f.content_id IS NOT NULL AND f.kind IS NOT NULL))`
      : `f.status = 'indexed'`,
  ];
  if (filters.kinds) parts.push(`f.kind = ANY(${p(filters.kinds)}::text[])`);
  if (filters.roots) parts.push(`f.root_id = ANY(${p(filters.roots)}::bigint[])`);
  if (filters.pathPrefix) parts.push(`starts_with(f.rel, ${p(filters.pathPrefix)})`);
  if (filters.dateFrom !== undefined) parts.push(`f.taken_ms >= ${p(filters.dateFrom)}`);
  if (filters.dateTo !== undefined) parts.push(`f.taken_ms <= ${p(filters.dateTo)}`);
  if (filters.minBytes !== undefined) parts.push(`f.size >= ${p(filters.minBytes)}`);
  if (filters.maxBytes !== undefined) parts.push(`f.size <= ${p(filters.maxBytes)}`);
  if (filters.bbox) {
    const { south, west, north, east } = filters.bbox;
    const lat = `c.lat BETWEEN ${p(south)} AND ${p(north)}`;
    const lon =
      west <= east
        ? `c.lon BETWEEN ${p(west)} AND ${p(east)}`
        : `(c.lon >= ${p(west)} OR c.lon <= ${p(east)})`;
    parts.push(`f.content_id IN (SELECT c.id FROM contents c WHERE ${lat} AND ${lon})`);
  }
  return parts.join(' AND ');
}
