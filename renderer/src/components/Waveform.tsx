import { memo, useEffect, useState } from 'react';
import { useClient } from '../api/context.js';
import { cachedPeaks } from '../lib/peaks.js';

/** Mirrored peak bars; an optional highlighted range marks the matched moment (fractions 0…1). */
export const Waveform = memo(function Waveform({
  peaks,
  highlight,
  className,
  label,
}: {
  peaks: readonly number[];
  highlight?: { from: number; to: number } | null;
  className?: string;
  label?: string;
}) {
  const n = Math.max(1, peaks.length);
  const w = 100 / n;
  let d = '';
  for (let i = 0; i < peaks.length; i++) {
    const h = Math.max(0.02, Math.min(1, peaks[i])) * 46;
    d += `M${(i + 0.5) * w} ${50 - h}V${50 + h}`;
  }
  return (
    <svg
      className={`waveform ${className ?? ''}`}
      viewBox="0 0 100 100"
      preserveAspectRatio="none"
      role={label ? 'img' : undefined}
      aria-label={label}
      aria-hidden={label ? undefined : true}
    >
      {highlight && (
        <rect
          className="waveform-match"
          x={highlight.from * 100}
          y={0}
          width={Math.max(0.8, (highlight.to - highlight.from) * 100)}
          height={100}
        />
      )}
      <path d={d} strokeWidth={Math.max(0.3, w * 0.6)} />
    </svg>
  );
});

/** Loads a library file's peaks lazily (only tiles that are on screen mount this). */
export function useFilePeaks(fileId: number, points = 96): number[] | null | 'error' {
  const client = useClient();
  const [peaks, setPeaks] = useState<number[] | null | 'error'>(null);
  useEffect(() => {
    let live = true;
    cachedPeaks(`${fileId}:${points}`, () => client.waveform({ fileId, points }).then((r) => r.peaks)).then(
      (p) => live && setPeaks(p),
      () => live && setPeaks('error'),
    );
    return () => {
      live = false;
    };
  }, [client, fileId, points]);
  return peaks;
}
