// Size: the whole API contract, schemas and AppApi, in one place is the point.
import { z } from 'zod';
import type { ApiEventName, ApiMethodName } from './transport.js';
import {
  IndexProgressSchema,
  IndexSummarySchema,
  type IndexProgress,
  type IndexSummary,
} from './indexing.js';
import { DATE_SOURCES, ENCODER_MODALITIES, INPUT_KINDS, MEDIA_KINDS } from './modality.js';
import { PRECISIONS } from './pack.js';
import {
  FileFactsSchema,
  FileTermSchema,
  FiltersSchema,
  QuerySchema,
  SearchResponseSchema,
  TextTermSchema,
  type QueryInput,
  type SearchResponse,
} from './query.js';

/**
 * AppApi: the one typed surface of the engine. The core service implements it; the preload
 * (Electron IPC) and the bridge (HTTP + WebSocket, `bindery serve`) expose it with these schemas,
 * and the renderer and the CLI use nothing else.
 */

const statusCounts = z.object({
  pending: z.number().int(),
  indexed: z.number().int(),
  failed: z.number().int(),
  missing: z.number().int(),
});

export const RootInfoSchema = z.object({
  id: z.number().int(),
  path: z.string(),
  status: z.enum(['online', 'offline']),
  lastScanAt: z.number().nullable(),
  files: statusCounts,
  /**
   * What the last scan could not read, with why: folders or files that became unreadable (their
   * indexed files are kept, like an unplugged drive's), or the root itself. At most 100 listed.
   */
  unreachable: z.array(z.object({ path: z.string(), error: z.string() })),
  unreachableTotal: z.number().int(),
  /**
   * What the last scan passed over on purpose, with why: symbolic links (not followed), hidden
   * entries, names that are not valid UTF-8. Never indexed, never silently dropped. At most 100.
   */
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  skippedTotal: z.number().int(),
});
export type RootInfo = z.infer<typeof RootInfoSchema>;

export const ProviderReportSchema = z.object({
  provider: z.string(),
  fallbacks: z.array(z.object({ provider: z.string(), reason: z.string() })),
  loadMs: z.number().optional(),
});

/** A pack's self-test: passed (verified), failed or skipped (unverified), with what it found. */
const verification = {
  verified: z.boolean(),
  /** What the self-test found, or why it did not run; null for a pack installed before self-tests. */
  selftest: z.string().nullable(),
};

export const ModelInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  dir: z.string(),
  licence: z.object({ name: z.string(), url: z.string().optional(), label: z.string() }),
  testPack: z.boolean(),
  ...verification,
  embeddingDim: z.number().int(),
  encoders: z.array(z.enum(ENCODER_MODALITIES)),
  inputKinds: z.array(z.enum(INPUT_KINDS)),
  /** Execution provider per encoder that has been loaded so far. */
  providers: z.record(z.string(), ProviderReportSchema),
  /** Providers that will be tried, in order. */
  providerOrder: z.array(z.string()),
  active: z.boolean(),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const FailureSchema = z.object({ fileId: z.number().int(), path: z.string(), error: z.string() });
export type Failure = z.infer<typeof FailureSchema>;

export const StatusSchema = z.object({
  catalogue: z.string(),
  files: statusCounts,
  byKind: z.record(z.enum(MEDIA_KINDS), statusCounts),
  segments: z.number().int(),
  queued: z.number().int(),
  failures: z.array(FailureSchema),
  model: ModelInfoSchema,
  /** The pack answering queries: the active one, or the previous one while the active pack re-embeds. */
  servingModel: z.string(),
  /** What a query may contain now: the serving pack's input kinds (the active pack's may differ). */
  servingInputKinds: z.array(z.enum(INPUT_KINDS)),
  vectors: z.object({
    backend: z.string(),
    count: z.number().int(),
    dim: z.number().int(),
    shards: z.number().int(),
  }),
  roots: z.array(RootInfoSchema),
  indexing: z.boolean(),
  /** The library folders are watched: changes are indexed without being asked. */
  watching: z.boolean(),
  /** Present when this catalogue mirrors a shared one (docs/architecture.md §13). */
  shared: z
    .object({
      /** The server, without its password. */
      label: z.string(),
      /** This machine's name there (its mounts are its folders). */
      machine: z.string(),
      /** When the mirror last caught up with the server; null before the first pull. */
      pulledAt: z.number().nullable(),
      /** Why the last pull failed (the server away), else null: what is shown is the last copy. */
      error: z.string().nullable(),
      /** Jobs waiting on the server for any machine's workers. */
      queued: z.number().int(),
    })
    .optional(),
});
export type Status = z.infer<typeof StatusSchema>;

