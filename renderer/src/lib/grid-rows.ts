/**
 * The results grid's virtual rows: rows of tiles, and a divider row where strong matches end and
 * weak ones begin (docs/architecture.md §6), so weak results start on a row of their own. Indexes
 * refer to the flat result list, so the keyboard, the preview and "active" work on it unchanged.
 */
export type GridRow =
  | { type: 'tiles'; key: string; start: number; end: number }
  | { type: 'divider'; key: string; label: string };

type TileRow = Extract<GridRow, { type: 'tiles' }>;

export function gridRows(n: number, columns: number, split: number | null, dividerLabel = ''): GridRow[] {
  const rows: GridRow[] = [];
  const section = (from: number, to: number) => {
    for (let s = from; s < to; s += columns)
      rows.push({ type: 'tiles', key: `t${s}`, start: s, end: Math.min(to, s + columns) });
  };
  if (split === null || split <= 0 || split >= n) section(0, n);
  else {
    section(0, split);
    rows.push({ type: 'divider', key: 'divider', label: dividerLabel });
    section(split, n);
  }
  return rows;
}

/** The tile rows alone, and the position of the row holding index `i` among them. */
function locate(rows: readonly GridRow[], i: number): { tiles: TileRow[]; t: number } {
  const tiles = rows.filter((r): r is TileRow => r.type === 'tiles');
  let lo = 0;
  let hi = tiles.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (tiles[mid].start <= i) lo = mid;
    else hi = mid - 1;
  }
  return { tiles, t: lo };
}

/** The virtual row (divider included) that shows index `i`. */
export function rowOfIndex(rows: readonly GridRow[], i: number): number {
  return rows.findIndex((r) => r.type === 'tiles' && r.start <= i && i < r.end);
}

/**
 * Where a key moves the active index: arrows, Page Up/Down (`pageRows` tile rows), Home/End in
 * the row (Ctrl: first/last). Up and down keep the column, or take a shorter row's last tile.
 */
export function moveIndex(
  rows: readonly GridRow[],
  i: number,
  n: number,
  key: string,
  pageRows: number,
  ctrl: boolean,
): number | null {
  const { tiles, t } = locate(rows, i);
  const row = tiles[t];
  const vertical = (dt: number) => {
    const to = tiles[Math.min(tiles.length - 1, Math.max(0, t + dt))];
    return Math.min(to.start + (i - row.start), to.end - 1);
  };
  switch (key) {
    case 'ArrowRight':
      return Math.min(n - 1, i + 1);
    case 'ArrowLeft':
      return Math.max(0, i - 1);
    case 'ArrowDown':
      return vertical(1);
    case 'ArrowUp':
      return vertical(-1);
    case 'PageDown':
      return vertical(pageRows);
    case 'PageUp':
      return vertical(-pageRows);
    case 'Home':
      return ctrl ? 0 : row.start;
    case 'End':
      return ctrl ? n - 1 : row.end - 1;
    default:
      return null;
  }
}
