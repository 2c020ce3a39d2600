import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useId, useMemo, useRef, type KeyboardEvent, type RefObject } from 'react';
import type { SearchHit } from '../../../app/query.js';
import { useElementWidth } from '../hooks/useElementSize.js';
import { gridRows, moveIndex, rowOfIndex, type GridRow as RowModel } from '../lib/grid-rows.js';
import type { SearchRequest } from '../state/chips.js';
import { ResultTile } from './ResultTile.js';

export const GRID_GAP = 12;
export const GRID_PADDING = 12;
/** Caption below each thumbnail (name + match) and the inputs' shares bar. */
export const META_HEIGHT = 48;
/** The line between strong and weak matches. */
export const DIVIDER_HEIGHT = 44;

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

function DividerRow({ top, label }: { top: number; label: string }) {
  return (
    <div
      role="row"
      className="match-divider"
      style={{ transform: `translateY(${top}px)`, height: DIVIDER_HEIGHT }}
    >
      <span role="rowheader">{label}</span>
    </div>
  );
}

function GridRow({
  row,
  ariaRow,
  top,
  hits,
  layout,
  active,
  termChips,
  idPrefix,
  onClick,
}: {
  row: Extract<RowModel, { type: 'tiles' }>;
  ariaRow: number;
  top: number;
  hits: readonly SearchHit[];
  layout: GridLayout;
  active: number;
  termChips: SearchRequest['termChips'];
  idPrefix: string;
  onClick: (i: number) => void;
}) {
  const { start } = row;
  return (
    <div
      role="row"
      aria-rowindex={ariaRow + 1}
      className="grid-row"
      style={{ transform: `translateY(${top}px)`, height: layout.rowHeight - GRID_GAP, gap: GRID_GAP }}
    >
      {hits.slice(start, row.end).map((hit, j) => (
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
  rows: readonly RowModel[];
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
      o.activeIndex < 0 ? 0 : moveIndex(o.rows, current, o.count, e.key, o.pageRows, e.ctrlKey || e.metaKey);
    if (next === null) return;
    e.preventDefault();
    o.onActiveChange(next);
    o.scrollToRow(rowOfIndex(o.rows, next));
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
  /** Results before this index are strong matches: a divider row separates them from the rest. */
  split?: number | null;
  dividerLabel?: string;
}

/** Back to the top when `key` changes (a new query, not a weight). */
function useScrollTopOn(ref: RefObject<HTMLDivElement | null>, key: string | undefined): void {
  const last = useRef(key);
  useEffect(() => {
    if (last.current === key) return;
    last.current = key;
    if (ref.current) ref.current.scrollTop = 0;
  }, [ref, key]);
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
  split = null,
  dividerLabel = 'Weaker matches',
}: ResultsGridProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  useScrollTopOn(scrollRef, resetKey);
  const width = useElementWidth(scrollRef);
  const layout = gridLayout(width || minTileWidth + 2 * GRID_PADDING, minTileWidth);
  const { columns: cols, rowHeight } = layout;
  const rows = useMemo(
    () => gridRows(hits.length, cols, split, dividerLabel),
    [hits.length, cols, split, dividerLabel],
  );
  const idPrefix = useId().replace(/:/g, '');
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (rows[i]?.type === 'divider' ? DIVIDER_HEIGHT : rowHeight),
    overscan: 2,
    paddingStart: GRID_PADDING,
    paddingEnd: GRID_PADDING,
  });
  useEffect(() => virtualizer.measure(), [virtualizer, rowHeight, rows]);

  const onClick = useCallback((i: number) => (onActiveChange(i), onOpen(i)), [onActiveChange, onOpen]);
  const onKeyDown = gridKeyHandler({
    count: hits.length,
    activeIndex,
    rows,
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
      aria-rowcount={rows.length}
      aria-colcount={cols}
      aria-activedescendant={active >= 0 ? `${idPrefix}-${active}` : undefined}
      tabIndex={0}
      onKeyDown={onKeyDown}
      data-columns={cols}
    >
      <div className="grid-inner" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((v) => {
          const row = rows[v.index];
          if (row.type === 'divider') return <DividerRow key={row.key} top={v.start} label={row.label} />;
          return (
            <GridRow
              key={row.key}
              row={row}
              ariaRow={v.index}
              top={v.start}
              hits={hits}
              layout={layout}
              active={active}
              termChips={termChips}
              idPrefix={idPrefix}
              onClick={onClick}
            />
          );
        })}
      </div>
    </div>
  );
}
