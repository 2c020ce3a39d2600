import { ApiError } from '../../../app/errors.js';
import path from 'node:path';
import type { Db } from './open.js';
import { isInside } from '../paths.js';
import { statement } from './statements.js';

export interface RootRow {
  id: number;
  path: string;
  status: 'online' | 'offline';
  added_at: number;
  last_scan_at: number | null;
}

export function listRoots(db: Db): RootRow[] {
  return statement(db, 'SELECT * FROM roots ORDER BY path').all() as RootRow[];
}

export function getRoot(db: Db, id: number): RootRow | undefined {
  return statement(db, 'SELECT * FROM roots WHERE id = ?').get(id) as RootRow | undefined;
}

export function findRootByPath(db: Db, p: string): RootRow | undefined {
  return statement(db, 'SELECT * FROM roots WHERE path = ?').get(path.resolve(p)) as RootRow | undefined;
}

/**
 * Why `abs` cannot be a root beside `roots`, or null: a folder inside another root, or containing
 * one, would index its files twice. The message names the other root.
 */
export function overlapOf(roots: readonly string[], abs: string): string | null {
  const other = roots.find((r) => r !== abs && (isInside(abs, r) || isInside(r, abs)));
  return other ? `${abs} overlaps the library folder ${other}; remove that one first or add a sibling` : null;
}

/** Adds a folder (the same folder again: the existing root); an overlapping one is refused. */
export function addRoot(db: Db, folder: string, name?: string): RootRow {
  const abs = path.resolve(folder);
  const existing = findRootByPath(db, abs);
  if (existing) return existing;
  const overlap = overlapOf(
    listRoots(db).map((r) => r.path),
    abs,
  );
  if (overlap) throw new ApiError('conflict', overlap);
  // The key names the root apart from this path (docs/architecture.md §13): a worker elsewhere mounts it by key.
  statement(
    db,
    'INSERT INTO roots (path, added_at, key, name) VALUES (?, ?, lower(hex(randomblob(16))), ?)',
  ).run(abs, Date.now(), name ?? abs);
  return findRootByPath(db, abs)!;
}

export function setRootStatus(db: Db, id: number, status: RootRow['status'], scannedAt?: number): void {
  statement(db, 'UPDATE roots SET status = ?, last_scan_at = COALESCE(?, last_scan_at) WHERE id = ?').run(
    status,
    scannedAt ?? null,
    id,
  );
}

/** Removes a root and its file rows; orphaned contents are collected by the caller's garbage pass. */
export function removeRoot(db: Db, id: number): void {
  statement(db, 'DELETE FROM roots WHERE id = ?').run(id);
  statement(db, 'DELETE FROM meta WHERE key = ?').run(problemsKey(id));
}

export interface ScanProblem {
  path: string;
  error: string;
}

export interface ScanSkip {
  path: string;
  reason: string;
}

/** What the last scan of a root could not read, and what it passed over on purpose, with totals. */
export interface ScanReport {
  total: number;
  problems: ScanProblem[];
  skippedTotal: number;
  skipped: ScanSkip[];
}

const MAX_LISTED = 100;
const problemsKey = (rootId: number) => `scan_problems:${rootId}`;

/**
 * Kept until the next scan so status, the API and the app can say which part of the library is
 * unreachable, and which entries were skipped, and why (at most MAX_LISTED of each are listed).
 */
export function recordScanProblems(
  db: Db,
  rootId: number,
  found: { readonly unreadable: readonly ScanProblem[]; readonly skipped: readonly ScanSkip[] },
): void {
  const record: ScanReport = {
    total: found.unreadable.length,
    problems: found.unreadable.slice(0, MAX_LISTED).map(({ path: p, error }) => ({ path: p, error })),
    skippedTotal: found.skipped.length,
    skipped: found.skipped.slice(0, MAX_LISTED).map(({ path: p, reason }) => ({ path: p, reason })),
  };
  statement(db, 'INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(
    problemsKey(rootId),
    JSON.stringify(record),
  );
}

export function scanProblems(db: Db, rootId: number): ScanReport {
  const raw = statement(db, 'SELECT value FROM meta WHERE key = ?', 'pluck').get(problemsKey(rootId)) as
    string | undefined;
  // Records from before skipped entries were kept have no skipped list.
  const r = raw ? (JSON.parse(raw) as Partial<ScanReport>) : {};
  return {
    total: r.total ?? 0,
    problems: r.problems ?? [],
    skippedTotal: r.skippedTotal ?? 0,
    skipped: r.skipped ?? [],
  };
}
