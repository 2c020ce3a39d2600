import type { CaptureFacts, MediaKind, SegmentSpec } from '../../../app/modality.js';
import type { Db } from './open.js';
import { statement } from './statements.js';

export interface SegmentRow {
  id: number;
  content_id: number;
  modality: string;
  level: 'clip' | 'file';
  t_start: number;
  t_end: number;
  crop: string;
}

export function contentByHash(db: Db, hash: string): { id: number; kind: MediaKind } | undefined {
  return statement(db, 'SELECT id, kind FROM contents WHERE hash = ?').get(hash) as
    { id: number; kind: MediaKind } | undefined;
}

/** Returns the content id for a hash, creating the row the first time the content is seen. */
export function upsertContent(
  db: Db,
  content: { hash: string; size: number; kind: MediaKind; durationS: number | null; capture: CaptureFacts },
): number {
  const { hash, size, kind, durationS, capture: c } = content;
  statement(
    db,
    `INSERT INTO contents (hash, size, kind, duration_s, taken_ms, taken_source, lat, lon)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (hash) DO UPDATE SET duration_s = COALESCE(excluded.duration_s, duration_s),
       taken_ms = COALESCE(excluded.taken_ms, taken_ms), taken_source = COALESCE(excluded.taken_source, taken_source),
       lat = COALESCE(excluded.lat, lat), lon = COALESCE(excluded.lon, lon)`,
  ).run(hash, size, kind, durationS, c.takenMs, c.source, c.lat, c.lon);
  return contentByHash(db, hash)!.id;
}

export function isEmbedded(db: Db, contentId: number, modelId: string): boolean {
  return (
    statement(db, 'SELECT 1 FROM content_models WHERE content_id = ? AND model_id = ?').get(
      contentId,
      modelId,
    ) !== undefined
  );
}

/** Idempotent: a segment that exists (a resumed job, a second pack) keeps its id. */
export function upsertSegment(db: Db, contentId: number, s: SegmentSpec): number {
  const args = [contentId, s.modality, s.level, s.tStart, s.tEnd, s.crop ?? ''];
  statement(
    db,
    `INSERT OR IGNORE INTO segments (content_id, modality, level, t_start, t_end, crop) VALUES (?, ?, ?, ?, ?, ?)`,
  ).run(...args);
  return statement(
    db,
    `SELECT id FROM segments WHERE content_id = ? AND modality = ? AND level = ? AND t_start = ? AND t_end = ? AND crop = ?`,
    'pluck',
  ).get(...args) as number;
}

export function putEmbedding(db: Db, segmentId: number, modelId: string, vector: Float32Array): void {
  statement(db, 'INSERT OR REPLACE INTO embeddings (segment_id, model_id, vector) VALUES (?, ?, ?)').run(
    segmentId,
    modelId,
    Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength),
  );
}

export function markEmbedded(db: Db, contentId: number, modelId: string): void {
  statement(
    db,
    'INSERT OR REPLACE INTO content_models (content_id, model_id, embedded_at) VALUES (?, ?, ?)',
  ).run(contentId, modelId, Date.now());
}

export function blobToVector(blob: Buffer): Float32Array {
  // Copy: the Buffer may share a pooled ArrayBuffer and be unaligned for a Float32Array view.
  const out = new Float32Array(blob.byteLength / 4);
  new Uint8Array(out.buffer).set(blob);
  return out;
}

export function getEmbedding(db: Db, segmentId: number, modelId: string): Float32Array | undefined {
  const blob = statement(
    db,
    'SELECT vector FROM embeddings WHERE segment_id = ? AND model_id = ?',
    'pluck',
  ).get(segmentId, modelId) as Buffer | undefined;
  return blob ? blobToVector(blob) : undefined;
}

