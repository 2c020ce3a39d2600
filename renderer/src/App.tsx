import { useCallback, useEffect, useMemo, useReducer, useState, type MouseEvent } from 'react';
import type { Status } from '../../app/api.js';
import type { SearchHit } from '../../app/query.js';
import type { BinderyClient } from './api/client.js';
import { ClientProvider } from './api/context.js';
import { Composer } from './components/Composer.js';
import { FiltersBar } from './components/FiltersBar.js';
import { InstallDialog } from './components/InstallDialog.js';
import { Library } from './components/Library.js';
import { NoToken } from './components/NoToken.js';
import { Preview } from './components/Preview.js';
import { Results } from './components/Results.js';
import { Sidebar, SidebarToggle } from './components/Sidebar.js';
import { StatusBar, ModelBanner } from './components/StatusBar.js';
import { useSearch, type SearchState } from './hooks/useSearch.js';
import { useSidebar } from './hooks/useSidebar.js';
import {
  useConnection,
  useIndexProgress,
  useStatus,
  useStatusAfterSearch,
  useStatusEvents,
} from './hooks/useStatus.js';
import { basename, formatTime } from './lib/format.js';
import { cachedPeaks } from './lib/peaks.js';
import {
  buildRequest,
  chipId,
  chipsReducer,
  type Chip,
  type ChipAction,
  type SearchOptions,
} from './state/chips.js';

const LIVE_PHASES = new Set(['scan', 'embed', 'cleanup']);

/** A result's own vector as a query term ("more / less like this"). */
function segmentChip(
  client: BinderyClient,
  hit: SearchHit,
  weight: number,
  dispatch: (a: ChipAction) => void,
): void {
  const id = chipId();
  const at = hit.segment && hit.kind !== 'image' ? ` @ ${formatTime(hit.segment.start)}` : '';
  const chip: Chip = {
    id,
    kind: 'segment',
    candidates: ['segment'],
    label: `${basename(hit.path)}${at}`,
    weight,
    segmentId: hit.segmentId,
    thumbUrl: hit.kind === 'audio' ? undefined : client.mediaUrl(hit.fileId, 'thumb'),
    state: 'ready',
  };
  dispatch({ type: 'add', chip });
  if (hit.kind === 'audio') {
    cachedPeaks(`${hit.fileId}:96`, () =>
      client.waveform({ fileId: hit.fileId, points: 96 }).then((r) => r.peaks),
    ).then(
      (peaks) => dispatch({ type: 'update', id, patch: { peaks } }),
      () => undefined,
    );
  }
}

/** Files dropped outside the drop zone must not navigate the window away. */
function useWindowDropGuard() {
  useEffect(() => {
    const stop = (e: DragEvent) => {
      if (!(e.target as Element | null)?.closest?.('.composer')) e.preventDefault();
    };
    window.addEventListener('dragover', stop);
    window.addEventListener('drop', stop);
    return () => {
      window.removeEventListener('dragover', stop);
      window.removeEventListener('drop', stop);
    };
  }, []);
}

