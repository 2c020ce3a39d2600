import { useCallback, useRef, useState, type Dispatch, type DragEvent, type KeyboardEvent } from 'react';
import { INPUT_KINDS, type InputKind } from '../../../app/modality.js';
import { toClientError, type BinderyClient } from '../api/client.js';
import { acceptFor, guessModality, KIND_LABEL, supportedGuess } from '../lib/modality.js';
import { peaksFromFile } from '../lib/peaks.js';
import { chipId, textChip, type Chip, type ChipAction, type ChipKind } from '../state/chips.js';
import { ChipView } from './ChipView.js';
import { Icon } from './Icons.js';

const PREVIEWABLE = /^image\/(jpeg|png|gif|webp|avif|bmp|svg\+xml)$/;

/** Turns a file dropped from the OS into a chip, resolving it to a path the engine can read. */
export function addFileChip(
  file: File,
  inputKinds: readonly InputKind[],
  client: BinderyClient,
  dispatch: Dispatch<ChipAction>,
): void {
  const guess = guessModality(file);
  const usable = supportedGuess(guess, inputKinds);
  const id = chipId();
  const base = { id, label: file.name, weight: 1 };
  if (!usable.kind) {
    const why = guess.kind
      ? `The active model pack cannot search by ${KIND_LABEL[guess.kind].toLowerCase()}`
      : 'Not a photo, recording, video, depth/thermal image or IMU CSV';
    dispatch({ type: 'add', chip: { ...base, kind: 'image', candidates: [], state: 'error', error: why } });
    return;
  }
  const isPicture = usable.kind === 'image' || usable.kind === 'depth' || usable.kind === 'thermal';
  const thumbUrl =
    isPicture && PREVIEWABLE.test(file.type) && typeof URL.createObjectURL === 'function'
      ? URL.createObjectURL(file)
      : undefined;
  const kind = usable.kind;
  const chip: Chip = {
    ...base,
    kind,
    candidates: usable.candidates,
    thumbUrl,
    ownsThumb: Boolean(thumbUrl),
    state: 'resolving',
  };
  dispatch({ type: 'add', chip });
  if (usable.kind === 'audio' || usable.kind === 'video') {
    void peaksFromFile(file, 48).then((peaks) => peaks && dispatch({ type: 'update', id, patch: { peaks } }));
  }
  client.resolveDroppedFile(file).then(
    (path) => prepareFileChip(client, dispatch, { id, kind, path, label: file.name }),
    (e: unknown) =>
      dispatch({ type: 'update', id, patch: { state: 'error', error: toClientError(e).message } }),
  );
}

/**
 * Prepares and encodes a file chip's input as soon as it is added or switched to another kind
 * (the engine caches the vector, so searches and slider moves never encode it again). An input
 * the engine cannot use shows why on its own chip, in words naming the file rather than an
 * internal upload path, and is left out of the query; the other inputs still search.
 */
export function prepareFileChip(
  client: BinderyClient,
  dispatch: Dispatch<ChipAction>,
  c: { id: string; kind: ChipKind; path: string; label: string },
): void {
  if (c.kind === 'text' || c.kind === 'segment') return;
  dispatch({
    type: 'update',
    id: c.id,
    patch: { path: c.path, kind: c.kind, state: 'resolving', error: undefined },
  });
  client.embed({ modality: c.kind, path: c.path }).then(
    (e) => dispatch({ type: 'update', id: c.id, patch: { state: 'ready', ...soundless(c, e.hasAudio) } }),
    (e: unknown) => {
      const error = toClientError(e).message.split(c.path).join(c.label);
      dispatch({ type: 'update', id: c.id, patch: { state: 'error', error } });
    },
  );
}

/** A video without a soundtrack is not offered as "Audio": that search could only fail. */
function soundless(c: { kind: ChipKind }, hasAudio: boolean | undefined): Partial<Chip> {
  return c.kind === 'video' && hasAudio === false ? { candidates: ['video'] } : {};
}

function describeKinds(kinds: readonly InputKind[]): string {
  const words: string[] = [];
  if (kinds.includes('image')) words.push('photos');
  if (kinds.includes('audio')) words.push('recordings');
  if (kinds.includes('video')) words.push('videos');
  if (kinds.includes('depth')) words.push('depth maps');
  if (kinds.includes('thermal')) words.push('thermal images');
  if (kinds.includes('imu')) words.push('IMU CSV files');
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

function useDropTarget(onFiles: (files: File[]) => void) {
  const [dragging, setDragging] = useState(false);
  const depth = useRef(0);
  const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  return {
    dragging,
    handlers: {
      onDragEnter: (e: DragEvent) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        depth.current++;
        setDragging(true);
      },
      onDragOver: (e: DragEvent) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
      },
      onDragLeave: () => {
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setDragging(false);
      },
      onDrop: (e: DragEvent) => {
        e.preventDefault();
        depth.current = 0;
        setDragging(false);
        const files = Array.from(e.dataTransfer?.files ?? []);
        if (files.length) onFiles(files);
      },
    },
  };
}

