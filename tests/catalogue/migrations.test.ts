import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, openCatalogue, schemaVersion } from '../../main/core/catalogue/open.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../main/core/catalogue/migrations.js';
import { tempDir } from '../support/cli.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => cleanup?.());

describe('catalogue migrations', () => {
  it('creates a fresh catalogue at the current version with WAL and foreign keys', async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    const db = openCatalogue(path.join(t.dir, 'c.db'));
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it.each(Array.from({ length: SCHEMA_VERSION }, (_, v) => v))(
    'upgrades a catalogue at version %i keeping its rows',
    async (from) => {
      const t = await tempDir();
      cleanup = t.cleanup;
      const file = path.join(t.dir, 'old.db');
      const old = new Database(file);
      migrate(old, from);
      if (from >= 1) old.prepare(`INSERT INTO roots (path, added_at) VALUES ('/photos', 1)`).run();
      old.close();
      const db = openCatalogue(file);
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
      if (from >= 1) expect(db.prepare('SELECT path FROM roots').pluck().all()).toEqual(['/photos']);
      db.close();
    },
  );

  it('refuses a catalogue written by a newer Bindery instead of damaging it', async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    const file = path.join(t.dir, 'new.db');
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => openCatalogue(file)).toThrow(/newer than this Bindery/);
  });
});
