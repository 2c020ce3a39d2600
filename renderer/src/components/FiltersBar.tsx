import { useRef, useState, type ReactNode } from 'react';
import type { RootInfo } from '../../../app/api.js';
import { MEDIA_KINDS, type MediaKind } from '../../../app/modality.js';
import type { Filters } from '../../../app/query.js';
import { useElementWidth } from '../hooks/useElementSize.js';
import { basename } from '../lib/format.js';
import type { SearchOptions } from '../state/chips.js';
import { DateField } from './DateField.js';

export const K_CHOICES = [20, 50, 100, 200, 500, 1000] as const;

const KIND_WORD: Record<MediaKind, string> = { image: 'Photos', audio: 'Audio', video: 'Video' };

type SetFilters = (patch: Partial<Filters>) => void;

function KindToggles({ kinds, setFilters }: { kinds: MediaKind[]; setFilters: SetFilters }) {
  const toggle = (k: MediaKind) => {
    const next = kinds.includes(k) ? kinds.filter((x) => x !== k) : [...kinds, k];
    setFilters({ kinds: next.length ? next : undefined });
  };
  return (
    <div className="segmented" role="group" aria-label="Kinds">
      {MEDIA_KINDS.map((k) => (
        <button
          key={k}
          type="button"
          className={kinds.includes(k) ? 'is-on' : undefined}
          aria-pressed={kinds.includes(k)}
          onClick={() => toggle(k)}
        >
          {KIND_WORD[k]}
        </button>
      ))}
    </div>
  );
}

function FolderAndDates({ f, roots, setFilters }: { f: Filters; roots: RootInfo[]; setFilters: SetFilters }) {
  return (
    <>
      <label className="filter">
        {/* "All folders" says what the box is; the word stays for screen readers. */}
        <span className="visually-hidden">Folder</span>
        <select
          className="input small"
          value={f.roots?.[0] ?? ''}
          onChange={(e) =>
            setFilters({ roots: e.currentTarget.value ? [Number(e.currentTarget.value)] : undefined })
          }
        >
          <option value="">All folders</option>
          {roots.map((r) => (
            <option key={r.id} value={r.id}>
              {basename(r.path)}
            </option>
          ))}
        </select>
      </label>
      <DateField label="From" value={f.dateFrom} onChange={(dateFrom) => setFilters({ dateFrom })} />
      <DateField label="To" value={f.dateTo} endOfSpan onChange={(dateTo) => setFilters({ dateTo })} />
    </>
  );
}

function Count({ options, onChange }: { options: SearchOptions; onChange: (o: SearchOptions) => void }) {
  return (
    <label className="filter">
      <span className="visually-hidden">Show</span>
      <select
        className="input small"
        value={options.k}
        aria-label="Number of results"
        onChange={(e) => onChange({ ...options, k: Number(e.currentTarget.value) })}
      >
        {K_CHOICES.map((k) => (
          <option key={k} value={k}>
            {k} results
          </option>
        ))}
      </select>
    </label>
  );
}

function Level({ options, onChange }: { options: SearchOptions; onChange: (o: SearchOptions) => void }) {
  return (
    <div className="segmented" role="radiogroup" aria-label="Result level">
      {(['files', 'segments'] as const).map((level) => (
        <button
          key={level}
          type="button"
          role="radio"
          aria-checked={options.level === level}
          className={options.level === level ? 'is-on' : undefined}
          onClick={() => onChange({ ...options, level })}
          title={level === 'files' ? 'One result per file (its best moment)' : 'Every matching moment'}
        >
          {level === 'files' ? 'Files' : 'Moments'}
        </button>
      ))}
    </div>
  );
}

/** How many filters narrow the results now (shown on the button that folds them away). */
function activeCount(f: Filters): number {
  return [f.kinds, f.roots, f.dateFrom, f.dateTo, f.includeMissing].filter((v) => v !== undefined).length;
}

/**
 * The bar's width (px) below which the fields fold behind a button: narrower, they would wrap onto
 * two or three rows and take the results' height (a 1024 px window with the library panel open).
 */
const FOLD_BELOW = 900;

/** In a narrow window the filters fold behind one button, so the results keep the height. */
function FoldButton({ open, count, onToggle }: { open: boolean; count: number; onToggle: () => void }) {
  return (
    <button
      type="button"
      className="button small ghost fold-toggle"
      aria-expanded={open}
      aria-controls="filter-fields"
      onClick={onToggle}
    >
      Filters{count > 0 && <span className="pill accent">{count}</span>}
      <span className="chevron" aria-hidden="true" />
    </button>
  );
}

/** Filters (kind, folder, dates), how many results, and files vs. moments. */
export function FiltersBar({
  options,
  onChange,
  roots,
  leading,
}: {
  options: SearchOptions;
  onChange: (o: SearchOptions) => void;
  roots: RootInfo[];
  /** Shown first on the bar (the library panel's toggle). */
  leading?: ReactNode;
}) {
  const bar = useRef<HTMLDivElement>(null);
  const width = useElementWidth(bar);
  // An unknown width (nothing laid out yet, or jsdom) leaves the fields unfolded.
  const narrow = width > 0 && width < FOLD_BELOW;
  const [unfolded, setUnfolded] = useState(false);
  const open = !narrow || unfolded;
  const f = options.filters;
  const setFilters: SetFilters = (patch) => onChange({ ...options, filters: { ...f, ...patch } });
  return (
    <div ref={bar} className="filters" role="toolbar" aria-label="Result filters">
      {leading}
      {narrow && <FoldButton open={open} count={activeCount(f)} onToggle={() => setUnfolded((u) => !u)} />}
      <div id="filter-fields" className="filter-fields" hidden={!open}>
        <KindToggles kinds={f.kinds ?? []} setFilters={setFilters} />
        <FolderAndDates f={f} roots={roots} setFilters={setFilters} />
        <label className="filter-check" title="Files deleted from disk that the catalogue still remembers">
          <input
            type="checkbox"
            checked={f.includeMissing ?? false}
            onChange={(e) => setFilters({ includeMissing: e.currentTarget.checked || undefined })}
          />
          Show deleted
        </label>
        <Count options={options} onChange={onChange} />
      </div>
      <span className="filters-spacer" />
      <Level options={options} onChange={onChange} />
    </div>
  );
}
