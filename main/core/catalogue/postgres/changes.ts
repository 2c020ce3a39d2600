import type pg from 'pg';
import type { RemoteContents, RemoteFiles } from '../store.js';
import { inTransaction } from './connect.js';
import { packTable } from './vectors.js';

/**
 * The reads an app's replica pulls from the shared catalogue (ReplicaSource in ../store.ts,
 * docs/architecture.md §13). Change tracking is migration 2's `changed_xid`: the transaction that
 * last changed a file's shown facts.
 */

export async function changedFiles(
  pool: pg.Pool,
  rootId: number,
  since: string,
  afterId: number,
  limit: number,
): Promise<RemoteFiles> {
  // The watermark is read before the rows: a transaction older than it has ended, so its rows are
  // in this read; a younger one's rows carry an id at or above it and come again next time.
  const { rows: mark } = await pool.query<{ w: string }>(
    'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS w',
  );
  const { rows } = await pool.query<RemoteFiles['files'][number]>(
    `SELECT id, rel, size, mtime_ms AS "mtimeMs", content_id AS "contentId", kind, status, error,
            taken_ms AS "takenMs", taken_source AS "takenSource"
       FROM files WHERE root_id = $1 AND changed_xid >= $2::xid8 AND id > $3 ORDER BY id LIMIT $4`,
    [rootId, since, afterId, limit],
  );
  return { files: rows, watermark: mark[0].w };
}

/** One snapshot (REPEATABLE READ), so a content's pack mark and its vectors agree. */
export async function remoteContents(
  pool: pg.Pool,
  packId: string,
  packKnown: boolean,
  ids: readonly number[],
): Promise<RemoteContents> {
  if (ids.length === 0) return { contents: [], segments: [], vectors: [], embedded: [] };
  return inTransaction(pool, async (c) => {
    await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const contents = await c.query<RemoteContents['contents'][number]>(
      `SELECT id, hash, size, kind, duration_s AS "durationS", taken_ms AS "takenMs",
              taken_source AS "takenSource", lat, lon
         FROM contents WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [ids],
    );
    const segments = await c.query<RemoteContents['segments'][number]>(
      `SELECT id, content_id AS "contentId", modality, level, t_start AS "tStart", t_end AS "tEnd", crop
         FROM segments WHERE content_id = ANY($1::bigint[]) ORDER BY id`,
      [ids],
    );
    if (!packKnown) return { contents: contents.rows, segments: segments.rows, vectors: [], embedded: [] };
    const embedded = await c.query<{ id: number }>(
      'SELECT content_id AS id FROM content_packs WHERE pack_id = $1 AND content_id = ANY($2::bigint[])',
      [packId, ids],
    );
    const vectors = await c.query<{ segmentId: number; v: string }>(
      `SELECT e.segment_id AS "segmentId", e.v::text AS v FROM ${packTable(packId)} e
         JOIN segments s ON s.id = e.segment_id WHERE s.content_id = ANY($1::bigint[])`,
      [ids],
    );
    return {
      contents: contents.rows,
      segments: segments.rows,
      // pgvector prints each float32 in its shortest exact form: the parse gives back the same bits.
      vectors: vectors.rows.map((r) => ({
        segmentId: r.segmentId,
        vector: Float32Array.from(JSON.parse(r.v)),
      })),
      embedded: embedded.rows.map((r) => r.id),
    };
  });
}
