// @vitest-environment jsdom
import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClientProvider } from '../../renderer/src/api/context.js';
import { Results, type ResultsProps } from '../../renderer/src/components/Results.js';
import { fakeHits, fakeResponse } from '../../renderer/src/dev/fake-client.js';
import type { SearchState } from '../../renderer/src/hooks/useSearch.js';
import { buildRequest, textChip } from '../../renderer/src/state/chips.js';
import { mockClient, stubLayout } from './helpers.js';

/** The results panel's states (issue 15): a slow first query, and what the match signal says. */

const request = buildRequest([textChip('a dog on a beach')], { k: 20, level: 'files', filters: {} })!;

function renderResults(search: Partial<SearchState>) {
  const props: ResultsProps = {
    search: { status: 'ready', response: null, request, error: null, pending: false, ...search },
    hasLibrary: true,
    hasQuery: true,
    activeIndex: -1,
    onActiveChange: vi.fn(),
    onOpen: vi.fn(),
    onRetry: vi.fn(),
    timeline: { filters: {}, refreshKey: '', activeIndex: -1, onActiveChange: vi.fn(), onOpen: vi.fn() },
  };
  return render(
    <ClientProvider client={mockClient(1).client}>
      <Results {...props} />
    </ClientProvider>,
  );
}

let restore: () => void;
beforeEach(() => (restore = stubLayout(1000, 800)));
afterEach(() => {
  cleanup();
  restore();
  vi.useRealTimers();
});

describe('results states', () => {
  it('says why a first search is slow once it has taken a second, and counts the seconds', () => {
    vi.useFakeTimers();
    renderResults({ status: 'loading' });
    expect(screen.getByRole('status').textContent).toBe('Searching…');
    act(() => void vi.advanceTimersByTime(2100));
    expect(screen.getByRole('status').textContent).toMatch(/2 s — a first search loads the model’s encoders/);
  });

  it('says “no good matches for …” with the query in words when nothing is strong', () => {
    const hits = fakeHits(5).map((h) => ({ ...h, strong: false }));
    renderResults({ response: fakeResponse(hits) });
    expect(screen.getByRole('note').textContent).toBe(
      'No good matches for “a dog on a beach” — the closest are shown',
    );
    expect(screen.queryByRole('rowheader')).toBeNull();
  });

  it('counts the strong matches and draws the divider after them', () => {
    const hits = fakeHits(8).map((h, i) => ({ ...h, strong: i < 3 }));
    renderResults({ response: fakeResponse(hits) });
    expect(screen.getByText('3 strong matches')).toBeTruthy();
    expect(screen.getByRole('rowheader').textContent).toMatch(/^Weaker matches/);
  });

  it('says nothing of strength for a pack that cannot tell, beyond its own warning', () => {
    const none = {
      method: 'none' as const,
      reason: 'the test pack has random weights: no score means a good match',
    };
    renderResults({ response: fakeResponse(fakeHits(4), { signal: none, notMeaningful: true }) });
    expect(screen.getByText('random test-pack ranking')).toBeTruthy();
    expect(screen.queryByRole('note')).toBeNull();
    expect(screen.queryByRole('rowheader')).toBeNull();
  });
});
