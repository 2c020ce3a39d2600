// Size: one panel (folders, counts, failures, actions) over one piece of state.
import { useCallback, useEffect, useState } from 'react';
import type { Failure, LibrarySettings, RootInfo, Status } from '../../../app/api.js';
import type { IndexProgress, IndexSummary } from '../../../app/indexing.js';
import { toClientError } from '../api/client.js';
import { useClient } from '../api/context.js';
import { basename, formatCount, formatEta } from '../lib/format.js';
import { AddFolder } from './AddFolder.js';
import { Icon } from './Icons.js';

const PHASE_LABEL: Record<IndexProgress['phase'], string> = {
  scan: 'Scanning folders',
  embed: 'Embedding',
  cleanup: 'Tidying up',
  done: 'Up to date',
  cancelled: 'Stopped',
};

/** The library's own settings, kept in the catalogue (every host shares them). */
function LibrarySettingsForm() {
  const client = useClient();
  const [settings, setSettings] = useState<LibrarySettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    client.settings().then(setSettings, (e: unknown) => setError(toClientError(e).message));
  }, [client]);
  if (!settings) return error ? <p className="error-text">{error}</p> : null;
  // Shown at once; the engine's answer (or its refusal) settles it.
  const toggle = (ignoreJunk: boolean) => {
    setSettings({ ...settings, ignoreJunk });
    client.setSettings({ ignoreJunk }).then(setSettings, (e: unknown) => {
      setSettings(settings);
      setError(toClientError(e).message);
    });
  };
  return (
    <label className="setting">
      <input
        type="checkbox"
        checked={settings.ignoreJunk}
        onChange={(e) => toggle(e.currentTarget.checked)}
      />
      Skip system clutter (Thumbs.db, @eaDir, recycle bins) at the next scan
      {error && <span className="error-text">{error}</span>}
    </label>
  );
}

function RootItem({ root, onRemoved }: { root: RootInfo; onRemoved: () => void }) {
  const client = useClient();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = async () => {
    try {
      await client.removeRoot({ id: root.id });
      onRemoved();
    } catch (e) {
      setError(toClientError(e).message);
      setConfirming(false);
    }
  };
  const f = root.files;
  const total = f.indexed + f.pending + f.failed;
  return (
    <li className="root" data-root-id={root.id}>
      <Icon name="folder" size={18} className="root-icon" />
      <div className="root-body">
        <div className="root-head">
          <span className="root-name" title={root.path}>
            {basename(root.path)}
          </span>
          <span className={`pill status-${root.status}`}>{root.status}</span>
        </div>
        <span className="root-path" title={root.path}>
          {/* Left-to-right marks keep the path readable inside the right-to-left ellipsis trick. */}
          {`\u200e${root.path}\u200e`}
        </span>
        <span className="root-counts">
          {formatCount(f.indexed)} indexed
          {f.pending > 0 && ` · ${formatCount(f.pending)} pending`}
          {f.failed > 0 && ` · ${formatCount(f.failed)} failed`}
          {total === 0 && ' · not scanned yet'}
        </span>
        <ScanReport root={root} />
        {confirming && (
          <div className="confirm" role="alertdialog" aria-label={`Remove ${root.path}?`}>
            <span>Remove this folder from the library? Files on disk are not touched.</span>
            <div className="confirm-actions">
              <button type="button" className="button danger" onClick={() => void remove()} autoFocus>
                Remove
              </button>
              <button type="button" className="button ghost" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </div>
          </div>
        )}
        {error && <p className="error-text">{error}</p>}
      </div>
      {!confirming && (
        <button
          type="button"
          className="icon-button"
          aria-label={`Remove folder ${root.path}`}
          title="Remove from library"
          onClick={() => setConfirming(true)}
        >
          <Icon name="trash" />
        </button>
      )}
    </li>
  );
}

