import type { SearchHit, SearchResponse } from '../../../app/query.js';
import type { SearchRequest } from '../state/chips.js';

/**
 * Scores as a person reads them (docs/architecture.md §6): "strong" or "weak" by the pack's match
 * signal, and where the result stands in the library ("top 1 %"), instead of a raw cosine. A pack
 * that cannot tell (the test pack) shows the cosine.
 */

/** 0.9987 → "top 0.2 %"; 0.7 → "top 30 %". */
export function formatTop(percentile: number): string {
  const top = Math.max(0, 1 - percentile) * 100;
  if (top >= 1) return `top ${Math.round(top)} %`;
  return `top ${Math.max(0.1, Number(top.toPrecision(1)))} %`;
}

/** The tile's caption: "Strong · top 1 %", "Weak · top 40 %", or the cosine. */
export function matchCaption(hit: Pick<SearchHit, 'strong' | 'percentile' | 'score'>): string {
  if (hit.strong === null || hit.percentile === null) return hit.score.toFixed(3);
  return `${hit.strong ? 'Strong' : 'Weak'} · ${formatTop(hit.percentile)}`;
}

/** Where strong results end and weak ones begin, when the grid should draw a line there. */
export function strongSplit(response: SearchResponse, sortedByScore: boolean): number | null {
  const { signal, results } = response;
  if (!sortedByScore || signal.method !== 'background') return null;
  return signal.strongCount > 0 && signal.strongCount < results.length ? signal.strongCount : null;
}

/** "+0.21" / "−0.04": a term's share of the score, signed. */
export function formatShare(share: number): string {
  const v = Math.abs(share).toFixed(2);
  return share < 0 ? `−${v}` : `+${v}`;
}

/** “sunset” + waves.wav − daylight: the query in words, for "no good matches for …". */
export function describeQuery(request: SearchRequest): string {
  return request.termChips
    .map((chip, i) => {
      const w = request.query.terms[i]?.weight ?? 1;
      const label = chip.kind === 'text' ? `“${chip.label}”` : chip.label;
      return `${i === 0 ? (w < 0 ? '− ' : '') : w < 0 ? ' − ' : ' + '}${label}`;
    })
    .join('');
}