/** "/" or Ctrl/Cmd+K jumps to the text box. */
function useSearchShortcut() {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      const typing = t.closest('input, textarea, select, [contenteditable="true"]');
      if ((e.key === '/' && !typing) || (e.key === 'k' && (e.ctrlKey || e.metaKey))) {
        const input = document.querySelector<HTMLInputElement>('.composer-input');
        if (input && !input.disabled) {
          e.preventDefault();
          input.focus();
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

function useWindowBehaviour() {
  useWindowDropGuard();
  useSearchShortcut();
}

/** Indexing progress, the status it keeps fresh (polled while indexing runs), and the connection. */
function useLibraryState(client: BinderyClient) {
  const [progress, resetProgress] = useIndexProgress(client);
  const live = Boolean(progress && LIVE_PHASES.has(progress.phase));
  const { status, error: statusError, unauthorized, refresh } = useStatus(client, live);
  // A run that ended (one the user started, or the watcher's) changed the library: show it now.
  useEffect(() => {
    if (progress && !LIVE_PHASES.has(progress.phase)) void refresh();
  }, [progress, refresh]);
  useStatusEvents(client, refresh);
  const connection = useConnection(client);
  return { client, progress, resetProgress, status, statusError, unauthorized, refresh, connection };
}

/** "More / less like this" from the preview: the result becomes a chip and the preview closes. */
function useMoreLike(
  client: BinderyClient,
  dispatch: (a: ChipAction) => void,
  setPreview: (h: SearchHit | null) => void,
) {
  return useCallback(
    (hit: SearchHit, weight: number) => {
      segmentChip(client, hit, weight, dispatch);
      setPreview(null);
    },
    [client, dispatch, setPreview],
  );
}

/** The timeline's entries as the preview steps through them once one is opened. */
function useTimelinePreview(setPreview: (h: SearchHit) => void) {
  const [timelineHits, setTimelineHits] = useState<readonly SearchHit[]>([]);
  const openFromTimeline = useCallback(
    (hit: SearchHit, all: readonly SearchHit[]) => {
      setTimelineHits(all);
      setPreview(hit);
    },
    [setPreview],
  );
  return { timelineHits, openFromTimeline };
}

/** The grid's active cell, back to none whenever the query itself changes. */
function useActiveIndex(resetKey: string) {
  const [active, setActive] = useState(-1);
  useEffect(() => setActive(-1), [resetKey]);
  return [active, setActive] as const;
}

/** The first tab stop: focus moves to the results (or the timeline) grid, past the composer and filters. */
function SkipLink() {
  const skip = (e: MouseEvent<HTMLAnchorElement>) => {
    e.preventDefault();
    const grid = document.querySelector<HTMLElement>('#results [role="grid"]');
    (grid ?? document.getElementById('results'))?.focus();
  };
  return (
    <a className="skip-link" href="#results" onClick={skip}>
      Skip to results
    </a>
  );
}

/** Changes whenever the library does (files indexed or gone, folders offline): the timeline reloads. */
function libraryKey(status: Status | null): string {
  if (!status) return '';
  const { indexed, missing } = status.files;
  return `${indexed}:${missing}:${status.roots.map((r) => `${r.id}${r.status}`).join(',')}`;
}

export interface AppProps {
  client: BinderyClient;
  initialChips?: Chip[];
  initialOptions?: Partial<SearchOptions>;
}

/** The composer's chips, the filters, and the live search they add up to. */
function useQuery(client: BinderyClient, initialChips: Chip[], initialOptions?: Partial<SearchOptions>) {
  const [chips, dispatch] = useReducer(chipsReducer, initialChips);
  const [options, setOptions] = useState<SearchOptions>({
    k: 100,
    level: 'files',
    filters: {},
    ...initialOptions,
  });
  const [searchEpoch, setSearchEpoch] = useState(0);
  const request = useMemo(() => buildRequest(chips, options), [chips, options]);
  const search = useSearch(client, request, { refresh: searchEpoch });
  // One input the engine refused fails that chip, not the search: it leaves the query, the rest runs again.
  const failed = search.failedTerm;
  useEffect(() => {
    if (failed)
      dispatch({ type: 'update', id: failed.chipId, patch: { state: 'error', error: failed.message } });
  }, [failed, dispatch]);
  const bumpSearch = useCallback(() => setSearchEpoch((n) => n + 1), []);
  // Everything but the weights: a new term or filter starts the results from the top.
  const resetKey = `${chips.map((c) => `${c.id}:${c.kind}`).join(',')}|${JSON.stringify(options)}`;
  return { chips, dispatch, options, setOptions, request, search, bumpSearch, resetKey };
}

/** The preview dialog over the current results, with ←/→ stepping through them. */
function PreviewHost({
  preview,
  setPreview,
  hits,
  search,
  setActive,
  onMoreLike,
}: {
  preview: SearchHit;
  setPreview: (h: SearchHit | null) => void;
  hits: readonly SearchHit[];
  search: SearchState;
  setActive: (i: number) => void;
  onMoreLike: (hit: SearchHit, weight: number) => void;
}) {
  const index = hits.findIndex((h) => h.fileId === preview.fileId && h.segmentId === preview.segmentId);
  return (
    <Preview
      hit={preview}
      index={index}
      total={hits.length}
      termChips={search.request?.termChips ?? []}
      onNavigate={(d) => {
        const next = hits[index + d];
        if (!next) return;
        setPreview(next);
        setActive(index + d);
      }}
      onClose={() => setPreview(null)}
      onMoreLike={onMoreLike}
    />
  );
}

/** What the user is looking at: the active cell, the preview, the packs dialog, "more like this". */
function useView(client: BinderyClient, q: ReturnType<typeof useQuery>) {
  const hits = q.search.response?.results ?? [];
  const [active, setActive] = useActiveIndex(q.resetKey);
  const [preview, setPreview] = useState<SearchHit | null>(null);
  const [installOpen, setInstallOpen] = useState(false);
  const open = useCallback((i: number) => setPreview(hits[i] ?? null), [hits]);
  const { timelineHits, openFromTimeline } = useTimelinePreview(setPreview);
  const moreLike = useMoreLike(client, q.dispatch, setPreview);
  const previewHits = q.request ? hits : timelineHits;
  return {
    active,
    setActive,
    preview,
    setPreview,
    installOpen,
    setInstallOpen,
    open,
    openFromTimeline,
    moreLike,
    previewHits,
  };
}

type LibraryState = ReturnType<typeof useLibraryState>;
type QueryState = ReturnType<typeof useQuery>;
type ViewState = ReturnType<typeof useView>;

/** The library panel beside (or, narrow, over) the composer, the filters and the results. */
function Workspace({ lib, q, view }: { lib: LibraryState; q: QueryState; view: ViewState }) {
  const sidebar = useSidebar();
  const roots = lib.status?.roots ?? [];
  const drawer = sidebar.narrow && sidebar.expanded;
  return (
    <div className={`workspace${sidebar.expanded ? '' : ' is-collapsed'}${drawer ? ' has-drawer' : ''}`}>
      <Sidebar sidebar={sidebar}>
        <Library
          status={lib.status}
          statusError={lib.statusError}
          progress={lib.progress}
          refresh={lib.refresh}
          onIndexed={q.bumpSearch}
          onIndexStart={lib.resetProgress}
        />
      </Sidebar>
      <main className="main">
        {/* The page's one top-level heading, for screen-reader navigation (the window title shows it). */}
        <h1 className="visually-hidden">Bindery</h1>
        <Composer
          chips={q.chips}
          dispatch={q.dispatch}
          inputKinds={lib.status?.servingInputKinds ?? null}
          client={lib.client}
        />
        <FiltersBar
          options={q.options}
          onChange={q.setOptions}
          roots={roots}
          leading={<SidebarToggle sidebar={sidebar} />}
        />
        <Results
          search={q.search}
          hasLibrary={roots.length > 0 || !lib.status}
          hasQuery={q.request !== null}
          resetKey={q.resetKey}
          activeIndex={view.active}
          onActiveChange={view.setActive}
          onOpen={view.open}
          onRetry={q.bumpSearch}
          timeline={{
            filters: q.options.filters,
            refreshKey: libraryKey(lib.status),
            activeIndex: view.active,
            onActiveChange: view.setActive,
            onOpen: view.openFromTimeline,
          }}
        />
      </main>
    </div>
  );
}

/** The preview and the model packs dialog, over everything else. */
function Dialogs({ lib, q, view }: { lib: LibraryState; q: QueryState; view: ViewState }) {
  return (
    <>
      {view.preview && (
        <PreviewHost
          preview={view.preview}
          setPreview={view.setPreview}
          hits={view.previewHits}
          search={q.search}
          setActive={view.setActive}
          onMoreLike={view.moreLike}
        />
      )}
      {view.installOpen && (
        <InstallDialog
          onClose={() => view.setInstallOpen(false)}
          onChanged={() => {
            void lib.refresh();
            q.bumpSearch();
          }}
        />
      )}
    </>
  );
}

export function App({ client, initialChips = [], initialOptions }: AppProps) {
  const lib = useLibraryState(client);
  const q = useQuery(client, initialChips, initialOptions);
  const view = useView(client, q);
  useStatusAfterSearch(lib.status, lib.refresh, q.search);
  useWindowBehaviour();
  if (lib.unauthorized) return <NoToken expired />; // a refused token: say what to do, not half an app
  const models = () => view.setInstallOpen(true);
  return (
    <ClientProvider client={client}>
      <div className="app">
        <SkipLink />
        {lib.status && <ModelBanner model={lib.status.model} onInstall={models} />}
        <Workspace lib={lib} q={q} view={view} />
        <StatusBar status={lib.status} connection={lib.connection} onModels={models} />
        <Dialogs lib={lib} q={q} view={view} />
      </div>
    </ClientProvider>
  );
}