function ProgressView({ progress }: { progress: IndexProgress }) {
  const { phase, filesDone, filesTotal, filesPerSec, etaS, current, summary } = progress;
  const live = phase === 'scan' || phase === 'embed' || phase === 'cleanup';
  const pct = filesTotal > 0 ? Math.min(100, (filesDone / filesTotal) * 100) : live ? undefined : 100;
  return (
    <div className={`progress-card phase-${phase}`} data-phase={phase}>
      <div className="progress-head">
        <strong>{PHASE_LABEL[phase]}</strong>
        <span className="muted">
          {formatCount(filesDone)} / {formatCount(filesTotal)} files
        </span>
      </div>
      <div
        className={`progress${pct === undefined ? ' is-indeterminate' : ''}`}
        role="progressbar"
        aria-label="Indexing progress"
        aria-valuemin={0}
        aria-valuemax={filesTotal || 1}
        aria-valuenow={pct === undefined ? undefined : filesDone}
      >
        <span style={{ width: pct === undefined ? undefined : `${pct}%` }} />
      </div>
      {live ? (
        <div className="progress-stats muted">
          <span>{filesPerSec > 0 ? `${filesPerSec.toFixed(1)} files/s` : 'warming up…'}</span>
          <span>{formatEta(etaS)}</span>
        </div>
      ) : (
        <SummaryLine summary={summary} />
      )}
      {live && current && (
        <div className="progress-current" title={current}>
          {basename(current)}
        </div>
      )}
    </div>
  );
}

function StartingView() {
  return (
    <div className="progress-card" data-phase="starting">
      <div className="progress-head">
        <strong>Starting…</strong>
      </div>
      <div className="progress is-indeterminate" role="progressbar" aria-label="Indexing progress">
        <span />
      </div>
    </div>
  );
}

function SummaryLine({ summary: s }: { summary: IndexSummary }) {
  const parts = [`${s.indexed} indexed`, `${s.skipped} unchanged`];
  if (s.moved) parts.push(`${s.moved} moved`);
  if (s.removed) parts.push(`${s.removed} removed`);
  if (s.failed) parts.push(`${s.failed} failed`);
  return <div className="progress-stats muted">{parts.join(' · ')}</div>;
}

function Failures({ count, onRetry, busy }: { count: number; onRetry: () => void; busy: boolean }) {
  const client = useClient();
  const [list, setList] = useState<Failure[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    client.failures().then(
      (f) => live && (setList(f), setError(null)),
      (e: unknown) => live && setError(toClientError(e).message),
    );
    return () => {
      live = false;
    };
  }, [client, count]);
  if (error) return <p className="error-text">Could not load failures: {error}</p>;
  if (!list || list.length === 0) return null;
  return (
    <details className="failures" open={list.length <= 5}>
      <summary>
        <Icon name="warning" /> {list.length} {list.length === 1 ? 'file' : 'files'} could not be indexed
      </summary>
      <ul aria-label="Files that could not be indexed">
        {list.map((f) => (
          <li key={f.fileId} className="failure" title={f.path}>
            <span className="failure-name">{basename(f.path)}</span>
            <span className="failure-reason">{f.error}</span>
          </li>
        ))}
      </ul>
      <button type="button" className="button ghost" onClick={onRetry} disabled={busy}>
        <Icon name="refresh" /> Retry failed files
      </button>
    </details>
  );
}

export interface LibraryProps {
  status: Status | null;
  statusError: string | null;
  progress: IndexProgress | null;
  refresh: () => Promise<void>;
  onIndexed: () => void;
  onIndexStart: () => void;
}

function useIndexRun(refresh: () => Promise<void>, onIndexed: () => void, onStart: () => void) {
  const client = useClient();
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (retryFailed = false) => {
      setRunning(true);
      setError(null);
      onStart();
      void refresh();
      try {
        await client.index({ retryFailed });
      } catch (e) {
        setError(toClientError(e).message);
      } finally {
        setRunning(false);
        await refresh();
        onIndexed();
      }
    },
    [client, refresh, onIndexed, onStart],
  );
  const stop = useCallback(async () => {
    try {
      await client.cancelIndex();
    } catch (e) {
      setError(toClientError(e).message);
    }
    await refresh();
  }, [client, refresh]);
  return { running, error, run, stop };
}

