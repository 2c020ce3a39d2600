import { useEffect, useState } from 'react';

function matches(query: string): boolean {
  return typeof window !== 'undefined' && typeof window.matchMedia === 'function'
    ? window.matchMedia(query).matches
    : false;
}

/** Whether a CSS media query matches now, following the window as it is resized. */
export function useMediaQuery(query: string): boolean {
  const [now, setNow] = useState(() => matches(query));
  useEffect(() => {
    if (typeof window.matchMedia !== 'function') return;
    const list = window.matchMedia(query);
    const update = () => setNow(list.matches);
    update();
    list.addEventListener('change', update);
    return () => list.removeEventListener('change', update);
  }, [query]);
  return now;
}

/** Below this width the library panel becomes a drawer and the filters fold behind a button. */
export const NARROW_QUERY = '(max-width: 900px)';

/** True in a narrow window (a small laptop split screen, a tablet, a phone). */
export function useNarrow(): boolean {
  return useMediaQuery(NARROW_QUERY);
}
