import { momentVariant, type MediaVariant } from '../../../app/api.js';
import type { SearchHit } from '../../../app/query.js';

/** Waveform peaks cover a file's first ten minutes (core media/previews.ts, waveformPeaks). */
export const PEAKS_SPAN_S = 600;

/** The seconds a waveform drawing spans for a file of `durationS`. */
export function waveSpan(durationS: number | null): number | null {
  return durationS ? Math.min(durationS, PEAKS_SPAN_S) : null;
}

/** Where the matched moment lies on the file's waveform (fractions 0…1), or null. */
export function waveHighlight(
  segment: SearchHit['segment'],
  durationS: number | null,
): { from: number; to: number } | null {
  const span = waveSpan(durationS);
  if (!segment || !span || segment.start >= span) return null;
  return { from: segment.start / span, to: Math.min(1, segment.end / span) };
}

/** A video tile shows the frame of its matched moment (the clip's middle); anything else its thumbnail. */
export function posterVariant(hit: Pick<SearchHit, 'kind' | 'segment'>): MediaVariant {
  return hit.kind === 'video' && hit.segment
    ? momentVariant((hit.segment.start + hit.segment.end) / 2)
    : 'thumb';
}