export const FileInfoSchema = z.object({
  fileId: z.number().int(),
  path: z.string(),
  kind: z.enum(MEDIA_KINDS).nullable(),
  status: z.enum(['pending', 'indexed', 'failed', 'missing']),
  error: z.string().nullable(),
  size: z.number().int(),
  mtimeMs: z.number(),
  /** Its date (capture time from its bytes, else its mtime) and where that came from. */
  takenMs: z.number(),
  dateSource: z.enum(DATE_SOURCES),
  /** Where it was taken, when its bytes say (GPS). */
  place: z.object({ lat: z.number(), lon: z.number() }).nullable(),
  /** Its library folder is not reachable now (an unplugged drive). */
  offline: z.boolean(),
  durationS: z.number().nullable(),
  rootId: z.number().int(),
  segments: z.array(
    z.object({
      id: z.number().int(),
      modality: z.string(),
      level: z.enum(['clip', 'file']),
      start: z.number(),
      end: z.number(),
    }),
  ),
});
export type FileInfo = z.infer<typeof FileInfoSchema>;

/**
 * The library's indexed contents a pack has not embedded yet, which using it re-embeds, and about
 * how long that takes at the pace recorded in the catalogue (each content's commit time, per segment).
 */
export const ReembedEstimateSchema = z.object({
  contents: z.number().int(),
  byKind: z.record(z.enum(MEDIA_KINDS), z.number().int()),
  /** Null when no pack has a recorded pace yet. */
  seconds: z.number().nullable(),
  /** The pack whose pace the estimate uses: this one's own, else the active one's. */
  paceOf: z.string().nullable(),
});
export type ReembedEstimate = z.infer<typeof ReembedEstimateSchema>;

export const ModelSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  dir: z.string(),
  /** Every licence the pack states, and its summary ("CC-BY-NC 4.0 / CC BY-NC-SA 4.0 — non-commercial use only"). */
  licence: z.string(),
  /** When the user accepted the weights' licence (ISO 8601), if they had to. */
  licenceAcceptedAt: z.string().nullable(),
  testPack: z.boolean(),
  ...verification,
  active: z.boolean(),
  /** Share of the library's contents this pack has embedded (background re-embedding progress). */
  embeddedContents: z.number().int(),
  totalContents: z.number().int(),
  /** Bytes of the files its manifest lists (graphs, weights, tokenizer). */
  diskBytes: z.number().int(),
  /** Removing it deletes its folder (Bindery installed it there); a pack used in place is kept on disk. */
  removeFreesDisk: z.boolean(),
  /** What making it active would start: see ReembedEstimateSchema. */
  reembed: ReembedEstimateSchema,
});
export type ModelSummary = z.infer<typeof ModelSummarySchema>;

export const ModelProgressSchema = z.object({
  phase: z.enum(['download', 'verify', 'convert', 'selftest', 'install', 'done', 'error']),
  source: z.string(),
  file: z.string().nullable(),
  bytesDone: z.number(),
  bytesTotal: z.number().nullable(),
  /** This phase's speed so far (bytes downloaded or converted a second), and the time left at it. */
  bytesPerSec: z.number().nullable().default(null),
  etaS: z.number().nullable().default(null),
  message: z.string().nullable(),
});
export type ModelProgress = z.infer<typeof ModelProgressSchema>;

export {
  MEDIA_VARIANTS,
  isMediaVariant,
  momentVariant,
  momentOfVariant,
  type MediaVariant,
} from './transport.js';

export const FileIdRequestSchema = z.object({ fileId: z.number().int().positive() }).strict();
export const WaveformRequestSchema = z
  .object({ fileId: z.number().int().positive(), points: z.number().int().min(16).max(4096).default(256) })
  .strict();
