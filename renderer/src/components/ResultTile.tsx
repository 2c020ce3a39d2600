import { memo, useState } from 'react';
import type { SearchHit } from '../../../app/query.js';
import { useClient } from '../api/context.js';
import { basename, formatScore, formatTime } from '../lib/format.js';
import type { SearchRequest } from '../state/chips.js';
import { Icon } from './Icons.js';
import { useFilePeaks, Waveform } from './Waveform.js';

type TermChips = SearchRequest['termChips'];

function TileWave({ fileId }: { fileId: number }) {
  const peaks = useFilePeaks(fileId);
  if (peaks === 'error') return <Icon name="audio" size={36} className="tile-fallback" />;
  if (!peaks) return <span className="tile-wave-loading" aria-hidden="true" />;
  return <Waveform peaks={peaks} className="tile-wave" />;
}

function TileMedia({ hit }: { hit: SearchHit }) {
  const client = useClient();
  const [failed, setFailed] = useState(false);
  if (hit.kind === 'audio') return <TileWave fileId={hit.fileId} />;
  if (failed) return <Icon name={hit.kind} size={36} className="tile-fallback" />;
  return (
    <img
      className="tile-img"
      src={client.mediaUrl(hit.fileId, 'thumb')}
      alt=""
      loading="lazy"
      decoding="async"
      draggable={false}
      onError={() => setFailed(true)}
    />
  );
}

/** Per-term cosines, labelled by chip: which inputs pulled this result up (or pushed it down). */
export function Attribution({ hit, termChips }: { hit: SearchHit; termChips: TermChips }) {
  if (!hit.terms.length) return null;
  return (
    <ul className="attrib" aria-label="Similarity to each query term">
      {hit.terms.map((cos, i) => {
        const chip = termChips[i];
        return (
          <li key={chip?.id ?? i} className={cos < 0 ? 'is-negative' : undefined}>
            <span className="attrib-label">{chip?.label ?? `term ${i + 1}`}</span>
            <span className="attrib-bar" aria-hidden="true">
              <span style={{ width: `${Math.min(100, Math.abs(cos) * 100)}%` }} />
            </span>
            <span className="attrib-value">{cos.toFixed(2)}</span>
          </li>
        );
      })}
    </ul>
  );
}

export function hitLabel(hit: SearchHit): string {
  const at = hit.segment && hit.kind !== 'image' ? `, at ${formatTime(hit.segment.start)}` : '';
  const offline = hit.offline ? ', offline' : hit.missing ? ', deleted' : '';
  return `${basename(hit.path)}, ${hit.kind}, score ${formatScore(hit.score)}${at}${offline}`;
}

/** One result: a fixed-size media box (so nothing shifts while thumbnails load) and a caption. */
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
  /** Shown instead of the score (the timeline shows the time of day). */
  caption?: string;
  index: number;
  active: boolean;
  width: number;
  mediaHeight: number;
  termChips: TermChips;
  idPrefix: string;
  onClick: (index: number) => void;
}) {
  const moment = hit.segment && hit.kind !== 'image' ? formatTime(hit.segment.start) : null;
  return (
    <div
      role="gridcell"
      id={`${idPrefix}-${index}`}
      aria-selected={active}
      aria-label={hitLabel(hit)}
      className={`tile${active ? ' is-active' : ''}`}
      style={{ width }}
      data-index={index}
      data-file-id={hit.fileId}
      data-kind={hit.kind}
      data-score={hit.score}
      data-start={hit.segment?.start ?? ''}
      data-name={basename(hit.path)}
      onClick={() => onClick(index)}
    >
      <div className={`tile-media kind-${hit.kind}`} style={{ height: mediaHeight }}>
        <TileMedia hit={hit} />
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
        <div className="tile-attrib">
          <Attribution hit={hit} termChips={termChips} />
        </div>
      </div>
      <div className="tile-meta">
        <span className="tile-name" title={hit.path}>
          {basename(hit.path)}
        </span>
        {caption !== undefined ? (
          <span className="tile-score">{caption}</span>
        ) : (
          <span className="tile-score" title="Cosine similarity to the query">
            {formatScore(hit.score)}
          </span>
        )}
      </div>
    </div>
  );
});
