import { memo, useState } from 'react';
import type { SearchHit } from '../../../app/query.js';
import { useClient } from '../api/context.js';
import { basename, formatTime } from '../lib/format.js';
import { formatShare, matchCaption } from '../lib/match.js';
import { posterVariant, waveHighlight } from '../lib/moment.js';
import type { SearchRequest } from '../state/chips.js';
import { Icon } from './Icons.js';
import { useFilePeaks, Waveform } from './Waveform.js';
import './tiles.css';

type TermChips = SearchRequest['termChips'];

function TileWave({ hit }: { hit: SearchHit }) {
  const peaks = useFilePeaks(hit.fileId);
  if (peaks === 'error') return <Icon name="audio" size={36} className="tile-fallback" />;
  if (!peaks) return <span className="tile-wave-loading" aria-hidden="true" />;
  return (
    <Waveform peaks={peaks} className="tile-wave" highlight={waveHighlight(hit.segment, hit.durationS)} />
  );
}

/** A photo's thumbnail, or a video's frame at the matched moment (its poster if that fails). */
function TileMedia({ hit }: { hit: SearchHit }) {
  const client = useClient();
  const [variants, setVariants] = useState(() => [...new Set([posterVariant(hit), 'thumb' as const])]);
  if (hit.kind === 'audio') return <TileWave hit={hit} />;
  if (variants.length === 0) return <Icon name={hit.kind} size={36} className="tile-fallback" />;
  return (
    <img
      className="tile-img"
      src={client.mediaUrl(hit.fileId, variants[0])}
      alt=""
      loading="lazy"
      decoding="async"
      draggable={false}
      onError={() => setVariants((v) => v.slice(1))}
    />
  );
}

const shareText = (hit: SearchHit, termChips: TermChips) =>
  hit.contributions.map((c, i) => `${termChips[i]?.label ?? `term ${i + 1}`} ${formatShare(c)}`).join(', ');

/**
 * Each input's signed, weighted share of the score as one bar: positive shares from the left in
 * the chips' order, negative ones (pushed down) hatched at the end. Only for queries of several
 * inputs, where it says which of them this result owes its place to.
 */
function TileShares({ hit, termChips }: { hit: SearchHit; termChips: TermChips }) {
  if (hit.contributions.length < 2) return null;
  const total = hit.contributions.reduce((a, c) => a + Math.abs(c), 0) || 1;
  const order = hit.contributions.map((c, i) => ({ c, i })).sort((a, b) => Number(a.c < 0) - Number(b.c < 0));
  return (
    <span className="tile-shares" title={shareText(hit, termChips)} aria-hidden="true">
      {order.map(({ c, i }) => (
        <span
          key={termChips[i]?.id ?? i}
          className={`share term-${i % 6}${c < 0 ? ' is-negative' : ''}`}
          style={{ width: `${(Math.abs(c) / total) * 100}%` }}
        />
      ))}
    </span>
  );
}

/** Each input's signed, weighted share of the score, labelled by chip (the preview's list). */
export function Attribution({ hit, termChips }: { hit: SearchHit; termChips: TermChips }) {
  if (!hit.contributions.length) return null;
  const most = Math.max(...hit.contributions.map(Math.abs), 1e-6);
  return (
    <ul className="attrib" aria-label="What each input added to the score">
      {hit.contributions.map((c, i) => {
        const chip = termChips[i];
        return (
          <li key={chip?.id ?? i} className={c < 0 ? 'is-negative' : undefined}>
            <span className="attrib-label">{chip?.label ?? `term ${i + 1}`}</span>
            <span className="attrib-bar" aria-hidden="true">
              <span style={{ width: `${(Math.abs(c) / most) * 100}%` }} />
            </span>
            <span className="attrib-value" title={`similarity ${hit.terms[i]?.toFixed(3)}`}>
              {formatShare(c)}
            </span>
          </li>
        );
      })}
    </ul>
  );
}

function TileBadges({ hit }: { hit: SearchHit }) {
  const moment = hit.segment && hit.kind !== 'image' ? formatTime(hit.segment.start) : null;
  return (
    <>
      <span className={`badge tile-kind kind-${hit.kind}`}>{hit.kind}</span>
      {hit.offline && (
        <span className="badge tile-offline" title="Its drive or share is not connected">
          offline
        </span>
      )}
      {hit.missing && (
        <span className="badge tile-offline" title="Deleted from disk; the catalogue still remembers it">
          deleted
        </span>
      )}
      {hit.kind === 'video' && <Icon name="play" size={22} className="tile-play" />}
      {moment && <span className="tile-moment">{moment}</span>}
    </>
  );
}

// A fixed-size media box (so nothing shifts while thumbnails load) and a caption.
/**
 * One result. Its accessible name comes from what it shows, in order (kind, state, moment, name,
 * match), so what a sighted user reads is what a screen reader says (WCAG 2.5.3, checked by axe).
 */
export const ResultTile = memo(function ResultTile({
  hit,
  index,
  active,
  width,
  mediaHeight,
  termChips,
  idPrefix,
  caption,
  onClick,
}: {
  hit: SearchHit;
  /** Shown instead of the match (the timeline shows the time of day). */
  caption?: string;
  index: number;
  active: boolean;
  width: number;
  mediaHeight: number;
  termChips: TermChips;
  idPrefix: string;
  onClick: (index: number) => void;
}) {
  return (
    <div
      role="gridcell"
      id={`${idPrefix}-${index}`}
      aria-selected={active}
      className={`tile${active ? ' is-active' : ''}${hit.strong === false ? ' is-weak' : ''}`}
      style={{ width }}
      data-index={index}
      data-file-id={hit.fileId}
      data-kind={hit.kind}
      data-score={hit.score}
      data-strong={hit.strong ?? ''}
      data-start={hit.segment?.start ?? ''}
      data-name={basename(hit.path)}
      onClick={() => onClick(index)}
    >
      <div className={`tile-media kind-${hit.kind}`} style={{ height: mediaHeight }}>
        <TileMedia hit={hit} />
        <TileBadges hit={hit} />
      </div>
      <div className="tile-meta">
        <span className="tile-name" title={hit.path}>
          {basename(hit.path)}
        </span>
        <span className="tile-score" title={`Cosine similarity ${hit.score.toFixed(3)}`}>
          {caption ?? matchCaption(hit)}
        </span>
      </div>
      {caption === undefined && <TileShares hit={hit} termChips={termChips} />}
    </div>
  );
});
