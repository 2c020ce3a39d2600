import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { dayToMs } from '../lib/format.js';

/** ms → the local yyyy-mm-dd a person reads and types. */
export function msToDay(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/**
 * What a person types into a date filter: a year ("2019"), a month ("2019-07") or a day
 * ("2019-07-14"; "/" and "." work as separators too), read as the first moment of that span — or
 * its last, for the end of a range. Empty is no filter (undefined); anything else is null.
 */
export function parseDay(text: string, endOfSpan = false): number | undefined | null {
  const t = text.trim();
  if (!t) return undefined;
  const m = /^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$/.exec(t);
  if (!m) return null;
  const [y, month, day] = [Number(m[1]), m[2] ? Number(m[2]) : undefined, m[3] ? Number(m[3]) : undefined];
  if (month !== undefined && (month < 1 || month > 12)) return null;
  if (day !== undefined && (day < 1 || day > new Date(y, month!, 0).getDate())) return null;
  if (!endOfSpan) return new Date(y, (month ?? 1) - 1, day ?? 1).getTime();
  // The last millisecond of the span: the day before the next day, month or year begins.
  const next =
    day !== undefined ? [y, month! - 1, day + 1] : month !== undefined ? [y, month, 1] : [y + 1, 0, 1];
  return new Date(next[0], next[1], next[2]).getTime() - 1;
}

function CalendarGlyph() {
  return (
    <svg width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2">
      <path d="M4 6h16v14H4z M4 10h16 M8 3v5 M16 3v5" />
    </svg>
  );
}

/** Opens the browser's own calendar for a (hidden) date input, where the browser can. */
function openPicker(input: HTMLInputElement | null): void {
  try {
    input?.showPicker?.();
  } catch {
    // No user activation or no picker (jsdom, older engines): typing still works.
  }
}

export interface DateFieldProps {
  /** Visible label ("From"); the accessible name adds " date". */
  label: string;
  value: number | undefined;
  /** The end of a range: a typed year or month means its last day. */
  endOfSpan?: boolean;
  onChange: (ms: number | undefined) => void;
}

/**
 * A date filter that takes one Tab stop (Chromium's <input type=date> takes three: day, month,
 * year): a text box that reads a year, a month or a day, committed on Enter or when focus leaves,
 * with the browser's calendar behind Alt+↓ or the calendar button for those who prefer to pick.
 */
export function DateField({ label, value, endOfSpan = false, onChange }: DateFieldProps) {
  const id = useId();
  const shown = msToDay(value);
  const [draft, setDraft] = useState(shown);
  const [invalid, setInvalid] = useState(false);
  const native = useRef<HTMLInputElement>(null);
  useEffect(() => {
    setDraft(shown);
    setInvalid(false);
  }, [shown]);
  const commit = () => {
    const ms = parseDay(draft, endOfSpan);
    setInvalid(ms === null);
    if (ms === null) return;
    setDraft(msToDay(ms));
    if (ms !== value) onChange(ms);
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') commit();
    else if (e.key === 'ArrowDown' && e.altKey) openPicker(native.current);
    else if (e.key === 'Escape' && draft !== shown) {
      setDraft(shown);
      setInvalid(false);
    } else return;
    e.preventDefault();
  };
  return (
    <span className="filter date-field">
      <label htmlFor={id} className="muted">
        {label}
        <span className="visually-hidden"> date</span>
      </label>
      <input
        id={id}
        type="text"
        className="input small date-text"
        value={draft}
        placeholder="yyyy-mm-dd"
        inputMode="numeric"
        autoComplete="off"
        spellCheck={false}
        aria-invalid={invalid || undefined}
        aria-describedby={`${id}-hint`}
        aria-keyshortcuts="Alt+ArrowDown"
        onChange={(e) => setDraft(e.currentTarget.value)}
        onBlur={commit}
        onKeyDown={onKey}
      />
      {/* Mouse only: the keyboard has Alt+↓, so neither the button nor the picker's input takes a Tab stop. */}
      <button
        type="button"
        className="date-pick"
        tabIndex={-1}
        aria-hidden="true"
        title="Choose from a calendar"
        onClick={() => openPicker(native.current)}
      >
        <CalendarGlyph />
      </button>
      <input
        ref={native}
        type="date"
        className="date-native"
        tabIndex={-1}
        aria-hidden="true"
        value={shown}
        onChange={(e) => onChange(dayToMs(e.currentTarget.value, endOfSpan))}
      />
      <span id={`${id}-hint`} className="visually-hidden">
        {invalid ? 'Not a date. ' : ''}Type a year, a month (2024-05) or a day (2024-05-31); Alt+Down opens a
        calendar.
      </span>
    </span>
  );
}
