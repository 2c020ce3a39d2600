import { MEDIA_KINDS, type MediaKind } from '../../../app/modality.js';
import type { Db } from './open.js';
import { statement } from './statements.js';

/**
 * What a pack still has to embed, and how fast packs have embedded so far: the catalogue's side of
 * the estimate the model-packs dialog shows before a switch (docs/architecture.md §4).
 */

export interface PendingWork {
  byKind: Record<MediaKind, number>;
  /** Segments of those contents: the unit an encoder's cost grows with (a video has many, a photo one). */
  segments: number;
}

/** The indexed contents a pack has not embedded, by kind, with their segments. */
export function unembeddedWork(db: Db, modelId: string): PendingWork {
  const rows = statement(
    db,
    `SELECT c.kind AS kind, COUNT(*) AS n,
            SUM((SELECT COUNT(*) FROM segments s WHERE s.content_id = c.id)) AS segments
       FROM contents c
      WHERE c.id IN (SELECT content_id FROM files WHERE status = 'indexed')
        AND c.id NOT IN (SELECT content_id FROM content_models WHERE model_id = ?)
      GROUP BY c.kind`,
  ).all(modelId) as { kind: MediaKind; n: number; segments: number | null }[];
  const byKind = Object.fromEntries(MEDIA_KINDS.map((k) => [k, 0])) as Record<MediaKind, number>;
  let segments = 0;
  for (const r of rows) {
    byKind[r.kind] = r.n;
    segments += r.segments ?? 0;
  }
  return { byKind, segments };
}

/** One embedded content: when its batch was committed, and how many segments it has. */
export interface EmbeddedAt {
  t: number;
  segments: number;
}

/** A pack's most recently embedded contents, oldest first (at most `limit`). */
export function recentEmbeddings(db: Db, modelId: string, limit: number): EmbeddedAt[] {
  return statement(
    db,
    `SELECT r.t AS t, (SELECT COUNT(*) FROM segments s WHERE s.content_id = r.content_id) AS segments
       FROM (SELECT content_id, embedded_at AS t FROM content_models WHERE model_id = ?
              ORDER BY embedded_at DESC LIMIT ?) r
      ORDER BY r.t`,
  ).all(modelId, limit) as EmbeddedAt[];
}
