// Size: the preview's players and moment seeking share one piece of state.
import { useEffect, useRef, useState, type KeyboardEvent, type SyntheticEvent } from 'react';
import type { FileInfo } from '../../../app/api.js';
import type { SearchHit } from '../../../app/query.js';
import { toClientError } from '../api/client.js';
import { useClient } from '../api/context.js';
import {
  basename,
  formatBytes,
  formatDate,
  formatScore,
  formatTime,
  formatTimePrecise,
} from '../lib/format.js';
import type { SearchRequest } from '../state/chips.js';
import { Dialog } from './Dialog.js';
import { Icon } from './Icons.js';
import { Attribution } from './ResultTile.js';
import { useFilePeaks, Waveform } from './Waveform.js';
import { matchCaption } from '../lib/match.js';
import { posterVariant, waveHighlight, waveSpan } from '../lib/moment.js';

function useFileInfo(fileId: number): { info: FileInfo | null; error: string | null } {
  const client = useClient();
  const [state, setState] = useState<{ info: FileInfo | null; error: string | null }>({
    info: null,
    error: null,
  });
  useEffect(() => {
    let live = true;
    setState({ info: null, error: null });
    client.fileInfo({ fileId }).then(
      (info) => live && setState({ info, error: null }),
      (e: unknown) => live && setState({ info: null, error: toClientError(e).message }),
    );
    return () => {
      live = false;
    };
  }, [client, fileId]);
  return state;
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}

function PreviewWave({
  hit,
  duration,
  onSeek,
}: {
  hit: SearchHit;
  duration: number | null;
  onSeek: (t: number) => void;
}) {
  const peaks = useFilePeaks(hit.fileId, 400);
  if (peaks === 'error') return null;
  if (!peaks) return <div className="preview-wave is-loading" aria-hidden="true" />;
  const hl = waveHighlight(hit.segment, duration);
  const span = waveSpan(duration);
  return (
    <div
      className="preview-wave"
      onClick={(e) => {
        if (!span) return;
        const r = e.currentTarget.getBoundingClientRect();
        onSeek(((e.clientX - r.left) / r.width) * span);
      }}
    >
      <Waveform
        peaks={peaks}
        highlight={hl}
        label={`Waveform of ${basename(hit.path)}; the matched moment is highlighted`}
      />
    </div>
  );
}

/** The media itself: a large image, or a player that starts at the matched moment. */
/** A file on a drive that is not connected, or deleted: its cached thumbnail, and where it was. */
function OfflineStage({ hit }: { hit: SearchHit }) {
  const client = useClient();
  const [thumb, setThumb] = useState(hit.kind !== 'audio');
  return (
    <div className="preview-stage is-offline" role="note">
      {thumb && (
        <img
          className="preview-image"
          src={client.mediaUrl(hit.fileId, 'thumb')}
          alt=""
          onError={() => setThumb(false)}
        />
      )}
      {hit.missing ? (
        <p className="offline-note">
          <strong>{basename(hit.path)}</strong> was deleted from <code>{hit.path}</code>. Bindery remembers it
          for a while, so a file moved elsewhere in your library is recognised without being read again.
        </p>
      ) : (
        <p className="offline-note">
          <strong>{basename(hit.path)}</strong> lives at <code>{hit.path}</code>, on a drive or share that is
          not connected. Connect it to open the file; it stays in your library and in search meanwhile.
        </p>
      )}
    </div>
  );
}

