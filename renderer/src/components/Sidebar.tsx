import { useEffect, useRef, type KeyboardEvent, type ReactNode } from 'react';
import type { SidebarState } from '../hooks/useSidebar.js';
import { Icon } from './Icons.js';

const TOGGLE = '[aria-controls="sidebar"]';

/** Shows or hides the library panel; in a narrow window it opens over the results. */
export function SidebarToggle({ sidebar }: { sidebar: SidebarState }) {
  return (
    <button
      type="button"
      className="button small ghost sidebar-toggle"
      aria-expanded={sidebar.expanded}
      aria-controls="sidebar"
      onClick={sidebar.toggle}
      title={sidebar.expanded ? 'Hide the library panel' : 'Show the library panel'}
    >
      <Icon name="folder" /> Library
    </button>
  );
}

function closeAndReturn(sidebar: SidebarState): void {
  sidebar.close();
  document.querySelector<HTMLElement>(TOGGLE)?.focus();
}

/**
 * The library panel: a column beside the results in a wide window, a drawer over them in a narrow
 * one. The drawer takes focus when it opens (it covers what had it) and gives it back to its
 * toggle when Esc, its close button or a click beside it closes it.
 */
export function Sidebar({ sidebar, children }: { sidebar: SidebarState; children: ReactNode }) {
  const drawer = sidebar.narrow && sidebar.expanded;
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (drawer) close.current?.focus();
  }, [drawer]);
  const onKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    if (e.key !== 'Escape' || !drawer || e.defaultPrevented) return;
    e.preventDefault();
    closeAndReturn(sidebar);
  };
  return (
    <>
      <aside id="sidebar" className="sidebar" hidden={!sidebar.expanded} onKeyDown={onKeyDown}>
        {drawer && (
          <div className="drawer-bar">
            <button
              ref={close}
              type="button"
              className="button small ghost"
              onClick={() => closeAndReturn(sidebar)}
            >
              <Icon name="close" /> Close the library panel
            </button>
          </div>
        )}
        {children}
      </aside>
      {/* A click beside the drawer closes it, as in any drawer; keyboard users have Esc and the button. */}
      {drawer && (
        <div className="drawer-backdrop" aria-hidden="true" onClick={() => closeAndReturn(sidebar)} />
      )}
    </>
  );
}
