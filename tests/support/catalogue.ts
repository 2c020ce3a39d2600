import Database from 'better-sqlite3';
import { expect } from 'vitest';

/**
 * What every crash test ends with: an intact catalogue in which each of `total` files is indexed
 * exactly once, no job is left, and every segment has exactly one embedding. Returns the counter
 * for further checks (`count(sql)`), valid only inside `then`.
 */
export function expectEveryFileOnce(
  catalogue: string,
  total: number,
  then?: (count: (sql: string) => number) => void,
): void {
  const db = new Database(catalogue, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    expect(count(`SELECT COUNT(*) FROM files WHERE status = 'indexed'`)).toBe(total);
    expect(count(`SELECT COUNT(*) FROM files`)).toBe(total);
    expect(count(`SELECT COUNT(*) FROM jobs`)).toBe(0);
    expect(count(`SELECT COUNT(*) FROM contents`)).toBe(total);
    expect(count(`SELECT COUNT(*) FROM embeddings`)).toBe(count(`SELECT COUNT(*) FROM segments`));
    then?.(count);
  } finally {
    db.close();
  }
}
