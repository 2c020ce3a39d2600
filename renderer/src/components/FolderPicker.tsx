import { useCallback, useEffect, useRef, useState } from 'react';
import type { DirListing } from '../../../app/api.js';
import { toClientError } from '../api/client.js';
import { useClient } from '../api/context.js';
import { formatCount } from '../lib/format.js';
import { Dialog } from './Dialog.js';
import { Icon } from './Icons.js';
import './panels.css';

/**
 * Choosing a library folder where the platform has no native picker (browser mode): the engine
 * lists one folder's subfolders at a time (`listDirs`), and the folder being shown is the one
 * chosen. The engine says in advance when a folder cannot be added, with addRoot's own words.
 */

/** The listing shown, the one loading, and why the last move failed. */
function useListing(start: string | undefined) {
  const client = useClient();
  const [listing, setListing] = useState<DirListing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const latest = useRef(0);
  const go = useCallback(
    async (path?: string, fallback = false) => {
      const n = ++latest.current;
      setLoading(true);
      try {
        const l = await client.listDirs(path === undefined ? {} : { path });
        if (n !== latest.current) return; // a later move won
        setListing(l);
        setError(null);
      } catch (e) {
        if (n !== latest.current) return;
        setError(toClientError(e).message);
        // A typed start that is no folder still opens the picker, at the home folder.
        if (fallback) return void go(undefined);
      }
      setLoading(false);
    },
    [client],
  );
  useEffect(() => void go(start, start !== undefined), [go, start]);
  return { listing, error, loading, go };
}

function Places({ listing, go }: { listing: DirListing; go: (p: string) => void }) {
  return (
    <nav className="picker-places" aria-label="Places">
      {listing.places.map((p) => (
        <button
          key={`${p.label}:${p.path}`}
          type="button"
          className="button small ghost"
          onClick={() => go(p.path)}
        >
          {p.label}
        </button>
      ))}
    </nav>
  );
}

function Entries({ listing, go }: { listing: DirListing; go: (p: string) => void }) {
  if (listing.error) return <p className="error-text">This folder {listing.error}.</p>;
  if (listing.entries.length === 0) return <p className="muted picker-empty">No folders in here.</p>;
  return (
    <ul className="picker-entries" aria-label={`Folders in ${listing.path}`}>
      {listing.entries.map((e) => (
        <li key={e.path}>
          <button
            type="button"
            className="picker-entry"
            onClick={() => go(e.path)}
            disabled={!e.readable}
            title={e.readable ? `Open ${e.path}` : `${e.path} cannot be opened (permission denied)`}
          >
            <Icon name="folder" /> <span className="picker-name">{e.name}</span>
            {e.link && <span className="pill">link</span>}
            {!e.readable && <span className="pill warn">no access</span>}
          </button>
        </li>
      ))}
    </ul>
  );
}

/** What the listing leaves out, said once: files, hidden folders, folders past the limit. */
function Counts({ listing }: { listing: DirListing }) {
  const parts = [`${formatCount(listing.files)} ${listing.files === 1 ? 'file' : 'files'}`];
  if (listing.hidden) parts.push(`${formatCount(listing.hidden)} hidden not shown`);
  if (listing.more) parts.push(`${formatCount(listing.more)} more folders not listed: type the path instead`);
  return <p className="muted small picker-counts">{parts.join(' · ')}</p>;
}

export function FolderPicker({
  start,
  onChoose,
  onClose,
}: {
  /** Where to open: the path typed so far, when it is absolute. */
  start?: string;
  onChoose: (path: string) => void;
  onClose: () => void;
}) {
  const { listing, error, loading, go } = useListing(start);
  const open = (p: string) => void go(p);
  return (
    <Dialog title="Choose a library folder" onClose={onClose} className="folder-picker">
      <div className="picker-body" aria-busy={loading}>
        {listing && <Places listing={listing} go={open} />}
        {listing && (
          <div className="picker-path">
            <button
              type="button"
              className="button small"
              onClick={() => listing.parent && open(listing.parent)}
              disabled={!listing.parent}
              aria-label="Up to the folder above"
            >
              <Icon name="chevronLeft" /> Up
            </button>
            <code className="picker-current" data-testid="picker-path">
              {listing.path}
            </code>
          </div>
        )}
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        {listing && <Entries listing={listing} go={open} />}
        {listing && <Counts listing={listing} />}
        {listing?.refusal && <p className="warn-text picker-refusal">{listing.refusal}</p>}
        <div className="confirm-dialog-actions">
          <button type="button" className="button ghost" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="button primary"
            disabled={!listing || loading || listing.refusal !== null}
            onClick={() => listing && onChoose(listing.path)}
          >
            <Icon name="check" /> Add this folder
          </button>
        </div>
      </div>
    </Dialog>
  );
}
