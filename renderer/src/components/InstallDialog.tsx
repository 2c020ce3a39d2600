import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { ModelProgress, ModelSummary } from '../../../app/api.js';
import { toClientError } from '../api/client.js';
import { useClient } from '../api/context.js';
import { formatBytes } from '../lib/format.js';
import { Dialog } from './Dialog.js';
import { Icon } from './Icons.js';

const PHASE: Record<ModelProgress['phase'], string> = {
  download: 'Downloading',
  verify: 'Verifying',
  convert: 'Converting',
  install: 'Installing',
  done: 'Installed',
  error: 'Failed',
};

function InstallProgress({ p }: { p: ModelProgress }) {
  const pct = p.bytesTotal ? Math.min(100, (p.bytesDone / p.bytesTotal) * 100) : undefined;
  return (
    <div className="progress-card" data-phase={p.phase}>
      <div className="progress-head">
        <strong>{PHASE[p.phase]}</strong>
        <span className="muted">
          {formatBytes(p.bytesDone)}
          {p.bytesTotal ? ` / ${formatBytes(p.bytesTotal)}` : ''}
        </span>
      </div>
      <div
        className={`progress${pct === undefined && p.phase !== 'done' ? ' is-indeterminate' : ''}`}
        role="progressbar"
        aria-label="Model pack installation"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct === undefined ? undefined : Math.round(pct)}
      >
        <span style={{ width: pct === undefined ? (p.phase === 'done' ? '100%' : undefined) : `${pct}%` }} />
      </div>
      {p.file && <div className="progress-current">{p.file}</div>}
      {p.message && <div className="muted">{p.message}</div>}
    </div>
  );
}

function ModelList({ models, onChange }: { models: ModelSummary[]; onChange: (m: ModelSummary[]) => void }) {
  const client = useClient();
  const [error, setError] = useState<string | null>(null);
  const act = async (fn: () => Promise<ModelSummary[]>) => {
    setError(null);
    try {
      onChange(await fn());
    } catch (e) {
      setError(toClientError(e).message);
    }
  };
  return (
    <>
      <ul className="models" aria-label="Installed model packs">
        {models.map((m) => (
          <li key={m.id} className={`model${m.active ? ' is-active' : ''}`}>
            <div className="model-body">
              <strong>{m.name}</strong> <span className="muted">{m.version}</span>
              {m.active && <span className="pill">active</span>}
              {m.testPack && <span className="pill warn">test pack</span>}
              <div className="muted small">
                {m.licence} · {m.embeddedContents}/{m.totalContents} items embedded
              </div>
            </div>
            {!m.active && (
              <div className="model-actions">
                <button
                  type="button"
                  className="button small"
                  onClick={() => void act(() => client.useModel({ id: m.id }))}
                >
                  Use
                </button>
                <button
                  type="button"
                  className="icon-button"
                  aria-label={`Remove ${m.name}`}
                  onClick={() => void act(() => client.removeModel({ id: m.id }))}
                >
                  <Icon name="trash" />
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
      {error && <p className="error-text">{error}</p>}
    </>
  );
}

function SourceForm({ busy, onInstall }: { busy: boolean; onInstall: (source: string) => void }) {
  const client = useClient();
  const [source, setSource] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (source.trim()) onInstall(source.trim());
  };
  return (
    <form className="field-row" onSubmit={submit}>
      <input
        className="input"
        type="text"
        value={source}
        onChange={(e) => setSource(e.currentTarget.value)}
        placeholder="https://…/pack.json or /path/to/pack-folder"
        aria-label="Model pack URL or folder"
        spellCheck={false}
        disabled={busy}
      />
      {client.chooseFolder && (
        <button
          type="button"
          className="button"
          disabled={busy}
          onClick={() => void client.chooseFolder?.().then((p) => p && setSource(p))}
        >
          <Icon name="folder" /> Folder…
        </button>
      )}
      <button type="submit" className="button primary" disabled={busy || !source.trim()}>
        <Icon name="download" /> Install
      </button>
    </form>
  );
}

/** The install run: busy flag, live progress from `modelProgress`, the result or the error. */
function useInstall(onDone: () => Promise<void>) {
  const client = useClient();
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<ModelProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [installed, setInstalled] = useState<ModelSummary | null>(null);
  useEffect(() => client.onModelProgress(setProgress), [client]);
  const install = async (source: string) => {
    setBusy(true);
    setError(null);
    setInstalled(null);
    setProgress(null);
    try {
      setInstalled(await client.installModel({ source }));
      await onDone();
    } catch (err) {
      setError(toClientError(err).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, progress, error, installed, install };
}

/** Install a model pack from a pack.json URL or a local folder, with progress; pick the active one. */
export function InstallDialog({ onClose, onChanged }: { onClose: () => void; onChanged: () => void }) {
  const client = useClient();
  const [models, setModels] = useState<ModelSummary[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const load = useCallback(
    () => client.listModels().then(setModels, (e: unknown) => setListError(toClientError(e).message)),
    [client],
  );
  useEffect(() => void load(), [load]);
  const changed = (m: ModelSummary[]) => {
    setModels(m);
    onChanged();
  };
  const { busy, progress, error, installed, install } = useInstall(async () => {
    await load();
    onChanged();
  });
  return (
    <Dialog title="Model packs" onClose={onClose} className="install">
      <div className="install-body">
        <p className="muted">
          Bindery ships with a tiny test pack so everything can run; its results are random. Install a real
          pack (for example ImageBind, CC-BY-NC 4.0) from the URL of its <code>pack.json</code> or from a
          folder.
        </p>
        <SourceForm busy={busy} onInstall={(s) => void install(s)} />
        {progress && (busy || progress.phase === 'done') && <InstallProgress p={progress} />}
        {busy && !progress && <p className="muted">Starting…</p>}
        {(error ?? listError) && (
          <p className="error-text" role="alert">
            {error ?? listError}
          </p>
        )}
        {installed && (
          <div className="success-text" role="status">
            <Icon name="check" /> Installed {installed.name} {installed.version}.
            {!installed.active && (
              <button
                type="button"
                className="button small primary"
                onClick={() => void client.useModel({ id: installed.id }).then(changed)}
              >
                Use it now
              </button>
            )}
          </div>
        )}
        <h3 className="side-title">Installed</h3>
        {models ? (
          <ModelList models={models} onChange={changed} />
        ) : (
          <div className="skeleton-list" aria-busy="true" />
        )}
      </div>
    </Dialog>
  );
}
