import Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { PackManifest } from '../../../app/pack.js';
import type { Db } from './open.js';
import { statement } from './statements.js';

export interface ModelRow {
  id: string;
  dir: string;
  name: string;
  version: string;
  dim: number;
  active: number;
}

/** Records an installed pack (idempotent: a re-install refreshes its folder and manifest). */
export function registerModel(db: Db, dir: string, m: PackManifest): void {
  statement(
    db,
    `INSERT INTO models (id, dir, name, version, dim, manifest, installed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET dir = excluded.dir, name = excluded.name, version = excluded.version,
       dim = excluded.dim, manifest = excluded.manifest`,
  ).run(m.id, dir, m.name, m.version, m.embeddingDim, JSON.stringify(m), Date.now());
}

export function setActiveModel(db: Db, id: string): void {
  db.transaction(() => {
    statement(db, 'UPDATE models SET active = 0').run();
    if (statement(db, 'UPDATE models SET active = 1 WHERE id = ?').run(id).changes !== 1) {
      throw new Error(`no installed model pack with id ${id}`);
    }
  })();
}

export function activeModel(db: Db): ModelRow | undefined {
  return statement(db, 'SELECT id, dir, name, version, dim, active FROM models WHERE active = 1').get() as
    ModelRow | undefined;
}

export function listModels(db: Db): ModelRow[] {
  return statement(
    db,
    'SELECT id, dir, name, version, dim, active FROM models ORDER BY id',
  ).all() as ModelRow[];
}

export function getMeta(db: Db, key: string): string | undefined {
  return statement(db, 'SELECT value FROM meta WHERE key = ?', 'pluck').get(key) as string | undefined;
}

export function setMeta(db: Db, key: string, value: string): void {
  statement(db, 'INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
}

export function deleteMeta(db: Db, key: string): void {
  statement(db, 'DELETE FROM meta WHERE key = ?').run(key);
}

/** The manifest a pack was registered with. */
export function modelManifest(db: Db, id: string): PackManifest | undefined {
  const json = statement(db, 'SELECT manifest FROM models WHERE id = ?', 'pluck').get(id) as
    string | undefined;
  return json === undefined ? undefined : (JSON.parse(json) as PackManifest);
}

export function deleteModel(db: Db, id: string): void {
  statement(db, 'DELETE FROM models WHERE id = ?').run(id);
}

const DIRTY_PREFIX = 'index_dirty:';

/** Whether a pack's vector index must be rebuilt from its embeddings when next opened. */
export function indexDirty(db: Db, packId: string): boolean {
  return getMeta(db, DIRTY_PREFIX + packId) === '1';
}

export function setIndexDirty(db: Db, packId: string, dirty: boolean): void {
  setMeta(db, DIRTY_PREFIX + packId, dirty ? '1' : '0');
}

/** Marks every recorded index dirty but those of the open packs (which were kept in step). */
export function markIndexesDirtyExcept(db: Db, openPackIds: readonly string[]): void {
  statement(
    db,
    `UPDATE meta SET value = '1' WHERE substr(key, 1, ${DIRTY_PREFIX.length}) = '${DIRTY_PREFIX}'
       AND substr(key, ${DIRTY_PREFIX.length + 1}) NOT IN (SELECT value FROM json_each(?))`,
  ).run(JSON.stringify(openPackIds));
}

/**
 * The catalogues beside this one (other `.db` files in its folder, such as a shared catalogue's
 * replica, docs/architecture.md §13) whose active pack is `packId`: they share its packs folder,
 * so the pack's files must stay. Unreadable files are not catalogues and are passed over.
 */
export function catalogueUsingPack(db: Db, packId: string): string | undefined {
  const here = path.resolve(db.name);
  const dir = path.dirname(here);
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.db'))) {
    const file = path.join(dir, name);
    if (file === here) continue;
    try {
      const other = new Database(file, { readonly: true, fileMustExist: true });
      try {
        const active = other.prepare('SELECT id FROM models WHERE active = 1').pluck().get();
        if (active === packId) return file;
      } finally {
        other.close();
      }
    } catch {
      // Not a catalogue (or not readable): nothing of ours.
    }
  }
  return undefined;
}