export const ModelIdRequestSchema = z.object({ id: z.string().min(1).max(64) }).strict();
export const InstallModelRequestSchema = z
  .object({
    /** An http(s) URL or folder of a pack, or a checkpoint file (.pth, .safetensors) to convert. */
    source: z.string().min(1).max(4096),
    /**
     * The precision of the converted graphs. Left out: a catalogue entry's own precision, else
     * fp16 for a checkpoint (no default here, so the installer can tell the two apart).
     */
    precision: z.enum(PRECISIONS).optional(),
    /** The user accepted the licence of the weights (recorded in the pack). */
    acceptLicence: z.boolean().default(false),
    /** Install without running the pack's self-test (it is then not `verified`). */
    skipSelftest: z.boolean().default(false),
    /** Keep a downloaded checkpoint after a verified conversion (it is deleted otherwise). */
    keepCheckpoint: z.boolean().default(false),
  })
  .strict();

/** The installed pack; it is made active only when it passed its self-test. */
export const InstallResultSchema = ModelSummarySchema;
export type InstallResult = z.infer<typeof InstallResultSchema>;

/** A pack Bindery can install by name, with what it costs and its terms. */
export const AvailableModelSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  modalities: z.array(z.enum(ENCODER_MODALITIES)),
  precision: z.enum(PRECISIONS),
  /** Bytes still to download (0 when a copy is on disk), and disk needed for that plus the converted pack. */
  downloadBytes: z.number(),
  diskBytes: z.number(),
  licence: z.object({
    summary: z.string(),
    terms: z.array(z.object({ name: z.string(), url: z.string(), statedIn: z.string() })),
  }),
  /** Where the checkpoint comes from (the mirror's URL when one is set), and its official URL. */
  sourceUrl: z.string(),
  officialUrl: z.string(),
  homepage: z.string(),
  /** A checkpoint already on this machine, used instead of downloading. */
  localCheckpoint: z.string().nullable(),
  /** Bytes of an interrupted download, which the next install resumes. */
  partialBytes: z.number(),
  installed: z.boolean(),
  /** The one to pick on this computer: fp16 where a GPU provider works, int8 on a CPU alone. */
  recommended: z.boolean(),
});
export type AvailableModel = z.infer<typeof AvailableModelSchema>;
export const AvailableModelsSchema = z.object({
  /** The mirror in effect ($BINDERY_MODEL_MIRROR, else the setting), or null for the official hosts. */
  mirror: z.string().nullable(),
  models: z.array(AvailableModelSchema),
});
export type AvailableModels = z.infer<typeof AvailableModelsSchema>;
export const MirrorRequestSchema = z.object({ url: z.string().min(1).max(2048).nullable() }).strict();
export type InstallModelRequest = z.input<typeof InstallModelRequestSchema>;

/** One input to embed: a text, or a file of an input kind (the same terms a query takes, unweighted). */
export const EmbedRequestSchema = z.discriminatedUnion('modality', [
  TextTermSchema.omit({ weight: true }).strict(),
  FileTermSchema.omit({ weight: true }).strict(),
]);
export const EmbeddingSchema = z.object({
  modality: z.enum(INPUT_KINDS),
  pack: z.string(),
  dim: z.number().int(),
  /** L2-normalised; for audio and video the file-level vector (the mean of its clips' directions). */
  vector: z.array(z.number()),
  /** For a video: whether it has a soundtrack (searching it as "audio" needs one). */
  hasAudio: z.boolean().optional(),
});
export type Embedding = z.infer<typeof EmbeddingSchema>;
export type EmbedRequest = z.input<typeof EmbedRequestSchema>;

export const AddRootRequestSchema = z
  .object({
    path: z
      .string()
      .min(1)
      .max(4096)
      .refine((p) => !p.includes('\0'), 'a path cannot contain a NUL byte'),
  })
  .strict();
export const RemoveRootRequestSchema = z.object({ id: z.number().int().positive() }).strict();

/** The folder picker's request: an absolute folder to list; left out, the home folder. */
export const ListDirsRequestSchema = z.object({ path: AddRootRequestSchema.shape.path.optional() }).strict();
export const DirEntrySchema = z.object({
  name: z.string(),
  path: z.string(),
  /** Reached through a symbolic link (a library folder added through it is stored resolved). */
  link: z.boolean(),
  /** This user may open it; an unreadable folder is listed, marked, and not opened. */
  readable: z.boolean(),
});
/**
 * One folder's subfolders, for choosing a library folder where no native picker exists (browser
 * mode). Names of folders only: files are counted, never named or read.
 */
