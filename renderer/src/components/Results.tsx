import { useEffect, useState, type ReactNode } from 'react';
import type { SearchHit, SearchResponse } from '../../../app/query.js';
import type { SearchState } from '../hooks/useSearch.js';
import { formatCount } from '../lib/format.js';
import { describeQuery, strongSplit } from '../lib/match.js';
import type { SearchRequest } from '../state/chips.js';
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

/** Whole seconds since the component mounted, ticking. */
function useElapsed(): number {
  const [seconds, setSeconds] = useState(0);
  useEffect(() => {
    const started = Date.now();
    const timer = setInterval(() => setSeconds(Math.floor((Date.now() - started) / 1000)), 250);
    return () => clearInterval(timer);
  }, []);
  return seconds;
}

/**
 * The first results on their way. After a second it says why this one is slow (the first search
 * after start loads the encoders; later ones take milliseconds) and how long it has waited.
 */
function Searching() {
  const seconds = useElapsed();
  return (
    <div className="state-box" aria-busy="true" role="status">
      <span className="spinner large" aria-hidden="true" />
      <p>Searching…</p>
      {seconds >= 1 && (
        <p className="muted searching-slow">
          {seconds} s — a first search loads the model’s encoders; the next ones take milliseconds.
        </p>
      )}
    </div>
  );
}

/** What the match signal says of this page: how many strong matches, or that none is good. */
function MatchNote({ response, request }: { response: SearchResponse; request: SearchRequest | null }) {
  const { signal } = response;
  // The test pack's own warning says more than "no match strength" would.
  if (signal.method === 'none' && response.notMeaningful) return null;
  if (signal.method === 'none')
    return (
      <span className="pill" title={signal.reason}>
        no match strength: {signal.reason.split(':')[0]}
      </span>
    );
  if (signal.strongCount > 0)
    return (
      <span className="pill ok">
        {formatCount(signal.strongCount)} strong {signal.strongCount === 1 ? 'match' : 'matches'}
      </span>
    );
  return (
    <span className="pill warn no-good-matches" role="note">
      No good matches{request ? ` for ${describeQuery(request)}` : ''} — the closest are shown
    </span>
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
  else if (!response) body = <Searching />;
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
        split={strongSplit(response, request?.query.sort !== 'date')}
        dividerLabel="Weaker matches — below what this pack calls a good match"
      />
    );
  return (
    <section
      id="results"
      tabIndex={-1}
      className="results"
      aria-label={hasQuery ? 'Search results' : 'Library timeline'}
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
          <MatchNote response={response} request={request} />
          {pending && <span className="spinner" aria-label="Updating" />}
          {response.notMeaningful && <span className="pill warn">random test-pack ranking</span>}
        </div>
      )}
      <div className="results-body">{body}</div>
    </section>
  );
}
