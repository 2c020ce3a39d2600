import { ApiError } from '../../../app/errors.js';
import type { Query, SearchHit, SearchResponse } from '../../../app/query.js';
import { combine, dot, termShares } from '../../../app/vector-math.js';
import { getEmbedding, segmentsByIds, type SegmentRow } from '../catalogue/contents.js';
import { fileFacts, filesOfContents, segmentIdsMatching, type FileRef } from '../catalogue/search-reads.js';
import type { Engine } from '../engine/engine.js';
import type { VectorHit } from '../vectors/index.js';
import type { Background } from './background.js';
import type { TermEncoder } from './term-encoder.js';

/** What a search service keeps between queries: the term cache and the library's background sample. */
export interface SearchContext {
  terms: TermEncoder;
  background: Background;
}

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

/**
 * Runs a query: embed terms (cached), combine, k-NN, group to files, then say of each result how
 * strong a match it is (background.ts) and what each term contributed.
 */
export async function search(engine: Engine, ctx: SearchContext, query: Query): Promise<SearchResponse> {
  const t0 = performance.now();
  const vectors = await Promise.all(query.terms.map((t, i) => encodeTerm(ctx.terms, t, i)));
  const weights = query.terms.map((t) => t.weight);
  const q = combine(vectors, weights);
  const { signal, judge } = ctx.background.judge(q);
  const results = rank(engine, q, query).map((r) => ({
    ...r,
    ...judge(r.score),
    ...attribution(engine, r.segmentId, vectors, weights),
  }));
  if (signal.method === 'background') signal.strongCount = results.filter((r) => r.strong).length;
  return {
    results,
    model: engine.serving.id,
    backend: engine.serving.index.backend,
    tookMs: Math.round((performance.now() - t0) * 100) / 100,
    notMeaningful: engine.serving.pack.manifest.testPack,
    signal,
  };
}

type Ranked = Omit<SearchHit, 'terms' | 'contributions' | 'strong' | 'percentile'>;

/**
 * Asks the index for more segments than results (a file has several), grouping to files, and
 * doubles the request until k results are found or the index is exhausted.
 */
function rank(engine: Engine, q: Float32Array, query: Query): Ranked[] {
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

function toResults(engine: Engine, hits: VectorHit[], query: Query): Ranked[] {
  const segments = segmentsByIds(
    engine.db,
    hits.map((h) => h.id),
  );
  const filesByContent = filesOfContents(
    engine.db,
    [...new Set([...segments.values()].map((s) => s.content_id))],
    query.filters,
  );
  const out: Ranked[] = [];
  const seen = new Map<number, Ranked>();
  for (const hit of hits) {
    const seg = segments.get(hit.id);
    const files = seg ? (filesByContent.get(seg.content_id) ?? []) : [];
    if (!seg || files.length === 0) continue;
    // Moments are clips; a photo (one file-level segment) is its own moment.
    if (query.level === 'segments' && seg.level === 'file' && files[0].kind !== 'image') continue;
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

function toHit(files: FileRef[], seg: SegmentRow, score: number): Ranked {
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

/** Each term's cosine with the result's own vector, and its signed, weighted share of the score. */
function attribution(
  engine: Engine,
  segmentId: number,
  termVectors: Float32Array[],
  weights: number[],
): Pick<SearchHit, 'terms' | 'contributions'> {
  const v = getEmbedding(engine.db, segmentId, engine.serving.id);
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  if (!v) return { terms: termVectors.map(() => 0), contributions: termVectors.map(() => 0) };
  return {
    terms: termVectors.map((t) => round(dot(t, v))),
    contributions: termShares(termVectors, weights, v).map(round),
  };
}
