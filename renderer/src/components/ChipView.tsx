import { memo, type KeyboardEvent } from 'react';
import type { Chip, ChipKind } from '../state/chips.js';
import { KIND_LABEL } from '../lib/modality.js';
import { Icon, type IconName } from './Icons.js';
import { Waveform } from './Waveform.js';
import { WeightSlider } from './WeightSlider.js';

const KIND_ICON: Record<ChipKind, IconName> = {
  text: 'text',
  image: 'image',
  audio: 'audio',
  video: 'video',
  depth: 'depth',
  thermal: 'thermal',
  imu: 'imu',
  segment: 'segment',
};

function ChipThumb({ chip }: { chip: Chip }) {
  if (chip.thumbUrl) return <img className="chip-thumb" src={chip.thumbUrl} alt="" draggable={false} />;
  if (chip.peaks) {
    return (
      <span className="chip-thumb chip-thumb-wave">
        <Waveform peaks={chip.peaks} />
      </span>
    );
  }
  return (
    <span className={`chip-thumb chip-thumb-icon kind-${chip.kind}`}>
      <Icon name={KIND_ICON[chip.kind]} size={20} />
    </span>
  );
}

/** Label, "off" marker, and the modality (a menu when the guess is ambiguous). */
function ChipHead({ chip, onKind }: { chip: Chip; onKind: (id: string, kind: ChipKind) => void }) {
  return (
    <div className="chip-head">
      <span className="chip-label" title={chip.path ?? chip.label}>
        {chip.label}
      </span>
      {chip.weight === 0 && chip.state === 'ready' && <span className="pill">off</span>}
      {chip.candidates.length > 1 ? (
        <select
          className="chip-kind-select"
          value={chip.kind}
          aria-label={`Search “${chip.label}” as`}
          onChange={(e) => onKind(chip.id, e.currentTarget.value as ChipKind)}
        >
          {chip.candidates.map((k) => (
            <option key={k} value={k}>
              {KIND_LABEL[k]}
            </option>
          ))}
        </select>
      ) : (
        <span className={`badge kind-${chip.kind}`}>{KIND_LABEL[chip.kind]}</span>
      )}
    </div>
  );
}

/**
 * One query input: thumbnail, label, modality (switchable when ambiguous), weight and remove.
 * Delete or Backspace on the focused chip removes it.
 */
export const ChipView = memo(function ChipView({
  chip,
  onWeight,
  onKind,
  onRemove,
}: {
  chip: Chip;
  onWeight: (id: string, w: number) => void;
  onKind: (id: string, kind: ChipKind) => void;
  onRemove: (id: string) => void;
}) {
  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    if ((e.key === 'Delete' || e.key === 'Backspace') && e.target === e.currentTarget) {
      e.preventDefault();
      onRemove(chip.id);
    }
  };
  const off = chip.weight === 0 || chip.state !== 'ready';
  return (
    <div
      className={`chip state-${chip.state}${off ? ' is-off' : ''}${chip.weight < 0 ? ' is-negative' : ''}`}
      role="group"
      aria-label={`${KIND_LABEL[chip.kind]} term: ${chip.label}`}
      tabIndex={0}
      onKeyDown={onKey}
      data-chip-id={chip.id}
      data-kind={chip.kind}
    >
      <ChipThumb chip={chip} />
      <div className="chip-body">
        <ChipHead chip={chip} onKind={onKind} />
        {chip.state === 'resolving' && (
          <span className="chip-note" role="status">
            <span className="spinner" aria-hidden="true" /> Preparing…
          </span>
        )}
        {chip.state === 'error' && (
          <span className="chip-note chip-error" role="alert">
            {chip.error ?? 'This input cannot be used'}
          </span>
        )}
        {chip.state !== 'error' && (
          <WeightSlider
            value={chip.weight}
            onChange={(w) => onWeight(chip.id, w)}
            label={chip.label}
            disabled={chip.state !== 'ready'}
          />
        )}
      </div>
      <button
        type="button"
        className="icon-button chip-remove"
        aria-label={`Remove ${chip.label}`}
        title="Remove (Delete)"
        onClick={() => onRemove(chip.id)}
      >
        <Icon name="close" size={14} />
      </button>
    </div>
  );
});
