import type { ReembedEstimate } from '../../../app/api.js';
import type { PackManifest } from '../../../app/pack.js';
import type { Db } from '../catalogue/open.js';
import { recentEmbeddings, unembeddedWork, type EmbeddedAt } from '../catalogue/pace.js';

/**
 * What switching to a pack costs (docs/architecture.md §4), so the model-packs dialog can say it
 * before a full re-embedding starts: the contents the pack lacks, and a time at the pace recorded
 * in the catalogue. No benchmark runs for it: loading a real pack's encoders alone takes minutes.
 */

/** Contents sampled for a pace: recent enough to reflect this machine and pack, enough to average. */
const SAMPLE = 2000;
/**
 * Commits further apart than this belong to different runs (the indexer commits about every 2 s,
 * docs/architecture.md §7), so the pause between two runs is never counted as work.
 */
const RUN_GAP_MS = 60_000;
/** Less measured time than this is one or two batches: too little to say anything. */
const MIN_MEASURED_MS = 250;

/**
 * Milliseconds per segment over a pack's recent commits: within each run, the time from its first
 * commit to its last, over the segments committed after the first (as the indexer's own batch
 * sizer paces itself, by time between commits). Null with too little on record.
 */
export function msPerSegment(rows: readonly EmbeddedAt[]): number | null {
  let ms = 0;
  let segments = 0;
  for (let i = 1; i < rows.length; i++) {
    const gap = rows[i].t - rows[i - 1].t;
    if (gap > RUN_GAP_MS) continue;
    ms += gap;
    segments += rows[i].segments;
  }
  return segments > 0 && ms >= MIN_MEASURED_MS ? ms / segments : null;
}

/** The pace for `packId`: its own record, else the active pack's (what this machine has shown). */
function paceFor(db: Db, packId: string, activeId: string): { ms: number; of: string } | null {
  for (const id of packId === activeId ? [packId] : [packId, activeId]) {
    const ms = msPerSegment(recentEmbeddings(db, id, SAMPLE));
    if (ms !== null) return { ms, of: id };
  }
  return null;
}

export function reembedEstimate(db: Db, packId: string, activeId: string): ReembedEstimate {
  const work = unembeddedWork(db, packId);
  const contents = Object.values(work.byKind).reduce((a, n) => a + n, 0);
  if (contents === 0) return { contents, byKind: work.byKind, seconds: 0, paceOf: null };
  const pace = paceFor(db, packId, activeId);
  return {
    contents,
    byKind: work.byKind,
    seconds: pace ? Math.round((pace.ms * work.segments) / 1000) : null,
    paceOf: pace?.of ?? null,
  };
}

/** Bytes of every file a manifest lists: graphs, their external weights and the tokenizer. */
export function manifestBytes(m: PackManifest): number {
  let bytes = m.tokenizer?.bytes ?? 0;
  for (const e of Object.values(m.encoders)) {
    if (!e) continue;
    bytes += e.onnx.bytes;
    for (const x of e.externalData ?? []) bytes += x.bytes;
  }
  return bytes;
}
