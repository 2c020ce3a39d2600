import { useEffect, useId, useState, type CSSProperties, type KeyboardEvent } from 'react';
import { clampWeight } from '../state/chips.js';

/** "+0.50", "−0.25", "0.00": a signed value that reads well next to a slider. */
export function formatWeight(w: number): string {
  if (w === 0) return '0.00';
  return `${w > 0 ? '+' : '−'}${Math.abs(w).toFixed(2)}`;
}

export function weightMeaning(w: number): string {
  if (w === 0) return 'off';
  return w > 0 ? 'adds to the query' : 'subtracts from the query';
}

/**
 * A term's weight from −1 to +1 in steps of 0.05: a range slider (drag, arrows, Page keys,
 * Home = −1, End = +1) and a numeric field for exact values. 0 switches the term off.
 */
export function WeightSlider({
  value,
  onChange,
  label,
  disabled = false,
}: {
  value: number;
  onChange: (w: number) => void;
  label: string;
  disabled?: boolean;
}) {
  const id = useId();
  const [draft, setDraft] = useState(value.toFixed(2));
  useEffect(() => setDraft(value.toFixed(2)), [value]);

  const commit = (text: string) => {
    const n = Number(text.replace('−', '-'));
    if (text.trim() === '' || !Number.isFinite(n)) return setDraft(value.toFixed(2));
    const w = clampWeight(n);
    setDraft(w.toFixed(2));
    if (w !== value) onChange(w);
  };
  const onNumberKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') commit(e.currentTarget.value);
    else if (e.key === 'Escape') setDraft(value.toFixed(2));
    else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      e.preventDefault();
      const w = clampWeight(value + (e.key === 'ArrowUp' ? 0.05 : -0.05));
      if (w !== value) onChange(w);
    }
  };
  const style = { '--w': value } as CSSProperties;
  return (
    <div
      className={`weight ${value === 0 ? 'is-off' : value < 0 ? 'is-negative' : 'is-positive'}`}
      style={style}
    >
      <input
        id={id}
        className="weight-range"
        type="range"
        min={-1}
        max={1}
        step={0.05}
        value={value}
        disabled={disabled}
        aria-label={`Weight of ${label}`}
        aria-valuetext={`${formatWeight(value)}, ${weightMeaning(value)}`}
        onChange={(e) => onChange(clampWeight(Number(e.currentTarget.value)))}
        onDoubleClick={() => onChange(value === 0 ? 1 : 0)}
      />
      <input
        className="weight-number"
        type="text"
        role="spinbutton"
        aria-valuemin={-1}
        aria-valuemax={1}
        aria-valuenow={value}
        inputMode="decimal"
        spellCheck={false}
        value={draft}
        disabled={disabled}
        aria-label={`Weight of ${label} (number)`}
        onChange={(e) => setDraft(e.currentTarget.value)}
        onBlur={(e) => commit(e.currentTarget.value)}
        onKeyDown={onNumberKey}
      />
    </div>
  );
}
