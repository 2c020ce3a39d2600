import type { Embedding, MediaVariant, ModelSummary, Status } from '../../../app/api.js';
import { emptySummary } from '../../../app/indexing.js';
import type { MediaKind } from '../../../app/modality.js';
import type { SearchHit, SearchResponse } from '../../../app/query.js';
import type { BinderyClient } from '../api/client.js';

/**
 * An in-memory BinderyClient with N synthetic results and no engine behind it: the grid benchmark
 * (`?bench=grid100k`) and component tests use it. Thumbnails are tiny SVG data URLs, waveforms are
 * seeded noise, and every search returns the same ranked list.
 */
export interface FakeClientOptions {
  hits?: number;
  /** Delay of each search in ms (0: next microtask). */
  searchDelayMs?: number;
}

const KINDS: MediaKind[] = ['image', 'image', 'video', 'audio'];

/** The first results are strong matches, so the grid draws its divider as a real search's would. */
const FAKE_STRONG = 12;

export function fakeHits(n: number): SearchHit[] {
  const out = new Array<SearchHit>(n);
  for (let i = 0; i < n; i++) {
    const kind = KINDS[i % KINDS.length];
    const ext = kind === 'image' ? 'jpg' : kind === 'video' ? 'mp4' : 'wav';
    out[i] = {
      fileId: i + 1,
      path: `/bench/library/${kind}-${String(i + 1).padStart(6, '0')}.${ext}`,
      kind,
      score: 1 - i / (n + 1),
      segmentId: i + 1,
      segment:
        kind === 'image'
          ? null
          : { start: (i % 17) * 2, end: (i % 17) * 2 + 2, modality: kind === 'audio' ? 'audio' : 'vision' },
      terms: [1 - i / (n + 1)],
      contributions: [1 - i / (n + 1)],
      strong: i < FAKE_STRONG,
      percentile: 1 - i / (n + 1),
      durationS: kind === 'image' ? null : 40,
      copies: 0,
      size: 100_000 + i,
      mtimeMs: 1_700_000_000_000 + i * 60_000,
      takenMs: 1_700_000_000_000 + i * 60_000,
      dateSource: 'mtime',
      offline: false,
      missing: false,
    };
  }
  return out;
}

/** A search response around synthetic hits, its match signal counting their strong ones. */
export function fakeResponse(hits: SearchHit[], extra: Partial<SearchResponse> = {}): SearchResponse {
  const strongCount = hits.filter((h) => h.strong).length;
  return {
    results: hits,
    model: 'bench',
    backend: 'synthetic',
    tookMs: 0,
    notMeaningful: false,
    signal: { method: 'background', threshold: 0.99, median: 0.5, sampled: 2048, strongCount },
    ...extra,
  };
}

function thumbSvg(id: number): string {
  const hue = (id * 47) % 360;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120"><rect width="160" height="120" fill="hsl(${hue} 55% 55%)"/><circle cx="${40 + (id % 80)}" cy="60" r="28" fill="hsl(${(hue + 150) % 360} 60% 70%)"/></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

function fakePeaks(id: number, points: number): number[] {
  let s = id * 9301 + 49297;
  return Array.from({ length: points }, (_, i) => {
    s = (s * 9301 + 49297) % 233280;
    return 0.15 + 0.85 * Math.abs(Math.sin(i / 6 + id)) * (s / 233280);
  });
}

function fakeStatus(n: number): Status {
  const counts = { pending: 0, indexed: n, failed: 0, missing: 0 };
  return {
    catalogue: '/bench/catalogue.db',
    watching: false,
    files: counts,
    byKind: { image: counts, audio: counts, video: counts },
    segments: n,
    queued: 0,
    failures: [],
    model: {
      id: 'bench',
      name: 'Synthetic results',
      version: '1',
      dir: '/bench',
      licence: { name: 'none', label: 'none' },
      testPack: false,
      verified: true,
      selftest: null,
      embeddingDim: 1024,
      encoders: ['vision', 'text', 'audio'],
      inputKinds: ['text', 'image', 'audio', 'video'],
      providers: {},
      providerOrder: ['cpu'],
      active: true,
    },
    servingModel: 'bench',
    servingInputKinds: ['text', 'image', 'audio', 'video'],
    vectors: { backend: 'synthetic', count: n, dim: 1024, shards: 1 },
    roots: [
      {
        id: 1,
        path: '/bench/library',
        status: 'online',
        lastScanAt: null,
        files: counts,
        unreachable: [],
        unreachableTotal: 0,
        skipped: [],
        skippedTotal: 0,
      },
    ],
    indexing: false,
  };
}

export function createFakeClient(opts: FakeClientOptions = {}): BinderyClient & { searches: number } {
  const n = opts.hits ?? 100_000;
  const hits = fakeHits(n);
  const models: ModelSummary[] = [];
  const wait = <T>(v: T, ms = 0) => new Promise<T>((r) => setTimeout(() => r(v), ms));
  const client = {
    platform: 'browser' as const,
    searches: 0,
    status: () => wait(fakeStatus(n)),
    listRoots: () => wait(fakeStatus(n).roots),
    addRoot: () => wait(fakeStatus(n).roots[0]),
    removeRoot: () => wait({ removed: 0 }),
    listDirs: () => Promise.reject(new Error('the benchmark client lists no folders')),
    index: () => wait(emptySummary()),
    cancelIndex: () => wait({ cancelled: false }),
    search: (): Promise<SearchResponse> => {
      client.searches++;
      return wait(fakeResponse(hits), opts.searchDelayMs);
    },
    failures: () => wait([]),
    onIndexProgress: () => () => undefined,
    fileInfo: ({ fileId }: { fileId: number }) => {
      const h = hits[fileId - 1];
      return wait({
        fileId,
        path: h.path,
        kind: h.kind,
        status: 'indexed' as const,
        error: null,
        size: h.size,
        mtimeMs: h.mtimeMs,
        takenMs: h.takenMs,
        dateSource: h.dateSource,
        place: null,
        offline: false,
        durationS: h.kind === 'image' ? null : 40,
        rootId: 1,
        segments: [],
      });
    },
    waveform: ({ fileId, points = 256 }: { fileId: number; points?: number }) =>
      wait({ peaks: fakePeaks(fileId, points) }),
    listModels: () => wait(models),
    useModel: () => wait(models),
    installModel: () => Promise.reject(new Error('the benchmark client installs nothing')),
    removeModel: () => wait(models),
    // Every dropped input "encodes": the benchmark measures the grid, not the engine.
    embed: (req: { modality: Embedding['modality'] }) =>
      wait({ modality: req.modality, pack: 'bench', dim: 4, vector: [1, 0, 0, 0] }),
    availableModels: () => wait({ mirror: null, models: [] }),
    cancelModelInstall: () => wait({ cancelled: false }),
    setModelMirror: () => wait({ mirror: null, models: [] }),
    selfTestModel: () => Promise.reject(new Error('the benchmark client tests nothing')),
    browse: () => wait({ items: [], next: null, total: 0 }),
    settings: () => wait({ ignoreJunk: true }),
    setSettings: () => wait({ ignoreJunk: true }),
    onModelProgress: () => () => undefined,
    onConnection: (l: (s: 'open') => void) => {
      l('open');
      return () => undefined;
    },
    // The variant rides along as a fragment, so tests can see which frame a tile asked for.
    mediaUrl: (fileId: number, variant: MediaVariant) => `${thumbSvg(fileId)}#${variant}`,
    resolveDroppedFile: (file: File) => wait(`/bench/dropped/${file.name}`),
  };
  return client;
}
