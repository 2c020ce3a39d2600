// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClientProvider } from '../../renderer/src/api/context.js';
import { gridLayout, ResultsGrid } from '../../renderer/src/components/ResultsGrid.js';
import { fakeHits } from '../../renderer/src/dev/fake-client.js';
import { mockClient, stubLayout } from './helpers.js';

const HITS = fakeHits(100_000);
const TERMS = [
  { id: 'c1', label: 'dog.jpg', kind: 'image' as const },
  { id: 'c2', label: 'barking', kind: 'text' as const },
];
const HITS_2 = HITS.map((h) => ({ ...h, terms: [0.81, 0.24], contributions: [0.81, -0.12] }));

function renderGrid(props: Partial<Parameters<typeof ResultsGrid>[0]> = {}) {
  const { client } = mockClient(10);
  const onOpen = vi.fn();
  const onActiveChange = vi.fn();
  const view = render(
    <ClientProvider client={client}>
      <ResultsGrid
        hits={HITS_2}
        termChips={TERMS}
        activeIndex={-1}
        onActiveChange={onActiveChange}
        onOpen={onOpen}
        {...props}
      />
    </ClientProvider>,
  );
  return { ...view, onOpen, onActiveChange };
}

const cells = () => screen.queryAllByRole('gridcell');
const indices = () => cells().map((c) => Number(c.dataset.index));

let restore: () => void;
beforeEach(() => {
  restore = stubLayout(1000, 800);
});
afterEach(() => {
  cleanup();
  restore();
});

describe('results grid', () => {
  it('lays out as many columns as fit, with fixed 4:3 media boxes', () => {
    expect(gridLayout(1000, 180)).toEqual({ columns: 5, tileWidth: 185, mediaHeight: 139, rowHeight: 199 });
    expect(gridLayout(150, 180).columns).toBe(1);
  });

  it('renders only the visible rows of 100,000 results', () => {
    renderGrid();
    const grid = screen.getByRole('grid', { name: 'Results' });
    expect(grid.getAttribute('aria-rowcount')).toBe('20000');
    expect(grid.getAttribute('aria-colcount')).toBe('5');
    const n = cells().length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(60); // ~5 rows on screen + overscan
    expect(indices()[0]).toBe(0);
    // The inner box is as tall as every row, so the scrollbar is honest.
    expect(parseInt((grid.firstElementChild as HTMLElement).style.height, 10)).toBeGreaterThan(199 * 19_999);
  });

  it('renders the rows under the scroll position, and only those', () => {
    renderGrid();
    const grid = screen.getByRole('grid');
    act(() => {
      grid.scrollTop = 199 * 10_000;
      fireEvent.scroll(grid);
    });
    const idx = indices();
    expect(idx.length).toBeLessThanOrEqual(60); // ~5 rows on screen + overscan either side
    expect(Math.min(...idx)).toBeGreaterThanOrEqual(5 * 9_990);
    expect(Math.max(...idx)).toBeLessThan(5 * 10_010);
  });

  it('labels each tile with kind, match and moment, and shows each input’s signed share', () => {
    renderGrid();
    const third = cells().find((c) => c.dataset.index === '2')!;
    // Named by what it shows, in order: kind, moment, name, match.
    expect(screen.getByRole('gridcell', { name: 'video 0:04 video-000003.mp4 Strong · top 0.1 %' })).toBe(
      third,
    );
    expect(third.querySelector('.tile-moment')!.textContent).toBe('0:04');
    expect(third.querySelector('.tile-score')!.textContent).toBe('Strong · top 0.1 %');
    const shares = third.querySelector('.tile-shares')!;
    expect(shares.getAttribute('title')).toBe('dog.jpg +0.81, barking −0.12');
    const bars = Array.from(shares.querySelectorAll('.share')) as HTMLElement[];
    expect(bars.map((b) => b.classList.contains('is-negative'))).toEqual([false, true]);
    expect(parseFloat(bars[0].style.width)).toBeCloseTo((0.81 / 0.93) * 100, 1);
  });

  it('shows a video tile at its matched moment, not at its first frame', () => {
    renderGrid();
    const third = cells().find((c) => c.dataset.index === '2')!;
    // The fake client's media URLs name the variant; fakeHits puts this clip at 0:04–0:06.
    expect(third.querySelector('img')!.getAttribute('src')).toMatch(/at5000/);
  });

  it('draws a divider where strong matches end, and the keys cross it by column', () => {
    const { onActiveChange, rerender } = renderGrid({ split: 3, dividerLabel: 'Weaker matches' });
    expect(screen.getByRole('rowheader').textContent).toBe('Weaker matches');
    const grid = screen.getByRole('grid');
    const { client } = mockClient(1);
    const at = (activeIndex: number) =>
      rerender(
        <ClientProvider client={client}>
          <ResultsGrid
            hits={HITS_2}
            termChips={TERMS}
            activeIndex={activeIndex}
            onActiveChange={onActiveChange}
            onOpen={vi.fn()}
            split={3}
          />
        </ClientProvider>,
      );
    // 5 columns: strong 0–2 on the first row, weak ones from 3 on the row after the divider.
    at(1);
    fireEvent.keyDown(grid, { key: 'ArrowDown' });
    expect(onActiveChange).toHaveBeenLastCalledWith(4);
    at(4);
    fireEvent.keyDown(grid, { key: 'ArrowUp' });
    expect(onActiveChange).toHaveBeenLastCalledWith(1);
    at(6);
    fireEvent.keyDown(grid, { key: 'ArrowUp' });
    expect(onActiveChange).toHaveBeenLastCalledWith(2);
  });

  it('moves with the arrow keys and opens with Enter', () => {
    const { onActiveChange, onOpen, rerender } = renderGrid();
    const grid = screen.getByRole('grid');
    fireEvent.keyDown(grid, { key: 'ArrowRight' });
    expect(onActiveChange).toHaveBeenLastCalledWith(0);
    const { client } = mockClient(1);
    rerender(
      <ClientProvider client={client}>
        <ResultsGrid
          hits={HITS_2}
          termChips={TERMS}
          activeIndex={7}
          onActiveChange={onActiveChange}
          onOpen={onOpen}
        />
      </ClientProvider>,
    );
    expect(grid.getAttribute('aria-activedescendant')).toMatch(/-7$/);
    expect(
      cells()
        .find((c) => c.dataset.index === '7')!
        .getAttribute('aria-selected'),
    ).toBe('true');
    fireEvent.keyDown(grid, { key: 'ArrowDown' });
    expect(onActiveChange).toHaveBeenLastCalledWith(12);
    fireEvent.keyDown(grid, { key: 'ArrowUp' });
    expect(onActiveChange).toHaveBeenLastCalledWith(2);
    fireEvent.keyDown(grid, { key: 'Home' });
    expect(onActiveChange).toHaveBeenLastCalledWith(5);
    fireEvent.keyDown(grid, { key: 'End', ctrlKey: true });
    expect(onActiveChange).toHaveBeenLastCalledWith(99_999);
    fireEvent.keyDown(grid, { key: 'Enter' });
    expect(onOpen).toHaveBeenLastCalledWith(7);
  });

  it('opens a result on click', () => {
    const { onOpen, onActiveChange } = renderGrid();
    fireEvent.click(cells().find((c) => c.dataset.index === '3')!);
    expect(onActiveChange).toHaveBeenLastCalledWith(3);
    expect(onOpen).toHaveBeenLastCalledWith(3);
  });
});
