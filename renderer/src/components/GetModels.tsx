import { useState } from 'react';
import type { AvailableModel, InstallModelRequest, ModelProgress } from '../../../app/api.js';
import { formatBytes } from '../lib/format.js';
import { Icon } from './Icons.js';

/**
 * "Get ImageBind": the packs Bindery can install by name, with what they cost (download, disk)
 * and their licence, which must be accepted before anything is downloaded.
 */

const PHASE: Record<ModelProgress['phase'], string> = {
  download: 'Downloading',
  verify: 'Checking',
  convert: 'Converting',
  selftest: 'Self-test',
  install: 'Installing',
  done: 'Installed',
  error: 'Failed',
};

function eta(s: number): string {
  if (s < 60) return `${Math.round(s)} s left`;
  if (s < 3600) return `${Math.round(s / 60)} min left`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min left`;
}

export function InstallProgress({ p, onCancel }: { p: ModelProgress; onCancel?: () => void }) {
  const pct = p.bytesTotal ? Math.min(100, (p.bytesDone / p.bytesTotal) * 100) : undefined;
  const rate = p.bytesPerSec ? `${formatBytes(p.bytesPerSec)}/s` : null;
  return (
    <div className="progress-card" data-phase={p.phase} data-testid="install-progress">
      <div className="progress-head">
        <strong>{PHASE[p.phase]}</strong>
        <span className="muted">
          {p.bytesTotal ? `${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}` : ''}
          {rate && ` · ${rate}`}
          {p.etaS !== null && ` · ${eta(p.etaS)}`}
        </span>
        {onCancel && p.phase !== 'done' && p.phase !== 'error' && (
          <button type="button" className="button small" onClick={onCancel}>
            Cancel
          </button>
        )}
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
      {p.message ? (
        <div className="muted">{p.message}</div>
      ) : (
        p.file && <div className="progress-current">{p.file}</div>
      )}
    </div>
  );
}

function Licence({ m }: { m: AvailableModel }) {
  return (
    <div className="licence">
      <strong>{m.licence.summary}.</strong>{' '}
      {m.licence.terms.map((t, i) => (
        <span key={t.name}>
          {i > 0 && '; '}
          {t.statedIn} says{' '}
          <a href={t.url} target="_blank" rel="noreferrer">
            {t.name}
          </a>
        </span>
      ))}
      .
    </div>
  );
}

function CatalogueCard({
  m,
  busy,
  onInstall,
}: {
  m: AvailableModel;
  busy: boolean;
  onInstall: (req: InstallModelRequest) => void;
}) {
  const [accepted, setAccepted] = useState(false);
  const [keep, setKeep] = useState(false);
  const download = m.localCheckpoint
    ? `no download (found ${m.localCheckpoint})`
    : `${formatBytes(m.downloadBytes)} download${m.partialBytes ? ` (resumes at ${formatBytes(m.partialBytes)})` : ''}`;
  return (
    <li className="catalogue-card" data-testid={`catalogue-${m.id}`}>
      <div className="model-body">
        <strong>{m.name}</strong>
        {m.installed && <span className="pill">installed</span>}
        {m.recommended && <span className="pill accent">recommended for this computer</span>}
        <div className="muted small">{m.description}</div>
        <div className="small">
          {download} · {formatBytes(m.diskBytes)} of disk · {m.modalities.join(', ')}
        </div>
        <Licence m={m} />
        <label className="check">
          <input type="checkbox" checked={accepted} onChange={(e) => setAccepted(e.currentTarget.checked)} />I
          accept this licence: non-commercial use only
        </label>
        <label className="check small">
          <input type="checkbox" checked={keep} onChange={(e) => setKeep(e.currentTarget.checked)} />
          Keep the downloaded checkpoint after converting it
        </label>
      </div>
      <div className="model-actions">
        <button
          type="button"
          className="button primary"
          disabled={busy || !accepted}
          onClick={() => onInstall({ source: m.id, acceptLicence: true, keepCheckpoint: keep })}
        >
          <Icon name="download" /> Install
        </button>
      </div>
    </li>
  );
}

export function GetModels({
  models,
  mirror,
  busy,
  onInstall,
}: {
  models: AvailableModel[];
  mirror: string | null;
  busy: boolean;
  onInstall: (req: InstallModelRequest) => void;
}) {
  return (
    <section aria-label="Get models">
      <h3 className="side-title">Get ImageBind</h3>
      <p className="muted small">
        Bindery downloads Meta's official checkpoint{mirror ? ` (through the mirror ${mirror})` : ''},
        converts it on this computer, and checks the result against ImageBind's own published example before
        using it.
      </p>
      <ul className="models">
        {/* The pack recommended for this computer first; the rest in the catalogue's order. */}
        {[...models]
          .sort((a, b) => Number(b.recommended) - Number(a.recommended))
          .map((m) => (
            <CatalogueCard key={m.id} m={m} busy={busy} onInstall={onInstall} />
          ))}
      </ul>
    </section>
  );
}
