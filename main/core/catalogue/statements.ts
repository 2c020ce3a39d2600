import type Database from 'better-sqlite3';
import type { Db } from './open.js';

/**
 * The catalogue's prepared-statement cache (docs/architecture.md §3): each statement is compiled
 * once per connection instead of once per call (per scanned file, per written segment). Only
 * fixed SQL belongs here: a statement whose text varies with its input (an IN list) would grow the
 * cache without bound, so such SQL binds a JSON array and reads it with json_each instead.
 */

/** How rows come back: objects, the first column only (pluck), or arrays (raw). */
export type RowMode = 'rows' | 'pluck' | 'raw';

const caches = new WeakMap<Db, Map<string, Database.Statement>>();

export function statement(db: Db, sql: string, mode: RowMode = 'rows'): Database.Statement {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  const key = `${mode}\0${sql}`;
  let stmt = cache.get(key);
  if (!stmt) {
    stmt = db.prepare(sql);
    if (mode === 'pluck') stmt.pluck();
    else if (mode === 'raw') stmt.raw();
    cache.set(key, stmt);
  }
  return stmt;
}
