import type { EncoderModality } from '../../../app/modality.js';
import { meanDirection } from '../../../app/vector-math.js';
import type { SegmentSpec } from '../../../app/modality.js';
import type { WriterPack } from './ports.js';
import type { EncodeWork } from '../modalities/segments.js';
import type { Prepared } from './prepare.js';
import type { QueuedJob } from '../catalogue/files.js';

export interface SegmentVector {
  segment: SegmentSpec;
  vector: Float32Array;
}

export type Encoded<J = QueuedJob> =
  | { prepared: Extract<Prepared<J>, { type: 'new' }>; vectors: SegmentVector[] }
  | { prepared: Exclude<Prepared<J>, { type: 'new' }> };

/** What encoding needs of the writer pack: its runtime. */
type Encoder = Pick<WriterPack, 'runtime'>;

/**
 * Encodes the new files of a batch with one model call per modality (files share batches, which
 * is where the throughput is). If a shared call fails, each file is retried alone so that one bad
 * input fails one file.
 */
export async function encodeBatch<J>(writer: Encoder, batch: Prepared<J>[]): Promise<Encoded<J>[]> {
  const fresh = batch.filter((p): p is Extract<Prepared<J>, { type: 'new' }> => p.type === 'new');
  let rows: Map<EncodeWork, Float32Array[]>;
  try {
    rows = await embedWorks(
      writer,
      fresh.flatMap((p) => p.decoded.works),
    );
  } catch {
    return Promise.all(batch.map(async (p) => encodeAlone(writer, p)));
  }
  return batch.map((p) =>
    p.type === 'new' ? { prepared: p, vectors: segmentVectors(p.decoded.works, rows) } : { prepared: p },
  );
}

async function encodeAlone<J>(writer: Encoder, p: Prepared<J>): Promise<Encoded<J>> {
  if (p.type !== 'new') return { prepared: p };
  try {
    const rows = await embedWorks(writer, p.decoded.works);
    return { prepared: p, vectors: segmentVectors(p.decoded.works, rows) };
  } catch (e) {
    const error = `encoder failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
    return { prepared: { job: p.job, type: 'failed', error, kind: p.decoded.kind } };
  }
}

/** One embed call per modality over the rows of every work (the runtime gathers them per run); returns each work's row vectors. */
async function embedWorks(writer: Encoder, works: EncodeWork[]): Promise<Map<EncodeWork, Float32Array[]>> {
  const out = new Map<EncodeWork, Float32Array[]>();
  const byModality = new Map<EncoderModality, EncodeWork[]>();
  for (const w of works) byModality.set(w.modality, [...(byModality.get(w.modality) ?? []), w]);
  for (const [modality, list] of byModality) {
    const vectors = await writer.runtime.embed(
      modality,
      list.map((w) => w.tensor),
    );
    let at = 0;
    for (const w of list) {
      out.set(w, vectors.slice(at, at + w.tensor.dims[0]));
      at += w.tensor.dims[0];
    }
  }
  return out;
}

/** Each segment is the mean direction of its rows (3 crops of a clip); the file level averages all rows. */
function segmentVectors(works: EncodeWork[], rows: Map<EncodeWork, Float32Array[]>): SegmentVector[] {
  return works.flatMap((w) => {
    const r = rows.get(w)!;
    const groups = w.groups.map((g) => ({
      segment: g.segment,
      vector: meanDirection(g.rows.map((i) => r[i])),
    }));
    return w.fileLevel ? [...groups, { segment: w.fileLevel, vector: meanDirection(r) }] : groups;
  });
}