export const DirListingSchema = z.object({
  path: z.string(),
  /** The folder above, or null at the top of the file system. */
  parent: z.string().nullable(),
  /** Subfolders by name, at most a few hundred; `more` says how many were left out past them. */
  entries: z.array(DirEntrySchema),
  more: z.number().int(),
  /** Hidden subfolders (a leading dot) left out, as scans never enter them. */
  hidden: z.number().int(),
  files: z.number().int(),
  /** Why this folder's entries could not be read (permission denied), else null. */
  error: z.string().nullable(),
  /** Why this folder cannot be added to the library (addRoot's rules), else null. */
  refusal: z.string().nullable(),
  /** Shortcuts: the home folder, the library folders, where drives are mounted, the top. */
  places: z.array(z.object({ label: z.string(), path: z.string() })),
});
export type DirListing = z.infer<typeof DirListingSchema>;
export const IndexRequestSchema = z
  .object({ retryFailed: z.boolean().default(false), skipScan: z.boolean().default(false) })
  .strict();
export const EmptyRequestSchema = z.object({}).strict();

export const LibrarySettingsSchema = z
  .object({
    /** Pass over thumbnail caches, recycle bins and NAS clutter (Thumbs.db, @eaDir, …) when scanning. */
    ignoreJunk: z.boolean(),
  })
  .strict();
export type LibrarySettings = z.infer<typeof LibrarySettingsSchema>;
export const SetSettingsRequestSchema = LibrarySettingsSchema.partial().strict();

/** A place in the timeline: items strictly older than this one (newest first, then by id). */
export const TimelineCursorSchema = z
  .object({ takenMs: z.number().int(), fileId: z.number().int().positive() })
  .strict();
export const BrowseRequestSchema = z
  .object({
    limit: z.number().int().min(1).max(1000).default(200),
    after: TimelineCursorSchema.optional(),
    filters: FiltersSchema.default({}),
  })
  .strict();
export const TimelineItemSchema = FileFactsSchema.extend({
  durationS: z.number().nullable(),
});
export type TimelineItem = z.infer<typeof TimelineItemSchema>;
export const TimelinePageSchema = z.object({
  items: z.array(TimelineItemSchema),
  /** Pass as `after` for the next page; null at the oldest file. */
  next: TimelineCursorSchema.nullable(),
  /** Files passing the filters, for the scrollbar. */
  total: z.number().int(),
});
export type TimelinePage = z.infer<typeof TimelinePageSchema>;

export const StatusRequestSchema = z.object({ loadEncoders: z.boolean().optional() }).strict();

export interface AppApi {
  /** Library, pack and index state; `loadEncoders` loads every encoder first, so each one's provider is known. */
  status(req?: z.input<typeof StatusRequestSchema>): Promise<Status>;
  listRoots(): Promise<RootInfo[]>;
  addRoot(req: z.input<typeof AddRootRequestSchema>): Promise<RootInfo>;
  removeRoot(req: z.input<typeof RemoveRootRequestSchema>): Promise<{ removed: number }>;
  /** A folder's subfolders, to choose a library folder where no native picker exists. */
  listDirs(req: z.input<typeof ListDirsRequestSchema>): Promise<DirListing>;
  /** Runs indexing to the end (progress arrives as events); a second call while one runs joins it. */
  index(req: z.input<typeof IndexRequestSchema>): Promise<IndexSummary>;
  cancelIndex(): Promise<{ cancelled: boolean }>;
  search(query: QueryInput): Promise<SearchResponse>;
  failures(): Promise<Failure[]>;
  onIndexProgress(listener: (p: IndexProgress) => void): () => void;
  fileInfo(req: z.input<typeof FileIdRequestSchema>): Promise<FileInfo>;
  /** Peak amplitudes (0…1) of an audio file or a video's soundtrack, for drawing a waveform. */
  waveform(req: z.input<typeof WaveformRequestSchema>): Promise<{ peaks: number[] }>;
  listModels(): Promise<ModelSummary[]>;
  /** Makes a pack active; until it has embedded the library, search keeps using the previous one. */
  useModel(req: z.input<typeof ModelIdRequestSchema>): Promise<ModelSummary[]>;
  /** Installs a pack from an http(s) URL of a pack.json, or a local folder (progress arrives as events). */
  installModel(req: z.input<typeof InstallModelRequestSchema>): Promise<InstallResult>;
  removeModel(req: z.input<typeof ModelIdRequestSchema>): Promise<ModelSummary[]>;
  onModelProgress(listener: (p: ModelProgress) => void): () => void;
  /** The vector the active pack gives one input: what the index stores for it. */
  embed(req: z.input<typeof EmbedRequestSchema>): Promise<Embedding>;
  /** The packs Bindery can install by name (the catalogue), with sizes, licence and sources. */
  availableModels(): Promise<AvailableModels>;
  /** Stops a running install; a download resumes on the next install of the same source. */
  cancelModelInstall(): Promise<{ cancelled: boolean }>;
  /** Sets (or clears, with null) the mirror that stands in for the official download hosts. */
  setModelMirror(req: z.input<typeof MirrorRequestSchema>): Promise<AvailableModels>;
  /** Runs an installed pack's self-test again; a pack that passes becomes verified. */
  selfTestModel(req: z.input<typeof ModelIdRequestSchema>): Promise<ModelSummary>;
  /** The library as a timeline, newest first (capture time, else mtime), a page at a time. */
  browse(req: z.input<typeof BrowseRequestSchema>): Promise<TimelinePage>;
  settings(): Promise<LibrarySettings>;
  setSettings(req: z.input<typeof SetSettingsRequestSchema>): Promise<LibrarySettings>;
}

