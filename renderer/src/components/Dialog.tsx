import { useEffect, useRef, type KeyboardEvent, type ReactNode } from 'react';
import { Icon } from './Icons.js';

/**
 * A modal built on <dialog>: the browser traps focus, renders it in the top layer and turns Esc
 * into `cancel`, which closes it here. Focus returns to whatever had it before.
 */
export function Dialog({
  title,
  onClose,
  children,
  className,
  actions,
  onKeyDown,
}: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  className?: string;
  actions?: ReactNode;
  onKeyDown?: (e: KeyboardEvent<HTMLDialogElement>) => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const dlg = ref.current;
    if (!dlg) return;
    const before = document.activeElement as HTMLElement | null;
    if (typeof dlg.showModal === 'function' && !dlg.open) dlg.showModal();
    else dlg.setAttribute('open', '');
    const onCancel = (e: Event) => {
      e.preventDefault();
      closeRef.current();
    };
    dlg.addEventListener('cancel', onCancel);
    return () => {
      dlg.removeEventListener('cancel', onCancel);
      if (dlg.open && typeof dlg.close === 'function') dlg.close();
      before?.focus?.();
    };
  }, []);
  const titleId = `dlg-title-${className ?? 'x'}`;
  return (
    <dialog
      ref={ref}
      className={`dialog ${className ?? ''}`}
      aria-labelledby={titleId}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          closeRef.current();
          return;
        }
        onKeyDown?.(e);
      }}
      onClick={(e) => e.target === e.currentTarget && closeRef.current()}
    >
      <div className="dialog-frame">
        <header className="dialog-header">
          <h2 id={titleId} className="dialog-title">
            {title}
          </h2>
          {actions}
          <button
            type="button"
            className="icon-button"
            aria-label="Close"
            title="Close (Esc)"
            onClick={() => closeRef.current()}
          >
            <Icon name="close" />
          </button>
        </header>
        {children}
      </div>
    </dialog>
  );
}
