import type { TimelineItem } from '../../../app/api.js';
import type { SearchHit } from '../../../app/query.js';

/** A timeline entry in the shape tiles and the preview take: no score, no matched moment. */
export function timelineHit(item: TimelineItem): SearchHit {
  return {
    fileId: item.fileId,
    path: item.path,
    kind: item.kind,
    score: 0,
    // No stored segment stands for a timeline entry: "more like this" is offered for search results only.
    segmentId: 0,
    segment: null,
    terms: [],
    contributions: [],
    strong: null,
    percentile: null,
    durationS: item.durationS,
    copies: 0,
    size: item.size,
    mtimeMs: item.takenMs,
    takenMs: item.takenMs,
    dateSource: item.dateSource,
    offline: item.offline,
    missing: item.missing,
  };
}

/** One virtual row of the timeline: a month or day heading, or a row of tiles. */
export type TimelineRow =
  | { type: 'month'; key: string; label: string }
  | { type: 'day'; key: string; label: string; count: number }
  | { type: 'tiles'; key: string; start: number; end: number };

const MONTH = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric' });
const DAY = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' });

/**
 * Items (newest first) grouped by local day, with a month heading where the month changes, and
 * each day's items cut into rows of `columns`. Indexes refer to `items`, so keyboard and preview
 * work on the flat list.
 */
export function timelineRows(items: readonly TimelineItem[], columns: number): TimelineRow[] {
  const rows: TimelineRow[] = [];
  let month = '';
  let i = 0;
  while (i < items.length) {
    const d = new Date(items[i].takenMs);
    const dayKey = `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
    const monthKey = `${d.getFullYear()}-${d.getMonth()}`;
    let end = i + 1;
    while (end < items.length && sameDay(new Date(items[end].takenMs), d)) end++;
    if (monthKey !== month) {
      month = monthKey;
      rows.push({ type: 'month', key: `m${monthKey}`, label: MONTH.format(d) });
    }
    rows.push({ type: 'day', key: `d${dayKey}`, label: DAY.format(d), count: end - i });
    for (let s = i; s < end; s += columns)
      rows.push({ type: 'tiles', key: `t${dayKey}:${s - i}`, start: s, end: Math.min(end, s + columns) });
    i = end;
  }
  return rows;
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}