/** Library folders, their status and counts, indexing controls with live progress, and failures. */
export function Library({ status, statusError, progress, refresh, onIndexed, onIndexStart }: LibraryProps) {
  const { running, error, run, stop } = useIndexRun(refresh, onIndexed, onIndexStart);
  const indexing = running || Boolean(status?.indexing);
  const canResume =
    !indexing &&
    (progress?.phase === 'cancelled' || (status ? status.queued > 0 || status.files.pending > 0 : false));
  const roots = status?.roots ?? [];
  return (
    <section className="panel library" aria-label="Library">
      <header className="panel-header">
        <h2>Library</h2>
        {status && <span className="muted">{formatCount(status.files.indexed)} items</span>}
      </header>
      {!status && !statusError && (
        <div className="skeleton-list" aria-busy="true" aria-label="Loading the library" />
      )}
      {statusError && !status && (
        <div className="state-box is-error" role="alert">
          <p>Could not load the library: {statusError}</p>
          <button type="button" className="button" onClick={() => void refresh()}>
            Try again
          </button>
        </div>
      )}
      {status && roots.length === 0 && (
        <p className="empty-note">Add a folder of photos, recordings or videos to get started.</p>
      )}
      {roots.length > 0 && (
        <ul className="roots" aria-label="Library folders">
          {roots.map((r) => (
            <RootItem key={r.id} root={r} onRemoved={() => void refresh().then(onIndexed)} />
          ))}
        </ul>
      )}
      {status?.watching && roots.length > 0 && (
        <p className="watch-note">Watching these folders: changes are indexed by themselves.</p>
      )}
      <AddFolder
        roots={roots}
        indexing={indexing}
        onAdded={() => void refresh()}
        onIndexNow={() => void run()}
      />
      {roots.length > 0 && <LibrarySettingsForm />}
      <div className="index-controls">
        {indexing ? (
          <button type="button" className="button danger" onClick={() => void stop()}>
            <Icon name="stop" /> Stop
          </button>
        ) : (
          <button
            type="button"
            className="button primary"
            onClick={() => void run()}
            disabled={!status || roots.length === 0}
          >
            <Icon name={canResume ? 'play' : 'refresh'} /> {canResume ? 'Resume' : 'Index'}
          </button>
        )}
        {status && status.queued > 0 && !indexing && (
          <span className="muted">{formatCount(status.queued)} queued</span>
        )}
      </div>
      {progress && (indexing || progress.phase === 'done' || progress.phase === 'cancelled') && (
        <ProgressView progress={progress} />
      )}
      {indexing && !progress && <StartingView />}
      {error && (
        <p className="error-text" role="alert">
          Indexing failed: {error}
        </p>
      )}
      <Failures count={status?.files.failed ?? 0} onRetry={() => void run(true)} busy={indexing} />
    </section>
  );
}

/** What the last scan could not read (kept, like an unplugged drive's) and what it passed over, with why. */
function ScanReport({ root }: { root: RootInfo }) {
  const entry = (p: string, why: string) => (
    <li key={p}>
      <span className="root-path" title={p}>{`\u200e${p}\u200e`}</span> — {why}
    </li>
  );
  return (
    <>
      {root.unreachableTotal > 0 && (
        <details className="root-unreachable" data-testid="root-unreachable">
          <summary className="warn-text">
            <Icon name="warning" size={14} />{' '}
            {root.unreachableTotal === 1 ? '1 part' : `${root.unreachableTotal} parts`} could not be read;
            their files are kept
          </summary>
          <ul>{root.unreachable.map((u) => entry(u.path, u.error))}</ul>
        </details>
      )}
      {root.skippedTotal > 0 && (
        <details className="root-skipped" data-testid="root-skipped">
          <summary className="muted">
            {root.skippedTotal === 1 ? '1 entry' : `${formatCount(root.skippedTotal)} entries`} skipped
          </summary>
          <ul>{root.skipped.map((k) => entry(k.path, k.reason))}</ul>
        </details>
      )}
    </>
  );
}
