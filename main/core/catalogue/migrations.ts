/**
 * Numbered schema migrations. Each entry moves the catalogue from version i to i+1 inside one
 * transaction; PRAGMA user_version records where a file stands. Never edit a shipped migration:
 * add the next one (tests/catalogue/migrations.test.ts upgrades every earlier version).
 */
export const MIGRATIONS: readonly string[] = [
  /* 1: the catalogue */ `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE roots (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    added_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline')),
    last_scan_at INTEGER
  );

  -- Content identity: embeddings hang off contents, so renames, moves and copies cost nothing.
  CREATE TABLE contents (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'video')),
    duration_s REAL
  );

  CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,
    content_id INTEGER REFERENCES contents(id),
    kind TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'indexed', 'failed', 'missing')),
    error TEXT,
    scan_id INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX files_content ON files(content_id);
  CREATE INDEX files_root_status ON files(root_id, status);

  CREATE TABLE models (
    id TEXT PRIMARY KEY,
    dir TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    dim INTEGER NOT NULL,
    manifest TEXT NOT NULL,
    installed_at INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 0
  );

  -- The unit that gets embedded. level 'clip' is one window or view; level 'file' is the mean of a
  -- content's clips for one modality (ImageBind averages clips the same way).
  CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    content_id INTEGER NOT NULL REFERENCES contents(id) ON DELETE CASCADE,
    modality TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('clip', 'file')),
    t_start REAL NOT NULL DEFAULT 0,
    t_end REAL NOT NULL DEFAULT 0,
    crop TEXT NOT NULL DEFAULT '',
    UNIQUE (content_id, modality, level, t_start, t_end, crop)
  );

  CREATE TABLE embeddings (
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    vector BLOB NOT NULL,
    PRIMARY KEY (segment_id, model_id)
  ) WITHOUT ROWID;

  -- Which pack has embedded which content: the reason a move or a copy is never re-embedded.
  CREATE TABLE content_models (
    content_id INTEGER NOT NULL REFERENCES contents(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    embedded_at INTEGER NOT NULL,
    PRIMARY KEY (content_id, model_id)
  ) WITHOUT ROWID;

  -- The durable queue: the single source of truth for pending work.
  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL UNIQUE REFERENCES files(id) ON DELETE CASCADE,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  `,
  /* 2: capture time and place (docs/architecture.md §2, "Dates") */ `
  -- What the bytes say: EXIF DateTimeOriginal with its offset, a container's creation_time, an
  -- audio date tag; and GPS. Null when they say nothing.
  ALTER TABLE contents ADD COLUMN taken_ms INTEGER;
  ALTER TABLE contents ADD COLUMN taken_source TEXT;
  ALTER TABLE contents ADD COLUMN lat REAL;
  ALTER TABLE contents ADD COLUMN lon REAL;

  -- A file's date as filters and the timeline use it: its content's capture time, else its mtime
  -- (source 'mtime'). Kept on the file, so date order is one index.
  ALTER TABLE files ADD COLUMN taken_ms INTEGER;
  ALTER TABLE files ADD COLUMN taken_source TEXT NOT NULL DEFAULT 'mtime';
  UPDATE files SET taken_ms = mtime_ms;
  CREATE INDEX files_status_taken ON files(status, taken_ms);
  `,
  /* 3: workers sharing one catalogue (docs/architecture.md §13) */ `
  -- A root's identity apart from where it is mounted, and where each machine finds it.
  ALTER TABLE roots ADD COLUMN key TEXT;
  ALTER TABLE roots ADD COLUMN name TEXT;
  UPDATE roots SET key = lower(hex(randomblob(16))), name = path;
  CREATE UNIQUE INDEX roots_key ON roots(key);
  CREATE TABLE root_mounts (
    root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    machine TEXT NOT NULL,
    folder TEXT NOT NULL,
    PRIMARY KEY (root_id, machine)
  ) WITHOUT ROWID;

  -- Leased jobs: a worker holds a job until lease_until (ms); expired leases are taken again.
  ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
  ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
  CREATE INDEX jobs_lease ON jobs(lease_until);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
