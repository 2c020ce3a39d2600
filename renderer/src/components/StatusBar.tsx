import type { ReactNode } from 'react';
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

function countsOf(status: Status): { short: string; full: string } {
  const { files, byKind } = status;
  const short = `${formatCount(files.indexed)} files`;
  const detail =
    `${formatCount(byKind.image?.indexed ?? 0)} photos · ${formatCount(byKind.audio?.indexed ?? 0)} audio` +
    ` · ${formatCount(byKind.video?.indexed ?? 0)} video · ${formatCount(status.segments)} segments`;
  return { short, full: `${short} (${detail})` };
}

/**
 * One entry of the bar. The bar never scrolls: when it is short of room, entries give way in
 * order of `shrink` (the counts first, the connection state never) and end in an ellipsis, and
 * each carries its whole text as a tooltip.
 */
function Item({
  title,
  shrink,
  className = '',
  children,
}: {
  title: string;
  shrink: 0 | 1 | 2 | 3;
  className?: string;
  children: ReactNode;
}) {
  return (
    <span className={`status-item shrink-${shrink} ${className}`} title={title}>
      {children}
    </span>
  );
}

function ModelItem({ model, onModels }: { model: Status['model']; onModels: () => void }) {
  const trust = model.testPack ? '' : model.verified ? 'verified' : 'unverified';
  const title = [`Model packs — ${model.name} ${model.version}`, model.licence.label, trust, model.selftest]
    .filter(Boolean)
    .join('\n');
  return (
    <button type="button" className="status-item status-model shrink-1" onClick={onModels} title={title}>
      <Icon name="chip" />
      <span className="status-text">
        {model.name} <span className="muted">{model.version}</span>
      </span>
      <span className={`pill${model.testPack ? ' warn' : ''}`}>{model.licence.name}</span>
      {!model.testPack && <span className={`pill${model.verified ? '' : ' warn'}`}>{trust}</span>}
    </button>
  );
}

/**
 * A shared catalogue this app mirrors (docs/architecture.md §13): which server and how fresh the
 * copy is; while the server cannot be reached, a warning that results are the last copy's.
 */
function SharedItem({ shared }: { shared: NonNullable<Status['shared']> }) {
  const when = shared.pulledAt ? new Date(shared.pulledAt).toLocaleTimeString() : 'never';
  const title = shared.error
    ? `The shared catalogue ${shared.label} cannot be reached (${shared.error}). Searching the copy from ${when}.`
    : `Shared catalogue ${shared.label}, as ${shared.machine}. Up to date at ${when}; ${formatCount(shared.queued)} files waiting for a worker.`;
  return (
    <Item title={title} shrink={0} className={shared.error ? 'warn' : ''}>
      <Icon name={shared.error ? 'warning' : 'database'} />
      <span className="status-text" data-testid="shared-status">
        {shared.error ? 'Shared catalogue offline' : 'Shared catalogue'}
      </span>
    </Item>
  );
}

/** What the engine is doing and whether it can be reached: never shrinks, always in view. */
function LiveItems({ status, connection }: { status: Status; connection: ConnectionState }) {
  const { model } = status;
  const reembedding = `Re-embedding for ${model.name}; searching with ${status.servingModel}`;
  const link = connection === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
  return (
    <>
      {status.servingModel !== model.id && (
        <Item title={reembedding} shrink={1} className="warn">
          <span className="status-text">{reembedding}</span>
        </Item>
      )}
      {status.shared && <SharedItem shared={status.shared} />}
      {status.indexing && (
        <Item title="Indexing" shrink={0}>
          Indexing…
        </Item>
      )}
      {connection !== 'open' && (
        <span className="status-item shrink-0 warn" role="status" title="The engine connection dropped">
          {link}
        </span>
      )}
    </>
  );
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
        <span className="status-item muted">Connecting to the engine…</span>
      </footer>
    );
  }
  const { model, vectors } = status;
  const ep = providersOf(model);
  const counts = countsOf(status);
  const vectorsText = `${vectors.backend} · ${formatCount(vectors.count)} vectors`;
  return (
    <footer className="statusbar" aria-label="Status">
      <ModelItem model={model} onModels={onModels} />
      <Item title={[`Execution providers: ${ep.text}`, ...ep.fallbacks].join('\n')} shrink={0}>
        {ep.fallbacks.length > 0 && <Icon name="warning" />}
        <span className="status-text">
          <span className="muted">EP</span> {ep.text}
        </span>
      </Item>
      <Item title={`${vectorsText}: ${vectors.dim} dimensions in ${vectors.shards} shard(s)`} shrink={2}>
        <Icon name="database" />
        <span className="status-text">
          {vectors.backend}{' '}
          <span className="muted status-detail">· {formatCount(vectors.count)} vectors</span>
        </span>
      </Item>
      <Item title={counts.full} shrink={3}>
        <span className="status-text">
          {counts.short} <span className="muted status-detail">{counts.full.slice(counts.short.length)}</span>
        </span>
      </Item>
      <span className="status-spacer" />
      <LiveItems status={status} connection={connection} />
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
  // A narrow window shows the gist on one line, so the results keep their room; the rest is a tooltip.
  const gist = model.testPack ? 'Test pack: results are not meaningful' : `${model.name} is unverified`;
  return (
    <div className="banner warn" role="status" data-testid="test-pack-banner">
      <Icon name="warning" size={18} />
      <span className="banner-text" title={message}>
        <span className="banner-long">{message}</span>
        <span className="banner-short">{gist}</span>
      </span>
      <button type="button" className="button small" onClick={onInstall}>
        <Icon name="download" /> {model.testPack ? 'Get ImageBind…' : 'Model packs…'}
      </button>
    </div>
  );
}
