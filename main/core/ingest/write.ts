import type { MediaKind } from '../../../app/modality.js';
import { emptySummary, type IndexSummary } from '../../../app/indexing.js';
import {
  isEmbedded,
  markEmbedded,
  putEmbedding,
  upsertContent,
  upsertSegment,
} from '../catalogue/contents.js';
import { hasMissingTwin, markFailed, markIndexed } from '../catalogue/files.js';
import type { IngestPorts } from './ports.js';
import type { Encoded } from './encode.js';

/**
 * Commits a whole batch — file states, contents, segments, vectors, the vector index and the
 * removal of the batch's jobs — in one SQLite transaction. A kill before the commit leaves the jobs
 * queued and nothing written; after it, everything. Returns the batch's counts.
 */
export function writeBatch(ports: IngestPorts, batch: Encoded[]): IndexSummary {
  const { db } = ports;
  const writer = ports.writer;
  const delta = emptySummary();
  const link = (fileId: number, contentId: number, kind: MediaKind) => {
    markIndexed(db, fileId, contentId, kind);
    delta.indexed++;
    if (hasMissingTwin(db, contentId, fileId)) delta.moved++;
  };
  db.transaction(() => {
    const vectors: { id: number; vector: Float32Array }[] = [];
    for (const e of batch) {
      const p = e.prepared;
      if (p.type === 'failed') {
        markFailed(db, p.job.file.id, p.error, p.kind);
        delta.failed++;
      } else if (p.type === 'reuse') link(p.job.file.id, p.contentId, p.kind);
      else if ('vectors' in e) {
        const { kind, durationS, capture } = p.decoded;
        const contentId = upsertContent(db, { hash: p.hash, size: p.size, kind, durationS, capture });
        // A copy of a file embedded earlier in this same batch shares its vectors.
        if (!isEmbedded(db, contentId, writer.id)) {
          for (const sv of e.vectors) {
            const id = upsertSegment(db, contentId, sv.segment);
            putEmbedding(db, id, writer.id, sv.vector);
            vectors.push({ id, vector: sv.vector });
          }
          markEmbedded(db, contentId, writer.id);
          delta.embedded += e.vectors.length;
        }
        link(p.job.file.id, contentId, p.decoded.kind);
      }
    }
    if (vectors.length > 0) writer.index.add(vectors);
  })();
  return delta;
}

export function addSummary(into: IndexSummary, delta: IndexSummary): void {
  for (const key of Object.keys(delta) as (keyof IndexSummary)[]) into[key] += delta[key];
}
