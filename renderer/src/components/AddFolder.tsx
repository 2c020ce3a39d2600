import { useEffect, useId, useState, type FormEvent } from 'react';
import type { RootInfo } from '../../../app/api.js';
import { toClientError } from '../api/client.js';
import { useClient } from '../api/context.js';
import { basename } from '../lib/format.js';
import { FolderPicker } from './FolderPicker.js';
import { Icon } from './Icons.js';
import './panels.css';

/**
 * Adding a library folder: typed, from the native picker (Electron), or from the folder picker
 * (browser mode). The engine decides what may be a library folder (absolute, existing, readable,
 * not overlapping another); its refusal is shown under the field it is about. Once added, the
 * folder can be indexed from right here.
 */

/** A path the picker can open at: POSIX, a drive letter, or a UNC share. */
const ABSOLUTE = /^(\/|[A-Za-z]:[\\/]|\\\\)/;

/** What the last add did: a new folder (offer to index it), or one the library already had. */
type Added = { root: RootInfo; isNew: boolean };

function useAddFolder(knownIds: readonly number[], onAdded: () => void) {
  const client = useClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState<Added | null>(null);
  const add = async (p: string): Promise<boolean> => {
    setBusy(true);
    setError(null);
    setAdded(null);
    try {
      const root = await client.addRoot({ path: p });
      setAdded({ root, isNew: !knownIds.includes(root.id) });
      onAdded();
      return true;
    } catch (e) {
      setError(toClientError(e).message);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, added, setAdded, add };
}

function AddedNote({
  added,
  onIndexNow,
  onDismiss,
}: {
  added: Added;
  onIndexNow: () => void;
  onDismiss: () => void;
}) {
  const name = basename(added.root.path);
  if (!added.isNew) {
    return (
      <p className="added-note muted" role="status">
        {added.root.path} is already in your library.
      </p>
    );
  }
  return (
    <div className="added-note" role="status" data-testid="added-note">
      <span>
        <Icon name="check" /> Added {name}. Index it now to search it.
      </span>
      <div className="confirm-actions">
        <button type="button" className="button small primary" onClick={onIndexNow}>
          <Icon name="play" /> Index now
        </button>
        <button type="button" className="button small ghost" onClick={onDismiss}>
          Later
        </button>
      </div>
    </div>
  );
}

/** The typed path, its Add button, and the engine's refusal right under it. */
function PathField({
  path,
  setPath,
  busy,
  error,
}: {
  path: string;
  setPath: (p: string) => void;
  busy: boolean;
  error: string | null;
}) {
  const errorId = useId();
  return (
    <>
      <div className="field-row">
        <input
          type="text"
          className="input"
          value={path}
          onChange={(e) => setPath(e.currentTarget.value)}
          placeholder="/path/to/your/photos"
          aria-label="Folder path to add"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          spellCheck={false}
          disabled={busy}
        />
        <button type="submit" className="button" disabled={busy || !path.trim()}>
          <Icon name="plus" /> Add
        </button>
      </div>
      {error && (
        <p className="error-text field-error" id={errorId} role="alert">
          {error}
        </p>
      )}
    </>
  );
}

export function AddFolder({
  roots,
  indexing,
  onAdded,
  onIndexNow,
}: {
  roots: readonly RootInfo[];
  indexing: boolean;
  onAdded: () => void;
  onIndexNow: () => void;
}) {
  const client = useClient();
  const [path, setPath] = useState('');
  const [picking, setPicking] = useState(false);
  const { busy, error, setError, added, setAdded, add } = useAddFolder(
    roots.map((r) => r.id),
    onAdded,
  );
  // A run that started (here or by the watcher) is indexing the new folder: the offer is done.
  useEffect(() => {
    if (indexing) setAdded(null);
  }, [indexing, setAdded]);
  const addPath = async (p: string) => {
    if (p.trim() && (await add(p.trim()))) setPath('');
  };
  // The native picker where the platform has one (Electron), else the engine's listing.
  const browse = async () => {
    if (!client.chooseFolder) return setPicking(true);
    const chosen = await client.chooseFolder().catch((e: unknown) => setError(toClientError(e).message));
    if (chosen) await addPath(chosen);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void addPath(path);
  };
  const typed = (p: string) => {
    setPath(p);
    setError(null); // the message was about what was typed before
  };
  return (
    <>
      <form className="add-folder" onSubmit={submit} aria-label="Add a folder">
        <PathField path={path} setPath={typed} busy={busy} error={error} />
        <button type="button" className="button ghost" onClick={() => void browse()} disabled={busy}>
          <Icon name="folder" /> {client.chooseFolder ? 'Choose a folder…' : 'Browse…'}
        </button>
        {added && (
          <AddedNote
            added={added}
            onIndexNow={() => {
              setAdded(null);
              onIndexNow();
            }}
            onDismiss={() => setAdded(null)}
          />
        )}
      </form>
      {picking && (
        <FolderPicker
          start={ABSOLUTE.test(path.trim()) ? path.trim() : undefined}
          onClose={() => setPicking(false)}
          onChoose={(p) => {
            setPicking(false);
            void addPath(p);
          }}
        />
      )}
    </>
  );
}
