import type { Status } from '../../../app/api.js';
import type { ConnectionState } from '../api/client.js';
import { formatCount } from '../lib/format.js';
import { Icon } from './Icons.js';

function providersOf(model: Status['model']): { text: string; fallbacks: string[] } {
  const reports = Object.entries(model.providers);
  if (reports.length === 0)
    return { text: `${model.providerOrder.join(' → ')} (not loaded yet)`, fallbacks: [] };
  const used = Array.from(new Set(reports.map(([, r]) => r.provider)));
  const fallbacks = reports.flatMap(([enc, r]) =>
    r.fallbacks.map((f) => `${enc}: ${f.provider} unavailable (${f.reason})`),
  );
  return { text: used.join(', '), fallbacks };
}

/** Model pack, licence, execution providers, vector backend and counts, always in view. */
export function StatusBar({
  status,
  connection,
  onModels,
}: {
  status: Status | null;
  connection: ConnectionState;
  onModels: () => void;
}) {
  if (!status) {
    return (
      <footer className="statusbar" aria-label="Status">
        <span className="muted">Connecting to the engine…</span>
      </footer>
    );
  }
  const { model, vectors, files, byKind } = status;
  const ep = providersOf(model);
  return (
    <footer className="statusbar" aria-label="Status">
      <button type="button" className="status-item status-model" onClick={onModels} title="Model packs">
        <Icon name="chip" />
        <span>
          {model.name} <span className="muted">{model.version}</span>
        </span>
        <span className={`pill${model.testPack ? ' warn' : ''}`} title={model.licence.label}>
          {model.licence.name}
        </span>
        {!model.testPack && (
          <span
            className={`pill${model.verified ? '' : ' warn'}`}
            title={model.selftest ?? 'no self-test recorded'}
          >
            {model.verified ? 'verified' : 'unverified'}
          </span>
        )}
      </button>
      <span className="status-item" title={ep.fallbacks.join('\n') || 'Execution providers in use'}>
        {ep.fallbacks.length > 0 && <Icon name="warning" />}
        <span className="muted">EP</span> {ep.text}
      </span>
      <span
        className="status-item"
        title={`${vectors.count} vectors of ${vectors.dim} dimensions in ${vectors.shards} shard(s)`}
      >
        <Icon name="database" />
        {vectors.backend} <span className="muted">· {formatCount(vectors.count)} vectors</span>
      </span>
      <span className="status-item">
        {formatCount(files.indexed)} files{' '}
        <span className="muted">
          ({formatCount(byKind.image?.indexed ?? 0)} photos · {formatCount(byKind.audio?.indexed ?? 0)} audio
          · {formatCount(byKind.video?.indexed ?? 0)} video) · {formatCount(status.segments)} segments
        </span>
      </span>
      {status.servingModel !== model.id && (
        <span className="status-item warn">
          Re-embedding for {model.name}; searching with {status.servingModel}
        </span>
      )}
      <span className="status-spacer" />
      {status.indexing && <span className="status-item">Indexing…</span>}
      {connection !== 'open' && (
        <span className="status-item warn" role="status">
          {connection === 'reconnecting' ? 'Reconnecting…' : 'Connecting…'}
        </span>
      )}
    </footer>
  );
}

export const TEST_PACK_MESSAGE =
  'Test pack with random weights — results are not meaningful until you install a real model pack';

/**
 * Shown while the active pack cannot be trusted: the random test pack (first run: it offers
 * ImageBind), or a pack whose self-test did not pass. A verified pack removes it.
 */
export function ModelBanner({ model, onInstall }: { model: Status['model']; onInstall: () => void }) {
  if (!model.testPack && model.verified) return null;
  const message = model.testPack
    ? TEST_PACK_MESSAGE
    : `${model.name} is unverified — ${model.selftest ? `its self-test failed: ${model.selftest}` : 'it has not passed a self-test'}`;
  return (
    <div className="banner warn" role="status" data-testid="test-pack-banner">
      <Icon name="warning" size={18} />
      <span>{message}</span>
      <button type="button" className="button small" onClick={onInstall}>
        <Icon name="download" /> {model.testPack ? 'Get ImageBind…' : 'Model packs…'}
      </button>
    </div>
  );
}
