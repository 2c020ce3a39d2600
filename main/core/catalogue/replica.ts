import path from 'node:path';
import type { Db } from './open.js';
import { getMeta, setMeta } from './packs.js';
import { listRoots, removeRoot, setRootStatus } from './roots.js';
import { statement } from './statements.js';
import { underRoot, type RemoteContents, type RemoteFile } from './store.js';

/**
 * The app's mirror of a shared catalogue (docs/architecture.md §13): a SQLite catalogue whose rows
 * are the server's, under the server's ids, each file at its path under this machine's mount of
 * its root. Only ingest/replica-sync.ts writes it, from the server's changes; search, the
 * timeline, file details and previews read it as they read any catalogue, even with the server
 * away.
 */

/** A root of the shared catalogue as this machine mounts it. */
export interface MountedRoot {
  id: number;
  key: string;
  name: string;
  folder: string;
  /** The folder can be read now (a share not mounted reads as an empty folder). */
  reachable: boolean;
}

/** Per pack and root: a replica that starts serving another pack (--pack) pulls every root again for its vectors. */
const sinceKey = (packId: string, rootId: number) => `replica_since:${packId}:${rootId}`;
const REPLICA_OF = 'replica_of';

/**
 * Marks a catalogue file as the replica of `server` (a label without password), or refuses: a
 * replica's rows are replaced by the server's, so a library of its own, or another server's
 * replica, is never taken for one.
 */
export function claimReplica(db: Db, server: string): void {
  const of = getMeta(db, REPLICA_OF);
  if (of === server) return;
  if (of !== undefined)
    throw new Error(`${db.name} mirrors the shared catalogue ${of}, not ${server}: give another --db`);
  if (listRoots(db).length > 0)
    throw new Error(`${db.name} is a library of its own, not a replica of ${server}: give another --db`);
  setMeta(db, REPLICA_OF, server);
}

/** The shared catalogue this file mirrors, if it is a replica (local indexing would break it). */
export function replicaOf(db: Db): string | undefined {
  return getMeta(db, REPLICA_OF);
}

/** The watermark of the last complete pull of a root for a pack ('0': pull everything). */
export function replicaWatermark(db: Db, packId: string, rootId: number): string {
  return getMeta(db, sinceKey(packId, rootId)) ?? '0';
}

export function setReplicaWatermark(db: Db, packId: string, rootId: number, watermark: string): void {
  setMeta(db, sinceKey(packId, rootId), watermark);
}

function forgetWatermarks(db: Db, rootId: number): void {
  statement(db, `DELETE FROM meta WHERE key LIKE 'replica_since:%' AND key LIKE ?`).run(`%:${rootId}`);
}

/**
 * Makes the local roots those mounted here: new ones are added, a moved mount point moves the
 * root and pulls it again (every path changes), and a root no longer mounted here leaves with its
 * file rows. Returns whether any root left (the caller collects orphaned contents).
 */
export function applyRoots(db: Db, mounted: readonly MountedRoot[]): boolean {
  const wanted = new Map(mounted.map((r) => [r.id, r]));
  let removed = false;
  for (const local of listRoots(db)) {
    const r = wanted.get(local.id);
    if (r && path.resolve(r.folder) === local.path) continue;
    // Gone, or mounted elsewhere: a moved mount is pulled afresh under its new folder.
    removeRoot(db, local.id);
    forgetWatermarks(db, local.id);
    removed = true;
  }
  const present = new Set(listRoots(db).map((r) => r.id));
  const taken = new Set(listRoots(db).map((r) => r.path));
  for (const r of mounted) {
    const folder = path.resolve(r.folder);
    // Two roots mounted at one folder here cannot both be shown: the first keeps it.
    if (!present.has(r.id) && !taken.has(folder)) {
      statement(db, 'INSERT INTO roots (id, path, added_at, key, name) VALUES (?, ?, ?, ?, ?)').run(
        r.id,
        folder,
        Date.now(),
        r.key,
        r.name,
      );
      taken.add(folder);
      present.add(r.id);
    }
    if (present.has(r.id)) setRootStatus(db, r.id, r.reachable ? 'online' : 'offline');
  }
  return removed;
}

/** Which of these contents lack `packId`'s vectors here (those the server is asked for). */
export function contentsLacking(db: Db, packId: string, ids: readonly number[]): number[] {
  return statement(
    db,
    `SELECT DISTINCT value FROM json_each(?) WHERE value NOT IN
       (SELECT content_id FROM content_models WHERE model_id = ?)`,
    'pluck',
  ).all(JSON.stringify(ids), packId) as number[];
}

/** Stores pulled contents, segments and vectors; returns the vectors new here (the index adds them). */
export function applyContents(
  db: Db,
  packId: string,
  remote: RemoteContents,
): { id: number; vector: Float32Array }[] {
  const content = statement(
    db,
    `INSERT INTO contents (id, hash, size, kind, duration_s, taken_ms, taken_source, lat, lon)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET duration_s = excluded.duration_s, taken_ms = excluded.taken_ms,
       taken_source = excluded.taken_source, lat = excluded.lat, lon = excluded.lon`,
  );
  for (const c of remote.contents)
    content.run(c.id, c.hash, c.size, c.kind, c.durationS, c.takenMs, c.takenSource, c.lat, c.lon);
  const segment = statement(
    db,
    `INSERT OR IGNORE INTO segments (id, content_id, modality, level, t_start, t_end, crop)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const s of remote.segments)
    segment.run(s.id, s.contentId, s.modality, s.level, s.tStart, s.tEnd, s.crop);
  const vector = statement(
    db,
    'INSERT OR IGNORE INTO embeddings (segment_id, model_id, vector) VALUES (?, ?, ?)',
  );
  const added = remote.vectors.filter(
    (v) =>
      vector.run(v.segmentId, packId, Buffer.from(v.vector.buffer, v.vector.byteOffset, v.vector.byteLength))
        .changes > 0,
  );
  const embedded = statement(
    db,
    'INSERT OR IGNORE INTO content_models (content_id, model_id, embedded_at) VALUES (?, ?, ?)',
  );
  for (const id of remote.embedded) embedded.run(id, packId, Date.now());
  return added.map((v) => ({ id: v.segmentId, vector: v.vector }));
}

/**
 * Stores pulled file rows of one root at their paths under its folder (a relative path is stored
 * with `/`, whichever machine scanned it). A row that took another's path (a rename on the
 * server) replaces it.
 */
export function applyFiles(db: Db, rootId: number, folder: string, files: readonly RemoteFile[]): void {
  const clash = statement(db, 'DELETE FROM files WHERE path = ? AND id != ?');
  const upsert = statement(
    db,
    `INSERT INTO files (id, root_id, path, size, mtime_ms, content_id, kind, status, error, scan_id,
                        updated_at, taken_ms, taken_source)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET root_id = excluded.root_id, path = excluded.path, size = excluded.size,
       mtime_ms = excluded.mtime_ms, content_id = excluded.content_id, kind = excluded.kind,
       status = excluded.status, error = excluded.error, updated_at = excluded.updated_at,
       taken_ms = excluded.taken_ms, taken_source = excluded.taken_source`,
  );
  const now = Date.now();
  for (const f of files) {
    const at = underRoot(folder, f.rel);
    clash.run(at, f.id);
    upsert.run(
      f.id,
      rootId,
      at,
      f.size,
      f.mtimeMs,
      f.contentId,
      f.kind,
      f.status,
      f.error,
      now,
      f.takenMs ?? f.mtimeMs,
      f.takenSource,
    );
  }
}
