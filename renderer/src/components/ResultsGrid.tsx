import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useId, useRef, type KeyboardEvent } from 'react';
import type { SearchHit } from '../../../app/query.js';
import { useElementWidth } from '../hooks/useElementSize.js';
import type { SearchRequest } from '../state/chips.js';
import { ResultTile } from './ResultTile.js';

export const GRID_GAP = 12;
export const GRID_PADDING = 12;
/** Caption below each thumbnail (name + score). */
export const META_HEIGHT = 40;

export interface GridLayout {
  columns: number;
  tileWidth: number;
  mediaHeight: number;
  rowHeight: number;
}

/** As many columns of at least `minTile` px as fit; thumbnails keep a 4:3 box. */
export function gridLayout(width: number, minTile: number): GridLayout {
  const inner = Math.max(0, width - 2 * GRID_PADDING);
  const columns = Math.max(1, Math.floor((inner + GRID_GAP) / (minTile + GRID_GAP)));
  const tileWidth = Math.max(60, Math.floor((inner - GRID_GAP * (columns - 1)) / columns));
  const mediaHeight = Math.round((tileWidth * 3) / 4);
  return { columns, tileWidth, mediaHeight, rowHeight: mediaHeight + META_HEIGHT + GRID_GAP };
}

function nextIndex(
  key: string,
  i: number,
  n: number,
  cols: number,
  pageRows: number,
  ctrl: boolean,
): number | null {
  switch (key) {
    case 'ArrowRight':
      return Math.min(n - 1, i + 1);
    case 'ArrowLeft':
      return Math.max(0, i - 1);
    case 'ArrowDown':
      return Math.min(n - 1, i + cols);
    case 'ArrowUp':
      return i - cols >= 0 ? i - cols : i;
    case 'PageDown':
      return Math.min(n - 1, i + cols * pageRows);
    case 'PageUp':
      return Math.max(i % cols, i - cols * pageRows);
    case 'Home':
      return ctrl ? 0 : i - (i % cols);
    case 'End':
      return ctrl ? n - 1 : Math.min(n - 1, i - (i % cols) + cols - 1);
    default:
      return null;
  }
}

function GridRow({
  row,
  top,
  hits,
  layout,
  active,
  termChips,
  idPrefix,
  onClick,
}: {
  row: number;
  top: number;
  hits: readonly SearchHit[];
  layout: GridLayout;
  active: number;
  termChips: SearchRequest['termChips'];
  idPrefix: string;
  onClick: (i: number) => void;
}) {
  const start = row * layout.columns;
  return (
    <div
      role="row"
      aria-rowindex={row + 1}
      className="grid-row"
      style={{ transform: `translateY(${top}px)`, height: layout.rowHeight - GRID_GAP, gap: GRID_GAP }}
    >
      {hits.slice(start, start + layout.columns).map((hit, j) => (
        <ResultTile
          key={`${hit.fileId}:${hit.segmentId}`}
          hit={hit}
          index={start + j}
          active={start + j === active}
          width={layout.tileWidth}
          mediaHeight={layout.mediaHeight}
          termChips={termChips}
          idPrefix={idPrefix}
          onClick={onClick}
        />
      ))}
    </div>
  );
}

/** Arrow keys, Page Up/Down, Home/End (Ctrl: first/last) move the active cell; Enter/Space open it. */
function gridKeyHandler(o: {
  count: number;
  activeIndex: number;
  cols: number;
  pageRows: number;
  onActiveChange: (i: number) => void;
  onOpen: (i: number) => void;
  scrollToRow: (row: number) => void;
}) {
  return (e: KeyboardEvent<HTMLDivElement>) => {
    if (o.count === 0) return;
    const current = Math.min(Math.max(o.activeIndex, 0), o.count - 1);
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      o.onOpen(current);
      return;
    }
    const next =
      o.activeIndex < 0 ? 0 : nextIndex(e.key, current, o.count, o.cols, o.pageRows, e.ctrlKey || e.metaKey);
    if (next === null) return;
    e.preventDefault();
    o.onActiveChange(next);
    o.scrollToRow(Math.floor(next / o.cols));
  };
}

export interface ResultsGridProps {
  hits: readonly SearchHit[];
  termChips: SearchRequest['termChips'];
  activeIndex: number;
  onActiveChange: (index: number) => void;
  onOpen: (index: number) => void;
  minTileWidth?: number;
  label?: string;
  /** Changes when the query itself changes (not a weight): the grid then returns to the top. */
  resetKey?: string;
}

/**
 * A virtualised grid: rows of N columns (N from the container width), only the rows on screen
 * (plus a few) in the DOM, so 100k results scroll like 20. Keyboard: arrows, Page Up/Down,
 * Home/End (Ctrl for first/last), Enter to open; the active cell is announced through
 * aria-activedescendant so focus never has to chase recycled DOM nodes.
 */
export function ResultsGrid({
  hits,
  termChips,
  activeIndex,
  onActiveChange,
  onOpen,
  minTileWidth = 180,
  label = 'Results',
  resetKey,
}: ResultsGridProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const lastReset = useRef(resetKey);
  useEffect(() => {
    if (lastReset.current === resetKey) return;
    lastReset.current = resetKey;
    if (scrollRef.current) scrollRef.current.scrollTop = 0;
  }, [resetKey]);
  const width = useElementWidth(scrollRef);
  const layout = gridLayout(width || minTileWidth + 2 * GRID_PADDING, minTileWidth);
  const { columns: cols, rowHeight } = layout;
  const rowCount = Math.ceil(hits.length / cols);
  const idPrefix = useId().replace(/:/g, '');
  const virtualizer = useVirtualizer({
    count: rowCount,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeight,
    overscan: 2,
    paddingStart: GRID_PADDING,
    paddingEnd: GRID_PADDING,
  });
  useEffect(() => virtualizer.measure(), [virtualizer, rowHeight, cols]);

  const onClick = useCallback(
    (i: number) => {
      onActiveChange(i);
      onOpen(i);
    },
    [onActiveChange, onOpen],
  );
  const onKeyDown = gridKeyHandler({
    count: hits.length,
    activeIndex,
    cols,
    pageRows: Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? rowHeight) / rowHeight)),
    onActiveChange,
    onOpen,
    scrollToRow: (row) => virtualizer.scrollToIndex(row, { align: 'auto' }),
  });

  const active = activeIndex >= 0 && activeIndex < hits.length ? activeIndex : -1;
  return (
    <div
      ref={scrollRef}
      className="grid-scroll"
      role="grid"
      aria-label={label}
      aria-rowcount={rowCount}
      aria-colcount={cols}
      aria-activedescendant={active >= 0 ? `${idPrefix}-${active}` : undefined}
      tabIndex={0}
      onKeyDown={onKeyDown}
      data-columns={cols}
    >
      <div className="grid-inner" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((row) => (
          <GridRow
            key={row.key}
            row={row.index}
            top={row.start}
            hits={hits}
            layout={layout}
            active={active}
            termChips={termChips}
            idPrefix={idPrefix}
            onClick={onClick}
          />
        ))}
      </div>
    </div>
  );
}