/** Request and response schemas per method: the transports validate both directions with these. */
export const API_SCHEMAS = {
  status: { request: StatusRequestSchema, response: StatusSchema },
  listRoots: { request: EmptyRequestSchema, response: z.array(RootInfoSchema) },
  addRoot: { request: AddRootRequestSchema, response: RootInfoSchema },
  removeRoot: { request: RemoveRootRequestSchema, response: z.object({ removed: z.number().int() }) },
  listDirs: { request: ListDirsRequestSchema, response: DirListingSchema },
  index: { request: IndexRequestSchema, response: IndexSummarySchema },
  cancelIndex: { request: EmptyRequestSchema, response: z.object({ cancelled: z.boolean() }) },
  search: { request: QuerySchema, response: SearchResponseSchema },
  failures: { request: EmptyRequestSchema, response: z.array(FailureSchema) },
  fileInfo: { request: FileIdRequestSchema, response: FileInfoSchema },
  waveform: { request: WaveformRequestSchema, response: z.object({ peaks: z.array(z.number()) }) },
  listModels: { request: EmptyRequestSchema, response: z.array(ModelSummarySchema) },
  useModel: { request: ModelIdRequestSchema, response: z.array(ModelSummarySchema) },
  installModel: { request: InstallModelRequestSchema, response: InstallResultSchema },
  removeModel: { request: ModelIdRequestSchema, response: z.array(ModelSummarySchema) },
  embed: { request: EmbedRequestSchema, response: EmbeddingSchema },
  availableModels: { request: EmptyRequestSchema, response: AvailableModelsSchema },
  cancelModelInstall: { request: EmptyRequestSchema, response: z.object({ cancelled: z.boolean() }) },
  setModelMirror: { request: MirrorRequestSchema, response: AvailableModelsSchema },
  selfTestModel: { request: ModelIdRequestSchema, response: ModelSummarySchema },
  browse: { request: BrowseRequestSchema, response: TimelinePageSchema },
  settings: { request: EmptyRequestSchema, response: LibrarySettingsSchema },
  setSettings: { request: SetSettingsRequestSchema, response: LibrarySettingsSchema },
} as const;

export type ApiMethod = keyof typeof API_SCHEMAS;

/** Compile-time: `true` only when the two name sets are equal. */
type SameNames<A, B> = [Exclude<A, B>, Exclude<B, A>] extends [never, never] ? true : false;
/** The transports' method and event lists (app/transport.ts) name exactly the schemas' methods and events. */
const transportListsMatch: [
  SameNames<ApiMethod, ApiMethodName>,
  SameNames<keyof typeof EVENT_SCHEMAS, ApiEventName>,
] = [true, true];
void transportListsMatch;

export const EVENT_SCHEMAS = {
  indexProgress: IndexProgressSchema,
  modelProgress: ModelProgressSchema,
} as const;
export type ApiEvent = keyof typeof EVENT_SCHEMAS;
