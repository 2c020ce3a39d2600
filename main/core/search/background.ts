import { matchSignalOf } from '../../../app/pack.js';
import type { SearchResponse } from '../../../app/query.js';
import { dot } from '../../../app/vector-math.js';
import { sampleEmbeddings } from '../catalogue/contents.js';
import type { Engine } from '../engine/engine.js';

/**
 * Good-match signals (docs/architecture.md §6): a query's scores against a random sample of the
 * library say what an unrelated result scores for this query, in this library, between these
 * modalities. A result is strong when it stands further above that background than the best of
 * the library's unrelated items would by chance (√(2 ln N) robust standard deviations, the
 * Gaussian maximum of N) plus the pack's margin. Robust statistics (median, MAD) keep the few
 * true matches inside the sample from moving the background.
 */

/** A score this close to 1 is the query's own content (a copy, the same frame): strong by any rule. */
const IDENTICAL = 0.995;
/** Fewer sampled vectors than this cannot say what "typical" is. */
const MIN_SAMPLE = 16;
/** A sample is drawn again when the library has grown or shrunk by this share, or after REFRESH_MS. */
const DRIFT = 0.1;
const REFRESH_MS = 10 * 60_000;

export type Signal = SearchResponse['signal'];

/** What a query's background says: the response's signal and a scorer for each result. */
export interface Judged {
  signal: Signal;
  judge(score: number): { strong: boolean | null; percentile: number | null };
}

interface Sample {
  key: string;
  count: number;
  at: number;
  vectors: Float32Array[];
}

const cannotTell = (reason: string): Judged => ({
  signal: { method: 'none', reason },
  judge: () => ({ strong: null, percentile: null }),
});

/** One per search service: the sample is kept between queries and drawn again when stale. */
export class Background {
  private sample: Sample | null = null;

  constructor(private readonly engine: Engine) {}

  /** Judges a query vector's results; `strongCount` is filled in by the caller. */
  judge(q: Float32Array): Judged {
    const signal = matchSignalOf(this.engine.serving.pack.manifest);
    if (signal.method === 'none') return cannotTell(signal.reason);
    const { vectors, count } = this.current(signal.sample);
    if (vectors.length < MIN_SAMPLE)
      return cannotTell(`the library is too small to tell (fewer than ${MIN_SAMPLE} indexed moments)`);
    return judgeAgainst(
      Float64Array.from(vectors, (v) => dot(q, v)),
      count,
      signal.margin,
    );
  }

  private current(size: number): Sample {
    const { id, index } = this.engine.serving;
    const count = index.count();
    const s = this.sample;
    const fresh =
      s && s.key === id && Math.abs(count - s.count) <= DRIFT * s.count && Date.now() - s.at < REFRESH_MS;
    if (fresh) return s;
    this.sample = { key: id, count, at: Date.now(), vectors: sampleEmbeddings(this.engine.db, id, size) };
    return this.sample;
  }
}

/**
 * The rule itself, on a query's scores against the sample (`sims`) in a library of `count`
 * vectors: strong above median + σ·(√(2 ln count) + margin), σ from the median absolute deviation
 * (or when identical to the query).
 */
export function judgeAgainst(sims: Float64Array, count: number, margin: number): Judged {
  const sorted = Float64Array.from(sims).sort();
  const median = quantile(sorted, 0.5);
  const mad = quantile(Float64Array.from(sorted, (s) => Math.abs(s - median)).sort(), 0.5);
  const sigma = Math.max(1.4826 * mad, 1e-6);
  const threshold = median + sigma * (Math.sqrt(2 * Math.log(Math.max(count, 2))) + margin);
  return {
    signal: { method: 'background', threshold, median, sampled: sorted.length, strongCount: 0 },
    judge: (score) => ({
      strong: score >= Math.min(threshold, IDENTICAL),
      percentile: below(sorted, score) / sorted.length,
    }),
  };
}

/** Sorted values' q-quantile (linear between neighbours). */
function quantile(sorted: Float64Array, q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo);
}

/** How many sorted values lie below x (binary search). */
function below(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
