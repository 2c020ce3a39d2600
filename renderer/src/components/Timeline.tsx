import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useId, useMemo, useRef, useState, type ReactNode } from 'react';
import type { TimelineItem, TimelinePage } from '../../../app/api.js';
import type { Filters, SearchHit } from '../../../app/query.js';
import { useClient } from '../api/context.js';
import { useElementWidth } from '../hooks/useElementSize.js';
import { formatCount } from '../lib/format.js';
import { timelineHit, timelineRows, type TimelineRow } from '../lib/timeline.js';
import { GRID_GAP, GRID_PADDING, gridLayout, type GridLayout } from './ResultsGrid.js';
import { ResultTile } from './ResultTile.js';

const PAGE = 300;
const MONTH_HEIGHT = 44;
const DAY_HEIGHT = 30;
const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** Pages of the library, newest first, reloaded from the top when the filters or the library change. */
function useTimeline(filters: Filters, refreshKey: string) {
  const client = useClient();
  const [items, setItems] = useState<TimelineItem[]>([]);
  const [next, setNext] = useState<TimelinePage['next']>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loading = useRef(false);
  // Each reload starts a generation; a page loaded for an older one is dropped, never appended.
  const generation = useRef(0);
  const filterKey = JSON.stringify(filters);
  useEffect(() => {
    let live = true;
    const gen = ++generation.current;
    loading.current = false;
    // Reload as many items as are shown, so a refresh while scrolled down keeps the place.
    const limit = Math.min(1000, Math.max(PAGE, items.length));
    client.browse({ limit, filters }).then(
      (page) => {
        if (!live || gen !== generation.current) return;
        setItems(page.items);
        setNext(page.next);
        setTotal(page.total);
        setError(null);
      },
      (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
    // items.length only sizes the reload; it is not a reason to reload.
  }, [client, filterKey, refreshKey]);
  const loadMore = useCallback(() => {
    if (!next || loading.current) return;
    loading.current = true;
    const gen = generation.current;
    client
      .browse({ limit: PAGE, after: next, filters })
      .then((page) => {
        if (gen !== generation.current) return;
        setItems((prev) => {
          const known = new Set(prev.map((i) => i.fileId));
          return [...prev, ...page.items.filter((i) => !known.has(i.fileId))];
        });
        setNext(page.next);
      })
      .catch(() => undefined)
      .finally(() => {
        if (gen === generation.current) loading.current = false;
      });
  }, [client, next, filterKey]);
  return { items, total, error, loadMore, hasMore: next !== null };
}

export interface TimelineProps {
  filters: Filters;
  /** Changes when the library changes (files indexed, missing, folders offline): the timeline reloads. */
  refreshKey: string;
  activeIndex: number;
  onActiveChange: (i: number) => void;
  onOpen: (hit: SearchHit, all: readonly SearchHit[]) => void;
  /** Shown when the library has no indexed file yet (and no filter is set). */
  empty: ReactNode;
}

/**
 * The library before any query (docs/architecture.md §9): newest first by capture date, grouped
 * by month and day, virtualised like the results grid, with offline files marked. Pages load as
 * the end comes into view.
 */
export function Timeline({ filters, refreshKey, activeIndex, onActiveChange, onOpen, empty }: TimelineProps) {
  const { items, total, error, loadMore, hasMore } = useTimeline(filters, refreshKey);
  const hits = useMemo(() => items.map(timelineHit), [items]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(scrollRef);
  const layout = gridLayout(width || 400, 160);
  const rows = useMemo(() => timelineRows(items, layout.columns), [items, layout.columns]);
  const idPrefix = useId().replace(/:/g, '');
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => heightOf(rows[i], layout.rowHeight),
    overscan: 4,
    paddingStart: GRID_PADDING,
    paddingEnd: GRID_PADDING,
  });
  useEffect(() => virtualizer.measure(), [virtualizer, rows, layout.rowHeight]);
  const visible = virtualizer.getVirtualItems();
  const lastShown = visible.at(-1)?.index ?? 0;
  useEffect(() => {
    if (hasMore && lastShown >= rows.length - 8) loadMore();
  }, [hasMore, lastShown, rows.length, loadMore]);
  const onClick = useCallback(
    (i: number) => {
      onActiveChange(i);
      if (hits[i]) onOpen(hits[i], hits);
    },
    [hits, onActiveChange, onOpen],
  );

  if (error) return <p className="timeline-note is-error">The library could not be listed: {error}</p>;
  if (total === 0)
    return Object.keys(filters).length === 0 ? (
      empty
    ) : (
      <p className="timeline-note">No files match these filters.</p>
    );
  // The count sits above the grid, not in it: a grid holds only rows (ARIA, checked by axe).
  return (
    <>
      {total !== null && (
        <p className="timeline-note" role="status">
          {formatCount(total)} files, newest first
        </p>
      )}
      <div
        ref={scrollRef}
        className="grid-scroll timeline"
        role="grid"
        aria-label="Library by date"
        tabIndex={0}
      >
        <div className="grid-inner" style={{ height: virtualizer.getTotalSize() }}>
          {visible.map((v) => (
            <RowView
              key={rows[v.index].key}
              row={rows[v.index]}
              top={v.start}
              hits={hits}
              layout={layout}
              activeIndex={activeIndex}
              idPrefix={idPrefix}
              onClick={onClick}
            />
          ))}
        </div>
      </div>
    </>
  );
}

function RowView({
  row,
  top,
  hits,
  layout,
  activeIndex,
  idPrefix,
  onClick,
}: {
  row: TimelineRow;
  top: number;
  hits: readonly SearchHit[];
  layout: GridLayout;
  activeIndex: number;
  idPrefix: string;
  onClick: (i: number) => void;
}) {
  const style = { transform: `translateY(${top}px)` };
  if (row.type !== 'tiles')
    return (
      <div role="row" className={`timeline-${row.type}`} style={style}>
        <span role="rowheader">{row.label}</span>
        {row.type === 'day' && <span className="timeline-count">{row.count}</span>}
      </div>
    );
  return (
    <div
      role="row"
      className="grid-row"
      style={{ ...style, height: layout.rowHeight - GRID_GAP, gap: GRID_GAP }}
    >
      {hits.slice(row.start, row.end).map((hit, j) => (
        <ResultTile
          key={hit.fileId}
          hit={hit}
          index={row.start + j}
          active={row.start + j === activeIndex}
          width={layout.tileWidth}
          mediaHeight={layout.mediaHeight}
          termChips={[]}
          idPrefix={idPrefix}
          caption={TIME.format(hit.takenMs)}
          onClick={onClick}
        />
      ))}
    </div>
  );
}

function heightOf(row: TimelineRow | undefined, rowHeight: number): number {
  if (!row) return rowHeight;
  return row.type === 'month' ? MONTH_HEIGHT : row.type === 'day' ? DAY_HEIGHT : rowHeight;
}