/** Pages through every stored vector of a pack (paged, so the caller may write between pages). */
export function* iterateEmbeddings(
  db: Db,
  modelId: string,
  pageSize = 1000,
): Generator<{ id: number; vector: Float32Array }[]> {
  const page = statement(
    db,
    'SELECT segment_id AS id, vector FROM embeddings WHERE model_id = ? AND segment_id > ? ORDER BY segment_id LIMIT ?',
  );
  let after = 0;
  for (;;) {
    const rows = page.all(modelId, after, pageSize) as { id: number; vector: Buffer }[];
    if (rows.length === 0) return;
    yield rows.map((r) => ({ id: r.id, vector: blobToVector(r.vector) }));
    after = rows[rows.length - 1].id;
  }
}

export function embeddingCount(db: Db, modelId: string): number {
  return statement(db, 'SELECT COUNT(*) FROM embeddings WHERE model_id = ?', 'pluck').get(modelId) as number;
}

/** Segments by id, in one statement (search reads a page of hits at once). */
export function segmentsByIds(db: Db, ids: readonly number[]): Map<number, SegmentRow> {
  const rows = statement(db, 'SELECT * FROM segments WHERE id IN (SELECT value FROM json_each(?))').all(
    JSON.stringify(ids),
  ) as SegmentRow[];
  return new Map(rows.map((r) => [r.id, r]));
}

export function segmentCount(db: Db): number {
  return statement(db, 'SELECT COUNT(*) FROM segments', 'pluck').get() as number;
}

export interface SegmentSummary {
  id: number;
  modality: string;
  level: SegmentRow['level'];
  start: number;
  end: number;
}

/** A content's segments, as file details list them. */
export function segmentsOfContent(db: Db, contentId: number): SegmentSummary[] {
  return statement(
    db,
    `SELECT id, modality, level, t_start AS start, t_end AS end FROM segments WHERE content_id = ?
     ORDER BY modality, level, t_start`,
  ).all(contentId) as SegmentSummary[];
}

/**
 * Deletes missing files of online roots (those missing for at least `missingForMs`: a watcher
 * keeps a moved file's content until its new path has been seen), then every content no file
 * refers to any more, and returns the segment ids whose vectors the caller must drop.
 */
export function collectGarbage(db: Db, missingForMs = 0): number[] {
  statement(
    db,
    `DELETE FROM files WHERE status = 'missing' AND updated_at <= ?
        AND root_id IN (SELECT id FROM roots WHERE status = 'online')`,
  ).run(Date.now() - missingForMs);
  return collectOrphans(db);
}

/** Deletes every content no file refers to any more; returns the segment ids whose vectors the caller must drop. */
export function collectOrphans(db: Db): number[] {
  const orphanSegments = statement(
    db,
    `SELECT s.id FROM segments s WHERE s.content_id NOT IN
         (SELECT content_id FROM files WHERE content_id IS NOT NULL)`,
    'pluck',
  ).all() as number[];
  statement(
    db,
    `DELETE FROM contents WHERE id NOT IN (SELECT content_id FROM files WHERE content_id IS NOT NULL)`,
  ).run();
  return orphanSegments;
}

/**
 * About `n` of a pack's vectors, picked at random: the background a query's scores are measured
 * against (search/background.ts). Each pick is the first vector at or after a random segment id,
 * an index seek, so a million-vector library costs what a small one does.
 */
export function sampleEmbeddings(db: Db, modelId: string, n: number): Float32Array[] {
  if (embeddingCount(db, modelId) <= n)
    return [...iterateEmbeddings(db, modelId)].flat().map((r) => r.vector);
  const range = statement(
    db,
    'SELECT MIN(segment_id) AS lo, MAX(segment_id) AS hi FROM embeddings WHERE model_id = ?',
  ).get(modelId) as { lo: number; hi: number };
  const seek = statement(
    db,
    'SELECT segment_id AS id, vector FROM embeddings WHERE model_id = ? AND segment_id >= ? ORDER BY segment_id LIMIT 1',
  );
  const picked = new Map<number, Float32Array>();
  for (let i = 0; i < n; i++) {
    const at = range.lo + Math.floor(Math.random() * (range.hi - range.lo + 1));
    const row = seek.get(modelId, at) as { id: number; vector: Buffer } | undefined;
    if (row && !picked.has(row.id)) picked.set(row.id, blobToVector(row.vector));
  }
  return [...picked.values()];
}
