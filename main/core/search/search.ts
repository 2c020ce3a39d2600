import { ApiError } from '../../../app/errors.js';
import type { Query, SearchHit, SearchResponse } from '../../../app/query.js';
import { combine, dot } from '../../../app/vector-math.js';
import { getEmbedding, segmentsByIds, type SegmentRow } from '../catalogue/contents.js';
import { fileFacts, filesOfContents, segmentIdsMatching, type FileRef } from '../catalogue/search-reads.js';
import type { Engine } from '../engine/engine.js';
import type { VectorHit } from '../vectors/index.js';
import type { TermEncoder } from './term-encoder.js';

/** Runs a query: embed terms (cached), combine, k-NN, group to files, attribute scores to terms. */
/**
 * One term's vector; a term that cannot be embedded is the user's input, not an engine fault: a 4xx
 * that says which term (by position, with its kind) and why, so the app can mark that input.
 */
async function encodeTerm(
  terms: TermEncoder,
  term: Query['terms'][number],
  i: number,
): Promise<Float32Array> {
  try {
    return await terms.encode(term);
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    const code = e instanceof ApiError && e.code !== 'failed' ? e.code : 'invalid_request';
    throw new ApiError(code, `term ${i + 1} (${term.modality}): ${why}`, [
      { path: `terms.${i}`, message: why },
    ]);
  }
}

export async function search(engine: Engine, terms: TermEncoder, query: Query): Promise<SearchResponse> {
  const t0 = performance.now();
  const vectors = await Promise.all(query.terms.map((t, i) => encodeTerm(terms, t, i)));
  const q = combine(
    vectors,
    query.terms.map((t) => t.weight),
  );
  const results = rank(engine, q, query).map((r) => ({
    ...r,
    terms: attribution(engine, r.segmentId, vectors),
  }));
  return {
    results,
    model: engine.serving.id,
    backend: engine.serving.index.backend,
    tookMs: Math.round((performance.now() - t0) * 100) / 100,
    notMeaningful: engine.serving.pack.manifest.testPack,
  };
}

/**
 * Asks the index for more segments than results (a file has several), grouping to files, and
 * doubles the request until k results are found or the index is exhausted.
 */
function rank(engine: Engine, q: Float32Array, query: Query): Omit<SearchHit, 'terms'>[] {
  const allow = allowedSegments(engine, query);
  const index = engine.serving.index;
  const total = index.count();
  let want = query.level === 'files' ? query.k * 4 + 16 : query.k;
  for (;;) {
    const hits = index.search(q, {
      k: Math.min(want, total),
      // A small allow-set is searched member by member; a large one acts as a predicate.
      allowIds: allow,
    });
    const results = toResults(engine, hits, query);
    if (results.length >= query.k || want >= total) return sorted(results.slice(0, query.k), query.sort);
    want *= 4;
  }
}

/** The k best, in the order asked for: by score as ranked, or newest first. */
function sorted<T extends { takenMs: number }>(results: T[], sort: Query['sort']): T[] {
  return sort === 'date' ? results.sort((a, b) => b.takenMs - a.takenMs) : results;
}

function allowedSegments(engine: Engine, query: Query): Set<number> | undefined {
  if (!Object.values(query.filters).some((v) => v !== undefined)) return undefined;
  return new Set(segmentIdsMatching(engine.db, query.filters));
}

function toResults(engine: Engine, hits: VectorHit[], query: Query): Omit<SearchHit, 'terms'>[] {
  const segments = segmentsByIds(
    engine.db,
    hits.map((h) => h.id),
  );
  const filesByContent = filesOfContents(
    engine.db,
    [...new Set([...segments.values()].map((s) => s.content_id))],
    query.filters,
  );
  const out: Omit<SearchHit, 'terms'>[] = [];
  const seen = new Map<number, Omit<SearchHit, 'terms'>>();
  for (const hit of hits) {
    const seg = segments.get(hit.id);
    if (!seg || (query.level === 'segments' && seg.level === 'file')) continue;
    const files = filesByContent.get(seg.content_id) ?? [];
    if (files.length === 0) continue;
    const prior = seen.get(seg.content_id);
    if (query.level === 'files' && prior) {
      // Hits come best first: a later clip of the same file only adds the moment if none was known.
      if (!prior.segment && seg.level === 'clip') prior.segment = moment(seg);
      continue;
    }
    const row = toHit(files, seg, hit.score);
    seen.set(seg.content_id, row);
    out.push(row);
  }
  return out;
}

function toHit(files: FileRef[], seg: SegmentRow, score: number): Omit<SearchHit, 'terms'> {
  const f = files[0];
  return {
    ...fileFacts(f),
    score,
    segmentId: seg.id,
    segment: seg.level === 'clip' ? moment(seg) : null,
    copies: files.length - 1,
    mtimeMs: f.mtime_ms,
  };
}

function moment(seg: SegmentRow): SearchHit['segment'] {
  return { start: seg.t_start, end: seg.t_end, modality: seg.modality };
}

/** Cosine between each term and the result's own vector: which inputs drove this match. */
function attribution(engine: Engine, segmentId: number, termVectors: Float32Array[]): number[] {
  const v = getEmbedding(engine.db, segmentId, engine.serving.id);
  if (!v) return termVectors.map(() => 0);
  return termVectors.map((t) => Math.round(dot(t, v) * 1e4) / 1e4);
}
