import type { RootInfo } from '../../../app/api.js';
import { MEDIA_KINDS, type MediaKind } from '../../../app/modality.js';
import type { Filters } from '../../../app/query.js';
import { basename, dayToMs } from '../lib/format.js';
import type { SearchOptions } from '../state/chips.js';

export const K_CHOICES = [20, 50, 100, 200, 500, 1000] as const;

function msToDay(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

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
        <span className="muted">Folder</span>
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
      <label className="filter">
        <span className="muted">From</span>
        <input
          className="input small"
          type="date"
          value={msToDay(f.dateFrom)}
          onChange={(e) => setFilters({ dateFrom: dayToMs(e.currentTarget.value) })}
        />
      </label>
      <label className="filter">
        <span className="muted">To</span>
        <input
          className="input small"
          type="date"
          value={msToDay(f.dateTo)}
          onChange={(e) => setFilters({ dateTo: dayToMs(e.currentTarget.value, true) })}
        />
      </label>
    </>
  );
}

function CountAndLevel({
  options,
  onChange,
}: {
  options: SearchOptions;
  onChange: (o: SearchOptions) => void;
}) {
  return (
    <>
      <label className="filter">
        <span className="muted">Show</span>
        <select
          className="input small"
          value={options.k}
          aria-label="Number of results"
          onChange={(e) => onChange({ ...options, k: Number(e.currentTarget.value) })}
        >
          {K_CHOICES.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </label>
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
    </>
  );
}

/** Filters (kind, folder, dates), how many results, and files vs. moments. */
export function FiltersBar({
  options,
  onChange,
  roots,
}: {
  options: SearchOptions;
  onChange: (o: SearchOptions) => void;
  roots: RootInfo[];
}) {
  const f = options.filters;
  const setFilters: SetFilters = (patch) => onChange({ ...options, filters: { ...f, ...patch } });
  return (
    <div className="filters" role="toolbar" aria-label="Result filters">
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
      <span className="filters-spacer" />
      <CountAndLevel options={options} onChange={onChange} />
    </div>
  );
}