function TextBox({ disabled, onAdd }: { disabled: boolean; onAdd: (text: string) => void }) {
  const [text, setText] = useState('');
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key !== 'Enter' || e.nativeEvent.isComposing) return;
    e.preventDefault();
    const t = text.trim().slice(0, 4000);
    if (!t) return;
    onAdd(t);
    setText('');
  };
  return (
    <div className="composer-text">
      <Icon name="search" size={18} className="composer-text-icon" />
      <input
        type="text"
        className="composer-input"
        value={text}
        disabled={disabled}
        onChange={(e) => setText(e.currentTarget.value)}
        onKeyDown={onKey}
        placeholder={
          disabled
            ? 'This model pack has no text encoder'
            : 'Describe what you are looking for, then press Enter'
        }
        aria-label="Add a text term (press Enter)"
        enterKeyHint="search"
      />
    </div>
  );
}

export interface ComposerProps {
  chips: Chip[];
  dispatch: Dispatch<ChipAction>;
  inputKinds: readonly InputKind[] | null;
  client: BinderyClient;
}

/** "Add files…": the keyboard- and mouse-friendly alternative to dropping. */
function FileButton({ fileKinds, onFiles }: { fileKinds: InputKind[]; onFiles: (files: File[]) => void }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button
        type="button"
        className="button"
        onClick={() => input.current?.click()}
        disabled={fileKinds.length === 0}
      >
        <Icon name="upload" /> Add files…
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        accept={acceptFor(fileKinds)}
        onChange={(e) => {
          onFiles(Array.from(e.currentTarget.files ?? []));
          e.currentTarget.value = '';
        }}
      />
    </>
  );
}

function releaseThumb(c: Chip | undefined): void {
  if (c?.ownsThumb && c.thumbUrl) URL.revokeObjectURL(c.thumbUrl);
}

/** Stable chip callbacks (so a slider move re-renders one chip, not all). Removal keeps focus nearby. */
function useChipHandlers(chips: Chip[], dispatch: Dispatch<ChipAction>, client: BinderyClient) {
  const listRef = useRef<HTMLDivElement>(null);
  const chipsRef = useRef(chips);
  chipsRef.current = chips;
  const onWeight = useCallback(
    (id: string, weight: number) => dispatch({ type: 'update', id, patch: { weight } }),
    [dispatch],
  );
  const onKind = useCallback(
    (id: string, kind: ChipKind) => {
      const c = chipsRef.current.find((x) => x.id === id);
      if (c?.path) prepareFileChip(client, dispatch, { id, kind, path: c.path, label: c.label });
      else dispatch({ type: 'update', id, patch: { kind } });
    },
    [dispatch, client],
  );
  const onRemove = useCallback(
    (id: string) => {
      const list = listRef.current;
      const els = list ? Array.from(list.querySelectorAll<HTMLElement>('[data-chip-id]')) : [];
      const i = els.findIndex((el) => el.dataset.chipId === id);
      const next = els[i + 1] ?? els[i - 1];
      releaseThumb(chipsRef.current.find((c) => c.id === id));
      dispatch({ type: 'remove', id });
      if (i >= 0 && document.activeElement && list?.contains(document.activeElement)) {
        const input = list.closest('.composer')?.querySelector<HTMLElement>('.composer-input');
        requestAnimationFrame(() => (next ?? input)?.focus());
      }
    },
    [dispatch],
  );
  const onClear = useCallback(() => {
    chipsRef.current.forEach(releaseThumb);
    dispatch({ type: 'clear' });
  }, [dispatch]);
  return { listRef, onWeight, onKind, onRemove, onClear };
}

/** The query composer: a drop zone for files from the OS, a text box, and one chip per input. */
export function Composer({ chips, dispatch, inputKinds, client }: ComposerProps) {
  // Until the status arrives, accept everything; the engine has the last word anyway.
  const kinds = inputKinds ?? INPUT_KINDS;
  const onFiles = useCallback(
    (files: File[]) => files.forEach((f) => addFileChip(f, kinds, client, dispatch)),
    [kinds, client, dispatch],
  );
  const { dragging, handlers } = useDropTarget(onFiles);
  const { listRef, onWeight, onKind, onRemove, onClear } = useChipHandlers(chips, dispatch, client);
  const fileKinds = kinds.filter((k) => k !== 'text');
  const what = describeKinds(fileKinds);
  return (
    <section
      className={`composer${dragging ? ' is-dragging' : ''}`}
      aria-label="Query composer"
      {...handlers}
    >
      <div className="composer-row">
        <TextBox
          disabled={inputKinds !== null && !kinds.includes('text')}
          onAdd={(t) => dispatch({ type: 'add', chip: textChip(t) })}
        />
        <FileButton fileKinds={fileKinds} onFiles={onFiles} />
        {chips.length > 0 && (
          <button type="button" className="button ghost" onClick={onClear}>
            Clear
          </button>
        )}
      </div>
      <div
        className={`dropzone${chips.length ? ' has-chips' : ''}`}
        data-testid="dropzone"
        aria-label={what ? `Drop ${what} here to search with them` : 'Drop zone'}
      >
        {chips.length === 0 ? (
          <p className="dropzone-hint">
            <Icon name="upload" size={18} /> Drop {what || 'files'} here — or type words above — to search by
            meaning. Combine several and weigh them against each other.
          </p>
        ) : (
          <div className="chips" ref={listRef} role="list" aria-label="Query terms">
            {chips.map((c) => (
              <div role="listitem" key={c.id} className="chip-item">
                <ChipView chip={c} onWeight={onWeight} onKind={onKind} onRemove={onRemove} />
              </div>
            ))}
          </div>
        )}
        {dragging && (
          <div className="dropzone-overlay" aria-hidden="true">
            <Icon name="upload" size={28} /> Drop to add to the query
          </div>
        )}
      </div>
    </section>
  );
}
