import { useEffect, useId, useRef, type KeyboardEvent, type ReactNode } from 'react';
import { Icon } from './Icons.js';
import './panels.css';

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
  role,
  describedBy,
}: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  className?: string;
  actions?: ReactNode;
  onKeyDown?: (e: KeyboardEvent<HTMLDialogElement>) => void;
  /** `alertdialog` for a question that interrupts (a confirmation). */
  role?: 'alertdialog';
  /** The id of the text that says what the dialog is about, read out with its title. */
  describedBy?: string;
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
  // Unique per instance: a confirmation can open inside another dialog.
  const titleId = `dlg-title-${useId()}`;
  return (
    <dialog
      ref={ref}
      className={`dialog ${className ?? ''}`}
      role={role}
      aria-labelledby={titleId}
      aria-describedby={describedBy}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          // Only the innermost dialog closes: the key would otherwise reach the one around it.
          e.stopPropagation();
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

/**
 * A question asked before something that cannot be undone or that starts long work: what will
 * happen, in numbers, and two answers. Cancel has the focus, so Enter never confirms by accident.
 */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  danger = false,
  busy = false,
  onConfirm,
  onCancel,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const bodyId = useId();
  return (
    <Dialog
      title={title}
      onClose={onCancel}
      className="confirm-dialog"
      role="alertdialog"
      describedBy={bodyId}
    >
      <div className="confirm-dialog-body" id={bodyId}>
        {children}
      </div>
      <div className="confirm-dialog-actions">
        <button type="button" className="button ghost" onClick={onCancel} autoFocus>
          Cancel
        </button>
        <button
          type="button"
          className={`button ${danger ? 'danger' : 'primary'}`}
          onClick={onConfirm}
          disabled={busy}
        >
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
