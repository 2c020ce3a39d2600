import type { ReactNode } from 'react';
import type { SearchHit } from '../../../app/query.js';
import type { SearchState } from '../hooks/useSearch.js';
import { formatCount } from '../lib/format.js';
import { Icon } from './Icons.js';
import { ResultsGrid } from './ResultsGrid.js';
import { Timeline, type TimelineProps } from './Timeline.js';

function StateBox({
  icon,
  title,
  children,
  tone,
}: {
  icon: Parameters<typeof Icon>[0]['name'];
  title: string;
  children?: ReactNode;
  tone?: 'error';
}) {
  return (
    <div
      className={`state-box${tone === 'error' ? ' is-error' : ''}`}
      role={tone === 'error' ? 'alert' : undefined}
    >
      <Icon name={icon} size={36} className="state-icon" />
      <h3>{title}</h3>
      {children}
    </div>
  );
}

export function EmptyQuery({ hasLibrary }: { hasLibrary: boolean }) {
  if (!hasLibrary) {
    return (
      <StateBox icon="folder" title="Your library is empty">
        <p>Add a folder on the left, then index it. Photos, recordings and videos all land in one space.</p>
      </StateBox>
    );
  }
  return (
    <StateBox icon="search" title="Search by words, pictures and sounds">
      <p>
        Drop a photo, a recording, a video clip, a depth or thermal image, or an IMU CSV onto the box above —
        or type a few words. Each input becomes a chip with a weight: slide it up to pull results towards it,
        below zero to push them away.
      </p>
      <ul className="examples">
        <li>
          <Icon name="image" /> a photo of your dog{' '}
          <span className="muted">→ every picture, clip and bark of it</span>
        </li>
        <li>
          <Icon name="audio" /> waves.wav <Icon name="plus" /> “sunset”{' '}
          <span className="muted">→ evening beach videos</span>
        </li>
        <li>
          <Icon name="text" /> “city street” <span className="muted">−0.5 “night”</span>
        </li>
      </ul>
    </StateBox>
  );
}

export interface ResultsProps {
  search: SearchState;
  hasLibrary: boolean;
  hasQuery: boolean;
  resetKey?: string;
  activeIndex: number;
  onActiveChange: (i: number) => void;
  onOpen: (i: number) => void;
  onRetry: () => void;
  /** Before any query, the library as a timeline. */
  timeline: Omit<TimelineProps, 'empty'>;
}

/** The results panel: its header, the grid, and the loading, empty and error states. */
export function Results({
  search,
  hasLibrary,
  hasQuery,
  resetKey,
  activeIndex,
  onActiveChange,
  onOpen,
  onRetry,
  timeline,
}: ResultsProps) {
  const { response, request, status, error, pending } = search;
  let body: ReactNode;
  if (!hasQuery)
    body = hasLibrary ? (
      <Timeline {...timeline} empty={<EmptyQuery hasLibrary />} />
    ) : (
      <EmptyQuery hasLibrary={false} />
    );
  else if (status === 'error' && error)
    body = (
      <StateBox icon="warning" title="The search failed" tone="error">
        <p>{error}</p>
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      </StateBox>
    );
  else if (!response)
    body = (
      <div className="state-box" aria-busy="true">
        <span className="spinner large" aria-hidden="true" />
        <p>Searching…</p>
      </div>
    );
  else if (response.results.length === 0)
    body = (
      <StateBox icon="search" title="Nothing matched">
        <p>{hasLibrary ? 'Try fewer filters, or index more folders.' : 'Index a folder first.'}</p>
      </StateBox>
    );
  else
    body = (
      <ResultsGrid
        hits={response.results as SearchHit[]}
        termChips={request?.termChips ?? []}
        activeIndex={activeIndex}
        onActiveChange={onActiveChange}
        onOpen={onOpen}
        resetKey={resetKey}
      />
    );
  return (
    <section
      id="results"
      tabIndex={-1}
      className="results"
      aria-label={hasQuery ? 'Search results' : 'Library'}
      aria-busy={pending}
    >
      {hasQuery && response && (
        <div className="results-header" role="status" aria-live="polite">
          <span>
            <strong>{formatCount(response.results.length)}</strong> results
          </span>
          <span className="muted">
            {response.tookMs.toFixed(0)} ms · {response.backend}
          </span>
          {pending && <span className="spinner" aria-label="Updating" />}
          {response.notMeaningful && <span className="pill warn">random test-pack ranking</span>}
        </div>
      )}
      <div className="results-body">{body}</div>
    </section>
  );
}
