import type { ModelSummary, ReembedEstimate } from '../../../app/api.js';
import type { MediaKind } from '../../../app/modality.js';
import { formatBytes, formatCount } from '../lib/format.js';
import { ConfirmDialog } from './Dialog.js';

/**
 * The two questions the model-packs dialog asks before acting (issue 15, item 5): removing a pack
 * (what leaves the disk and the catalogue) and switching to one (how much of the library is
 * embedded again, and about how long that takes at the pace this catalogue has recorded).
 */

const KIND_WORDS: Record<MediaKind, [string, string]> = {
  image: ['photo', 'photos'],
  audio: ['recording', 'recordings'],
  video: ['video', 'videos'],
};

/** "4 photos, 1 recording and 1 video" (kinds with none left out). */
export function kindsInWords(byKind: ReembedEstimate['byKind']): string {
  const parts = (Object.keys(KIND_WORDS) as MediaKind[])
    .filter((k) => byKind[k] > 0)
    .map((k) => `${formatCount(byKind[k])} ${KIND_WORDS[k][byKind[k] === 1 ? 0 : 1]}`);
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : (parts[0] ?? '');
}

/** 40 → "under a minute"; 200 → "about 3 min"; 5400 → "about 1 h 30 min". */
export function aboutDuration(seconds: number): string {
  if (seconds < 60) return 'under a minute';
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min`;
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return m ? `about ${h} h ${m} min` : `about ${h} h`;
}

function packName(id: string | null, models: readonly ModelSummary[]): string {
  return models.find((m) => m.id === id)?.name ?? id ?? '';
}

/** How long, and on what the guess rests. */
function TimeEstimate({ pack, models }: { pack: ModelSummary; models: readonly ModelSummary[] }) {
  const { seconds, paceOf } = pack.reembed;
  if (seconds === null)
    return <p>How long that takes is not known yet: nothing has been indexed on this computer so far.</p>;
  const basis =
    paceOf === pack.id
      ? `at the pace ${pack.name} has embedded here so far`
      : `at the pace ${packName(paceOf, models)} embedded here; another model can be much slower or faster`;
  return (
    <p>
      It takes <strong data-testid="reembed-time">{aboutDuration(seconds)}</strong> ({basis}).
    </p>
  );
}

export function ConfirmUse({
  pack,
  models,
  onConfirm,
  onCancel,
}: {
  pack: ModelSummary;
  models: readonly ModelSummary[];
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { contents, byKind } = pack.reembed;
  const current = models.find((m) => m.active);
  return (
    <ConfirmDialog
      title={`Switch to ${pack.name}?`}
      confirmLabel="Switch"
      onConfirm={onConfirm}
      onCancel={onCancel}
    >
      {contents === 0 ? (
        <p>It has embedded your whole library already: nothing is embedded again.</p>
      ) : (
        <>
          <p data-testid="reembed-count">
            Your library's {formatCount(contents)} {contents === 1 ? 'item' : 'items'} ({kindsInWords(byKind)}
            ) will be embedded again with {pack.name}.
          </p>
          <TimeEstimate pack={pack} models={models} />
          {current && <p className="muted">Until then, search keeps using {current.name}.</p>}
        </>
      )}
      {!pack.verified && !pack.testPack && (
        <p className="warn-text">It has not passed its self-test: its results may be wrong.</p>
      )}
    </ConfirmDialog>
  );
}

export function ConfirmRemove({
  pack,
  onConfirm,
  onCancel,
}: {
  pack: ModelSummary;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <ConfirmDialog
      title={`Remove ${pack.name}?`}
      confirmLabel="Remove pack"
      danger
      onConfirm={onConfirm}
      onCancel={onCancel}
    >
      {pack.removeFreesDisk ? (
        <p data-testid="remove-frees">
          Its files are deleted, freeing <strong>{formatBytes(pack.diskBytes)}</strong> on disk.
        </p>
      ) : (
        <p data-testid="remove-frees">
          Its files ({formatBytes(pack.diskBytes)}) stay in {pack.dir}: Bindery did not install them there.
        </p>
      )}
      <p>
        Its vectors for {formatCount(pack.embeddedContents)} {pack.embeddedContents === 1 ? 'item' : 'items'}{' '}
        leave the catalogue; using it again means installing it and embedding your library again.
      </p>
    </ConfirmDialog>
  );
}
