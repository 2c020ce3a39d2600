import type pg from 'pg';
import { inTransaction } from './connect.js';

/**
 * The shared catalogue's numbered migrations on PostgreSQL (docs/architecture.md §13), the same
 * discipline as SQLite's (../migrations.ts): never edit a shipped one, add the next;
 * tests/catalogue/store-contract.test.ts upgrades from every earlier version. The tables
 * mirror SQLite's, with paths relative to a root that each machine mounts where it likes, and
 * leases on jobs. Vectors live in one pgvector table per pack (vectors.ts).
 */
export const PG_MIGRATIONS: readonly string[] = [
  /* 1: the shared catalogue */ `
  CREATE EXTENSION IF NOT EXISTS vector;

  CREATE TABLE roots (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    added_at TIMESTAMPTZ NOT NULL DEFAULT now()
  );
  CREATE TABLE root_mounts (
    root_id BIGINT NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    machine TEXT NOT NULL,
    folder TEXT NOT NULL,
    PRIMARY KEY (root_id, machine)
  );

  CREATE TABLE contents (
    id BIGSERIAL PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    size BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'video')),
    duration_s DOUBLE PRECISION,
    taken_ms BIGINT,
    taken_source TEXT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION
  );

  CREATE TABLE files (
    id BIGSERIAL PRIMARY KEY,
    root_id BIGINT NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    rel TEXT NOT NULL,
    size BIGINT NOT NULL,
    mtime_ms BIGINT NOT NULL,
    content_id BIGINT REFERENCES contents(id),
    kind TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'indexed', 'failed', 'missing')),
    error TEXT,
    scan_id BIGINT NOT NULL DEFAULT 0,
    taken_ms BIGINT,
    taken_source TEXT NOT NULL DEFAULT 'mtime',
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (root_id, rel)
  );
  CREATE INDEX files_content ON files(content_id);
  CREATE INDEX files_status_taken ON files(status, taken_ms);

  CREATE TABLE packs (
    id TEXT PRIMARY KEY,
    dim INTEGER NOT NULL,
    manifest JSONB NOT NULL,
    installed_at TIMESTAMPTZ NOT NULL DEFAULT now()
  );

  CREATE TABLE segments (
    id BIGSERIAL PRIMARY KEY,
    content_id BIGINT NOT NULL REFERENCES contents(id) ON DELETE CASCADE,
    modality TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('clip', 'file')),
    t_start DOUBLE PRECISION NOT NULL DEFAULT 0,
    t_end DOUBLE PRECISION NOT NULL DEFAULT 0,
    crop TEXT NOT NULL DEFAULT '',
    UNIQUE (content_id, modality, level, t_start, t_end, crop)
  );

  -- Which pack has embedded which content: a copy or a move is never embedded twice.
  CREATE TABLE content_packs (
    content_id BIGINT NOT NULL REFERENCES contents(id) ON DELETE CASCADE,
    pack_id TEXT NOT NULL REFERENCES packs(id) ON DELETE CASCADE,
    embedded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (content_id, pack_id)
  );

  -- The durable queue; a worker holds a job until lease_until (the server's clock, never a laptop's).
  CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    file_id BIGINT NOT NULL UNIQUE REFERENCES files(id) ON DELETE CASCADE,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_owner TEXT,
    lease_until TIMESTAMPTZ
  );
  CREATE INDEX jobs_lease ON jobs(lease_until);
  `,
  /* 2: what changed, for the apps that mirror the catalogue (replica.ts, docs/architecture.md §13) */ `
  -- The transaction that last changed a file's shown facts. A replica pulls the rows changed at or
  -- after the oldest transaction still running when it last pulled (pg_snapshot_xmin), so a row
  -- committed late under an older id is never skipped. A scan that only re-stamps scan_id is no change.
  ALTER TABLE files ADD COLUMN changed_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
  CREATE FUNCTION bindery_file_changed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    NEW.changed_xid := pg_current_xact_id();
    RETURN NEW;
  END $$;
  CREATE TRIGGER files_changed BEFORE UPDATE ON files FOR EACH ROW
    WHEN ((OLD.rel, OLD.size, OLD.mtime_ms, OLD.content_id, OLD.kind, OLD.status, OLD.error, OLD.taken_ms, OLD.taken_source)
          IS DISTINCT FROM
          (NEW.rel, NEW.size, NEW.mtime_ms, NEW.content_id, NEW.kind, NEW.status, NEW.error, NEW.taken_ms, NEW.taken_source))
    EXECUTE FUNCTION bindery_file_changed();
  CREATE INDEX files_changed ON files(root_id, changed_xid, id);
  `,
  /* 3: scan marks counted by the catalogue, not read from the workers' clocks (docs/architecture.md §13) */ `
  -- A scan's mark orders it against the others: from a machine whose clock is behind, it would keep
  -- another machine's later scan from retiring what went. Starts above every mark a clock wrote.
  CREATE SEQUENCE scan_ids;
  SELECT setval('scan_ids', (SELECT COALESCE(max(scan_id), 0) + 1 FROM files), false);
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** Any fixed number: the advisory lock that keeps two workers starting together from migrating twice. */
const MIGRATION_LOCK = 0x62696e64;

export async function pgSchemaVersion(pool: pg.Pool | pg.PoolClient): Promise<number> {
  const { rows } = await pool.query<{ v: number | null }>(
    `SELECT (SELECT max(version) FROM bindery_schema) AS v`,
  );
  return rows[0].v ?? 0;
}

/** Brings the server's schema up to `target`: every pending migration in one transaction, under an advisory lock. */
export async function pgMigrate(pool: pg.Pool, target = PG_SCHEMA_VERSION): Promise<void> {
  await pool.query('CREATE TABLE IF NOT EXISTS bindery_schema (version INTEGER PRIMARY KEY)');
  await inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const from = await pgSchemaVersion(c);
    if (from > PG_SCHEMA_VERSION)
      throw new Error(
        `the shared catalogue's schema v${from} is newer than this Bindery (v${PG_SCHEMA_VERSION}); update Bindery`,
      );
    for (let v = from; v < target; v++) {
      await c.query(PG_MIGRATIONS[v]);
      await c.query('INSERT INTO bindery_schema (version) VALUES ($1)', [v + 1]);
    }
  });
}
