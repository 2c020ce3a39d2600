import type { PackManifest } from '../../../app/pack.js';
import type { Db } from './open.js';

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
  db.prepare(
    `INSERT INTO models (id, dir, name, version, dim, manifest, installed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET dir = excluded.dir, name = excluded.name, version = excluded.version,
       dim = excluded.dim, manifest = excluded.manifest`,
  ).run(m.id, dir, m.name, m.version, m.embeddingDim, JSON.stringify(m), Date.now());
}

export function setActiveModel(db: Db, id: string): void {
  db.transaction(() => {
    db.prepare('UPDATE models SET active = 0').run();
    if (db.prepare('UPDATE models SET active = 1 WHERE id = ?').run(id).changes !== 1) {
      throw new Error(`no installed model pack with id ${id}`);
    }
  })();
}

export function activeModel(db: Db): ModelRow | undefined {
  return db.prepare('SELECT id, dir, name, version, dim, active FROM models WHERE active = 1').get() as
    ModelRow | undefined;
}

export function listModels(db: Db): ModelRow[] {
  return db.prepare('SELECT id, dir, name, version, dim, active FROM models ORDER BY id').all() as ModelRow[];
}

export function getMeta(db: Db, key: string): string | undefined {
  return db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
}