function PreviewMedia({ hit, duration }: { hit: SearchHit; duration: number | null }) {
  const client = useClient();
  const media = useRef<HTMLMediaElement | null>(null);
  const [imgSrc, setImgSrc] = useState(client.mediaUrl(hit.fileId, 'original'));
  const start = hit.segment?.start ?? 0;
  const onMeta = (e: SyntheticEvent<HTMLMediaElement>) => {
    if (start > 0) e.currentTarget.currentTime = start;
  };
  const seek = (t: number, play = false) => {
    const el = media.current;
    if (!el) return;
    el.currentTime = t;
    if (play) void el.play().catch(() => undefined);
  };
  if (hit.offline || hit.missing) return <OfflineStage hit={hit} />;
  if (hit.kind === 'image') {
    return (
      <div className="preview-stage">
        <img
          className="preview-image"
          src={imgSrc}
          alt={basename(hit.path)}
          onError={() => setImgSrc(client.mediaUrl(hit.fileId, 'thumb'))}
        />
      </div>
    );
  }
  const src = client.mediaUrl(hit.fileId, 'original');
  return (
    <div className={`preview-stage is-${hit.kind}`}>
      {hit.kind === 'video' ? (
        <video
          ref={(el) => void (media.current = el)}
          className="preview-video"
          src={src}
          poster={client.mediaUrl(hit.fileId, posterVariant(hit))}
          controls
          preload="metadata"
          onLoadedMetadata={onMeta}
          data-start={start}
        />
      ) : (
        <>
          <PreviewWave hit={hit} duration={duration} onSeek={(t) => seek(t)} />
          <audio
            ref={(el) => void (media.current = el)}
            className="preview-audio"
            src={src}
            controls
            preload="metadata"
            onLoadedMetadata={onMeta}
            data-start={start}
          />
        </>
      )}
      {hit.segment && (
        <button type="button" className="button" onClick={() => seek(start, true)}>
          <Icon name="play" /> Play from the match ({formatTimePrecise(start)})
        </button>
      )}
    </div>
  );
}

export interface PreviewProps {
  hit: SearchHit;
  index: number;
  total: number;
  termChips: SearchRequest['termChips'];
  onNavigate: (delta: number) => void;
  onClose: () => void;
  onMoreLike: (hit: SearchHit, weight: number) => void;
}

/** Where a date came from, said plainly (the tooltip on the date). */
const DATE_SOURCE_TEXT: Record<SearchHit['dateSource'], string> = {
  exif: 'when the photo was taken, from its EXIF data',
  container: 'when the video was recorded, from its container',
  tags: 'the recording’s date tag',
  mtime: 'the file’s modification time (its bytes state no capture date)',
};

function Facts({ hit, info }: { hit: SearchHit; info: FileInfo | null }) {
  return (
    <dl className="facts">
      <dt>Kind</dt>
      <dd>{hit.kind}</dd>
      {hit.segmentId > 0 && (
        <>
          <dt>Score</dt>
          <dd>{formatScore(hit.score)}</dd>
        </>
      )}
      {hit.segment && hit.kind !== 'image' && (
        <>
          <dt>Matched</dt>
          <dd>
            {formatTimePrecise(hit.segment.start)}–{formatTimePrecise(hit.segment.end)} (
            {hit.segment.modality})
          </dd>
        </>
      )}
      {info?.durationS != null && (
        <>
          <dt>Duration</dt>
          <dd>{formatTime(info.durationS)}</dd>
        </>
      )}
      <dt>Size</dt>
      <dd>{formatBytes(hit.size)}</dd>
      <dt>{hit.dateSource === 'mtime' ? 'Modified' : 'Taken'}</dt>
      <dd title={DATE_SOURCE_TEXT[hit.dateSource]}>{formatDate(hit.takenMs)}</dd>
      {info?.place && (
        <>
          <dt>Place</dt>
          <dd>
            {info.place.lat.toFixed(4)}, {info.place.lon.toFixed(4)}
          </dd>
        </>
      )}
      {hit.copies > 0 && (
        <>
          <dt>Copies</dt>
          <dd>{hit.copies} more with the same content</dd>
        </>
      )}
    </dl>
  );
}

