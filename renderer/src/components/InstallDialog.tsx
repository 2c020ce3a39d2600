import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { AvailableModels, InstallModelRequest, ModelProgress, ModelSummary } from '../../../app/api.js';
import { toClientError } from '../api/client.js';
import { useClient } from '../api/context.js';
import { formatBytes } from '../lib/format.js';
import { Dialog } from './Dialog.js';
import { GetModels, InstallProgress } from './GetModels.js';
import { Icon } from './Icons.js';
import { ConfirmRemove, ConfirmUse } from './PackConfirm.js';
import './panels.css';

/** A question waiting for an answer: switch to a pack, or remove it. */
type Ask = { kind: 'use' | 'remove'; pack: ModelSummary };
/** The one message the dialog shows about the last action; a new action replaces it. */
type Notice = { tone: 'error' | 'success'; text: string };

function ModelList({ models, onAsk }: { models: ModelSummary[]; onAsk: (ask: Ask) => void }) {
  return (
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
              {m.licence} · {m.embeddedContents}/{m.totalContents} items embedded · {formatBytes(m.diskBytes)}
            </div>
          </div>
          {!m.active && (
            <div className="model-actions">
              <button type="button" className="button small" onClick={() => onAsk({ kind: 'use', pack: m })}>
                Use
              </button>
              <button
                type="button"
                className="icon-button"
                aria-label={`Remove ${m.name}`}
                onClick={() => onAsk({ kind: 'remove', pack: m })}
              >
                <Icon name="trash" />
              </button>
            </div>
          )}
        </li>
      ))}
    </ul>
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
  /** Forgets the last install's outcome: another action has started. */
  const reset = useCallback(() => {
    setError(null);
    setInstalled(null);
    setProgress(null);
  }, []);
  const install = async (req: InstallModelRequest) => {
    setBusy(true);
    reset();
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
  return { busy, progress, error, installed, install, cancel, reset };
}

/** What an install ended with: verified and in use, or installed but held back by its self-test. */
function InstallOutcome({ installed, onUse }: { installed: ModelSummary; onUse: () => void }) {
  if (installed.verified || installed.testPack) {
    return (
      <div className="success-text" role="status" data-testid="install-outcome">
        <Icon name="check" /> Installed {installed.name}.{' '}
        {installed.verified &&
          installed.active &&
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
      {!installed.active && (
        <button type="button" className="button small" onClick={onUse}>
          Use it anyway (unverified)
        </button>
      )}
    </div>
  );
}

/** The installed packs and what the catalogue offers, reloaded after every change. */
function usePackLists() {
  const client = useClient();
  const [models, setModels] = useState<ModelSummary[] | null>(null);
  const [available, setAvailable] = useState<AvailableModels | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const [m, a] = await Promise.all([client.listModels(), client.availableModels()]);
      setModels(m);
      setAvailable(a);
      setListError(null);
    } catch (e) {
      setListError(toClientError(e).message);
    }
  }, [client]);
  useEffect(() => void load(), [load]);
  return { models, setModels, available, listError, load };
}

/** Switching and removing, each asked first and each replacing the last message with its own. */
function usePackActions(setModels: (m: ModelSummary[]) => void, onChanged: () => void, begin: () => void) {
  const client = useClient();
  const [notice, setNotice] = useState<Notice | null>(null);
  const act = async (fn: () => Promise<ModelSummary[]>, done: string) => {
    begin();
    setNotice(null);
    try {
      setModels(await fn());
      setNotice({ tone: 'success', text: done });
      onChanged();
    } catch (e) {
      setNotice({ tone: 'error', text: toClientError(e).message });
    }
  };
  const answer = ({ kind, pack }: Ask) =>
    kind === 'use'
      ? act(
          () => client.useModel({ id: pack.id }),
          pack.reembed.contents > 0
            ? `Now using ${pack.name}; your library is being embedded again with it.`
            : `Now using ${pack.name}.`,
        )
      : act(
          () => client.removeModel({ id: pack.id }),
          `Removed ${pack.name}${pack.removeFreesDisk ? `, freeing ${formatBytes(pack.diskBytes)}` : ''}.`,
        );
  return { notice, setNotice, answer };
}

function NoticeText({ notice }: { notice: Notice }) {
  return notice.tone === 'error' ? (
    <p className="error-text" role="alert">
      {notice.text}
    </p>
  ) : (
    <p className="success-text" role="status">
      <Icon name="check" /> {notice.text}
    </p>
  );
}

/** Get ImageBind, install a pack from a URL, folder or checkpoint, and choose among installed ones. */
export function InstallDialog({ onClose, onChanged }: { onClose: () => void; onChanged: () => void }) {
  const { models, setModels, available, listError, load } = usePackLists();
  const [ask, setAsk] = useState<Ask | null>(null);
  const run = useInstall(async () => {
    await load();
    onChanged();
  });
  const { notice, setNotice, answer } = usePackActions(setModels, onChanged, run.reset);
  const install = (r: InstallModelRequest) => {
    setNotice(null);
    void run.install(r);
  };
  // The installed pack as the list has it now: gone once removed, and no "Use it now" once in use.
  const installed = run.installed && models?.find((m) => m.id === run.installed!.id);
  return (
    <Dialog title="Model packs" onClose={onClose} className="install">
      <div className="install-body">
        {available && (
          <GetModels
            models={available.models}
            mirror={available.mirror}
            busy={run.busy}
            onInstall={install}
          />
        )}
        {run.progress && (run.busy || run.progress.phase === 'done') && (
          <InstallProgress p={run.progress} onCancel={run.busy ? run.cancel : undefined} />
        )}
        {run.busy && !run.progress && <p className="muted">Starting…</p>}
        {(run.error ?? listError) && (
          <p className="error-text" role="alert">
            {run.error ?? listError}
          </p>
        )}
        {installed && (
          <InstallOutcome installed={installed} onUse={() => setAsk({ kind: 'use', pack: installed })} />
        )}
        <h3 className="side-title">Installed</h3>
        {models ? (
          <ModelList models={models} onAsk={setAsk} />
        ) : (
          <div className="skeleton-list" aria-busy="true" />
        )}
        {notice && <NoticeText notice={notice} />}
        <h3 className="side-title">Other sources</h3>
        <p className="muted small">
          A pack's <code>pack.json</code> URL or folder, or a checkpoint you already have (converted here).
        </p>
        <SourceForm busy={run.busy} onInstall={install} />
      </div>
      {ask && <Question ask={ask} models={models ?? []} onAnswer={answer} onDone={() => setAsk(null)} />}
    </Dialog>
  );
}

function Question({
  ask,
  models,
  onAnswer,
  onDone,
}: {
  ask: Ask;
  models: ModelSummary[];
  onAnswer: (ask: Ask) => Promise<void>;
  onDone: () => void;
}) {
  const confirm = () => {
    onDone();
    void onAnswer(ask);
  };
  return ask.kind === 'use' ? (
    <ConfirmUse pack={ask.pack} models={models} onConfirm={confirm} onCancel={onDone} />
  ) : (
    <ConfirmRemove pack={ask.pack} onConfirm={confirm} onCancel={onDone} />
  );
}
