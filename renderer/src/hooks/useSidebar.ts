import { useCallback, useEffect, useState } from 'react';
import { useNarrow } from './useMediaQuery.js';

export interface SidebarState {
  /** A narrow window: the panel opens over the results as a drawer. */
  narrow: boolean;
  expanded: boolean;
  toggle: () => void;
  close: () => void;
}

/**
 * The library panel: open by default in a wide window, folded away in a narrow one, where the
 * results need the room. Crossing the breakpoint brings back that width's default; a toggle in
 * between is kept.
 */
export function useSidebar(): SidebarState {
  const narrow = useNarrow();
  const [expanded, setExpanded] = useState(!narrow);
  useEffect(() => setExpanded(!narrow), [narrow]);
  const toggle = useCallback(() => setExpanded((e) => !e), []);
  const close = useCallback(() => setExpanded(false), []);
  return { narrow, expanded, toggle, close };
}