function PreviewNav({
  index,
  total,
  onNavigate,
}: {
  index: number;
  total: number;
  onNavigate: (d: number) => void;
}) {
  return (
    <div className="preview-nav">
      <button
        type="button"
        className="icon-button"
        aria-label="Previous result"
        disabled={index <= 0}
        onClick={() => onNavigate(-1)}
      >
        <Icon name="chevronLeft" />
      </button>
      {index >= 0 && (
        <span className="muted">
          {index + 1} / {total}
        </span>
      )}
      <button
        type="button"
        className="icon-button"
        aria-label="Next result"
        disabled={index < 0 || index >= total - 1}
        onClick={() => onNavigate(1)}
      >
        <Icon name="chevronRight" />
      </button>
    </div>
  );
}

function PreviewActions({
  hit,
  onMoreLike,
}: {
  hit: SearchHit;
  onMoreLike: (hit: SearchHit, w: number) => void;
}) {
  const client = useClient();
  const [note, setNote] = useState<string | null>(null);
  const copy = () =>
    copyText(hit.path).then(
      () => setNote('Path copied'),
      () => setNote('Could not copy'),
    );
  const reveal = () => client.reveal?.(hit.fileId).catch((e: unknown) => setNote(toClientError(e).message));
  return (
    <>
      <div className="preview-actions">
        {hit.segmentId > 0 && (
          <>
            <button type="button" className="button primary" onClick={() => onMoreLike(hit, 0.5)}>
              <Icon name="thumbUp" /> More like this
            </button>
            <button type="button" className="button" onClick={() => onMoreLike(hit, -0.5)}>
              <Icon name="thumbDown" /> Less like this
            </button>
          </>
        )}
        <button type="button" className="button" onClick={() => void copy()}>
          <Icon name="copy" /> Copy path
        </button>
        {client.reveal && (
          <button type="button" className="button" onClick={() => void reveal()}>
            <Icon name="reveal" /> Reveal in folder
          </button>
        )}
      </div>
      <p className="preview-note" role="status" aria-live="polite">
        {note}
      </p>
    </>
  );
}

/** How strong a match this is, in words (the pack's match signal), with the raw score beside. */
function MatchStrength({ hit }: { hit: SearchHit }) {
  return (
    <p className="preview-match">
      {matchCaption(hit)}
      {hit.strong !== null && <span className="muted"> · similarity {hit.score.toFixed(3)}</span>}
    </p>
  );
}

/** A result in full, with "more / less like this", copy path and reveal. ←/→ step through results. */
export function Preview({ hit, index, total, termChips, onNavigate, onClose, onMoreLike }: PreviewProps) {
  const { info, error } = useFileInfo(hit.fileId);
  const onKey = (e: KeyboardEvent) => {
    const t = e.target as HTMLElement;
    if (t.closest('input, textarea, select, audio, video')) return;
    if (e.key === 'ArrowRight' && index >= 0 && index < total - 1) onNavigate(1);
    if (e.key === 'ArrowLeft' && index > 0) onNavigate(-1);
  };
  return (
    <Dialog
      title={basename(hit.path)}
      onClose={onClose}
      className="preview"
      actions={<PreviewNav index={index} total={total} onNavigate={onNavigate} />}
      onKeyDown={onKey}
    >
      <div className="preview-body" data-file-id={hit.fileId}>
        <PreviewMedia key={`${hit.fileId}:${hit.segmentId}`} hit={hit} duration={info?.durationS ?? null} />
        <aside className="preview-side">
          <p className="preview-path" title={hit.path}>
            {hit.path}
          </p>
          <Facts hit={hit} info={info} />
          {error && <p className="error-text">{error}</p>}
          {hit.segmentId > 0 && (
            <>
              <h3 className="side-title">What each input added</h3>
              <MatchStrength hit={hit} />
              <Attribution hit={hit} termChips={termChips} />
            </>
          )}
          <PreviewActions key={hit.fileId} hit={hit} onMoreLike={onMoreLike} />
        </aside>
      </div>
    </Dialog>
  );
}
