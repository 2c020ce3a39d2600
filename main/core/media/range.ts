/**
 * HTTP Range for media, one home for both transports: the bridge's `/media/` and Electron's
 * `media://` (docs/architecture.md §8), so seeking to a matched moment behaves the same in both.
 */

/** Parses a single `bytes=a-b` range; multi-range requests are served whole (players never send them). */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'invalid' | null {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m) return null;
  const [, a, b] = m;
  if (a === '' && b === '') return 'invalid';
  let start = a === '' ? size - Number(b) : Number(a);
  let end = a === '' || b === '' ? size - 1 : Number(b);
  start = Math.max(0, start);
  end = Math.min(end, size - 1);
  return start > end || start >= size ? 'invalid' : { start, end };
}
