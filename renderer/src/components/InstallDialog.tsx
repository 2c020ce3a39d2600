import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { AvailableModels, InstallModelRequest, ModelProgress, ModelSummary } from '../../../app/api.js';
import { toClientError } from '../api/client.js';
import { useClient } from '../api/context.js';
import { Dialog } from './Dialog.js';
import { GetModels, InstallProgress } from './GetModels.js';
import { Icon } from './Icons.js';

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
              {!m.testPack && (
                <span
                  className={`pill${m.verified ? '' : ' warn'}`}
                  title={m.selftest ?? 'no self-test recorded'}
                >
                  {m.verified ? 'verified' : 'unverified'}
                </span>
              )}
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

function SourceForm({ busy, onInstall }: { busy: boolean; onInstall: (req: InstallModelRequest) => void }) {
  const client = useClient();
  const [source, setSource] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (source.trim()) onInstall({ source: source.trim() });
  };
  return (
    <form className="field-row" onSubmit={submit}>
      <input
        className="input"
        type="text"
        value={source}
        onChange={(e) => setSource(e.currentTarget.value)}
        placeholder="https://…/pack.json, a pack folder, or a checkpoint (.pth, .safetensors)"
        aria-label="Model pack URL, folder or checkpoint"
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
      <button type="submit" className="button" disabled={busy || !source.trim()}>
        <Icon name="download" /> Install from source
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
  const install = async (req: InstallModelRequest) => {
    setBusy(true);
    setError(null);
    setInstalled(null);
    setProgress(null);
    try {
      setInstalled(await client.installModel(req));
    } catch (err) {
      setError(toClientError(err).message);
    } finally {
      setBusy(false);
      await onDone();
    }
  };
  const cancel = () => void client.cancelModelInstall();
  return { busy, progress, error, installed, install, cancel };
}

/** What an install ended with: verified and in use, or installed but held back by its self-test. */
function InstallOutcome({ installed, onUse }: { installed: ModelSummary; onUse: () => void }) {
  if (installed.verified || installed.testPack) {
    return (
      <div className="success-text" role="status" data-testid="install-outcome">
        <Icon name="check" /> Installed {installed.name}.{' '}
        {installed.verified &&
          'Its self-test passed: it is in use, and your library is being re-embedded with it.'}
        {!installed.active && (
          <button type="button" className="button small primary" onClick={onUse}>
            Use it now
          </button>
        )}
      </div>
    );
  }
  return (
    <div className="error-text" role="alert" data-testid="install-outcome">
      <Icon name="warning" /> {installed.name} is installed but not in use:{' '}
      {installed.selftest ? `its self-test failed — ${installed.selftest}` : 'it has not been self-tested'}.{' '}
      <button type="button" className="button small" onClick={onUse}>
        Use it anyway (unverified)
      </button>
    </div>
  );
}

/** Get ImageBind, install a pack from a URL, folder or checkpoint, and choose among installed ones. */
export function InstallDialog({ onClose, onChanged }: { onClose: () => void; onChanged: () => void }) {
  const client = useClient();
  const [models, setModels] = useState<ModelSummary[] | null>(null);
  const [available, setAvailable] = useState<AvailableModels | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const [m, a] = await Promise.all([client.listModels(), client.availableModels()]);
      setModels(m);
      setAvailable(a);
    } catch (e) {
      setListError(toClientError(e).message);
    }
  }, [client]);
  useEffect(() => void load(), [load]);
  const changed = (m: ModelSummary[]) => {
    setModels(m);
    onChanged();
  };
  const { busy, progress, error, installed, install, cancel } = useInstall(async () => {
    await load();
    onChanged();
  });
  return (
    <Dialog title="Model packs" onClose={onClose} className="install">
      <div className="install-body">
        {available && (
          <GetModels
            models={available.models}
            mirror={available.mirror}
            busy={busy}
            onInstall={(r) => void install(r)}
          />
        )}
        {progress && (busy || progress.phase === 'done') && (
          <InstallProgress p={progress} onCancel={busy ? cancel : undefined} />
        )}
        {busy && !progress && <p className="muted">Starting…</p>}
        {(error ?? listError) && (
          <p className="error-text" role="alert">
            {error ?? listError}
          </p>
        )}
        {installed && (
          <InstallOutcome
            installed={installed}
            onUse={() => void client.useModel({ id: installed.id }).then(changed)}
          />
        )}
        <h3 className="side-title">Installed</h3>
        {models ? (
          <ModelList models={models} onChange={changed} />
        ) : (
          <div className="skeleton-list" aria-busy="true" />
        )}
        <h3 className="side-title">Other sources</h3>
        <p className="muted small">
          A pack's <code>pack.json</code> URL or folder, or a checkpoint you already have (converted here).
        </p>
        <SourceForm busy={busy} onInstall={(r) => void install(r)} />
      </div>
    </Dialog>
  );
}
