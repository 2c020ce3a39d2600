import path from 'node:path';
import type { CaptureFacts, MediaKind, SegmentSpec } from '../../../app/modality.js';
import type { Filters } from '../../../app/query.js';
import type { PackManifest } from '../../../app/pack.js';

/**
 * The shared-catalogue contract (docs/architecture.md §13): what several Bindery workers need of
 * one catalogue, with two implementations that pass the same suite (tests/catalogue/store-contract):
 * SQLite (sqlite-store.ts: the embedded catalogue file, for workers on one machine) and
 * PostgreSQL + pgvector (postgres/store.ts: one server for a NAS and its laptops).
 *
 * Asynchronous because a server is. Paths are relative to a root; a root is known by a key that
 * does not depend on where it is mounted, and each machine maps it to its own folder (`mounts`).
 * Jobs are leased, not taken: a worker that dies holds its jobs only until its lease expires.
 */
export interface CatalogueStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the catalogue is, safe to print (a connection string without its password). */
  readonly label: string;
  schemaVersion(): Promise<number>;

  /**
   * Adds a root by name, mounted on one machine (idempotent: an existing name returns its row and
   * mounts it there). On SQLite a root is a folder of this machine: `mount.folder` is its path.
   */
  addRoot(name: string, mount: { machine: string; folder: string }): Promise<StoreRoot>;
  listRoots(): Promise<StoreRoot[]>;
  /** Where `machine` finds the root's files (`/mnt/photos` on the NAS, `Z:\photos` on a laptop). */
  setMount(rootId: number, machine: string, folder: string): Promise<void>;
  /** `machine` no longer reads the root (an app removed the folder): its files stay for the others. */
  unmount(rootId: number, machine: string): Promise<void>;
  mounts(machine: string): Promise<RootMount[]>;

  /** Registers a pack (idempotent) so its embeddings can be stored and searched. */
  ensurePack(pack: { dir: string; manifest: PackManifest }): Promise<void>;
  /** The packs registered, the one most contents are embedded with first (then the newest). */
  listPacks(): Promise<{ id: string; dim: number }[]>;

  /**
   * A new scan's mark, later than every mark before it, by the catalogue's own count: machines'
   * clocks disagree, and a mark from behind would keep a later scan's deletions unrecorded.
   */
  beginScan(): Promise<number>;
  /** Records what one scan of a root saw; new and changed files are queued in the same transaction. */
  recordScan(rootId: number, scanId: number, seen: readonly SeenEntry[]): Promise<ScanCounts>;
  /**
   * After a scan: files of the root that it did not see are marked missing; returns how many.
   * Files under `unreachable` (folders or files the scan could not read, relative to the root; ''
   * is the root itself) are kept as they are: not gone, only out of reach (docs/architecture.md §7).
   */
  finishScan(rootId: number, scanId: number, unreachable?: readonly string[]): Promise<number>;

  /**
   * Leases up to `limit` queued jobs of `roots` (those the worker's machine has mounted and can
   * reach now: an unmounted share's files are left for another machine, never failed), for
   * `leaseMs` by the catalogue's clock. Jobs whose lease expired are leasable again; a job leased
   * `MAX_ATTEMPTS` times without finishing fails its file instead (an input that kills every worker).
   */
  lease(worker: WorkerRef, roots: readonly number[], limit: number, leaseMs: number): Promise<LeasedJob[]>;
  /** Extends every lease `worker` holds; returns how many it still holds. */
  heartbeat(worker: string, leaseMs: number): Promise<number>;
  /** Content with this hash that already has this pack's vectors (a copy, a move: no encoding). */
  embeddedContent(hash: string, packId: string): Promise<{ id: number; kind: MediaKind } | undefined>;
  /**
   * Writes a leased job's outcome and ends it, in one transaction. False, and nothing written, when
   * `worker` no longer holds the lease (it expired and another worker took the job).
   */
  complete(worker: string, packId: string, job: LeasedJob, outcome: JobOutcome): Promise<boolean>;

  /** Failed files of these roots are queued again (a fixed file, a newer Bindery); returns how many. */
  requeueFailed(roots: readonly number[]): Promise<number>;

  counts(): Promise<StoreCounts>;
  /** Jobs queued for these roots, leased or not: a worker is done when none is left for its roots. */
  queuedFor(roots: readonly number[]): Promise<number>;
  embeddingCount(packId: string): Promise<number>;
  /** Files that failed, with their reasons (path relative to the root). */
  failures(limit?: number): Promise<{ rootId: number; rel: string; error: string }[]>;
  /**
   * The k nearest segments by cosine, best first (equal scores by segment id), among the indexed
   * files passing `filters` (the app's Filters; a `pathPrefix` is relative to a root given in `roots`).
   */
  search(packId: string, query: Float32Array, k: number, filters?: Filters): Promise<StoreHit[]>;
  close(): Promise<void>;
}

/**
 * What an app needs to mirror a shared catalogue into its own SQLite file, to search and browse it
 * like its own library (ingest/replica-sync.ts, docs/architecture.md §13): a root's file rows changed
 * since a watermark, then the contents, segments and one pack's vectors behind them. Only the server
 * implements it: a SQLite catalogue is opened directly.
 */
export interface ReplicaSource {
  /**
   * Up to `limit` files of the root, by id after `afterId`, changed at or after `since` (a watermark
   * from an earlier pull; '0' for all). `watermark` is the one to pass next time once every page of
   * this pull is read: rows changed meanwhile are pulled again, never missed.
   */
  changedFiles(rootId: number, since: string, afterId: number, limit: number): Promise<RemoteFiles>;
  /** These contents, all their segments, and `packId`'s vectors of them (none when the pack is unknown here). */
  contents(packId: string, contentIds: readonly number[]): Promise<RemoteContents>;
}

export interface RemoteFile {
  id: number;
  rel: string;
  size: number;
  mtimeMs: number;
  contentId: number | null;
  kind: MediaKind | null;
  status: 'pending' | 'indexed' | 'failed' | 'missing';
  error: string | null;
  takenMs: number | null;
  takenSource: string;
}

export interface RemoteFiles {
  files: RemoteFile[];
  watermark: string;
}

export interface RemoteContents {
  contents: {
    id: number;
    hash: string;
    size: number;
    kind: MediaKind;
    durationS: number | null;
    takenMs: number | null;
    takenSource: string | null;
    lat: number | null;
    lon: number | null;
  }[];
  segments: {
    id: number;
    contentId: number;
    modality: string;
    level: 'clip' | 'file';
    tStart: number;
    tEnd: number;
    crop: string;
  }[];
  vectors: { segmentId: number; vector: Float32Array }[];
  /** The contents `packId` has embedded. */
  embedded: number[];
}

export const MAX_ATTEMPTS = 3;

/** Why a file whose job was leased MAX_ATTEMPTS times without finishing failed: one wording for both stores. */
export const EXHAUSTED_REASON = `no worker finished it in ${MAX_ATTEMPTS} tries (each one stopped or lost its lease while reading this file)`;

export interface StoreRoot {
  id: number;
  /** A random id given when the root was added: the same share under any mount point. */
  key: string;
  name: string;
}

export interface RootMount {
  rootId: number;
  folder: string;
}

export interface WorkerRef {
  /** Unique per process (machine, pid, start time): leases and heartbeats are per worker. */
  id: string;
  /** Whose mounts the worker reads (`mounts(machine)`). */
  machine: string;
}

export interface SeenEntry {
  rel: string;
  size: number;
  mtimeMs: number;
}

export interface ScanCounts {
  new: number;
  changed: number;
  unchanged: number;
}

export interface LeasedJob {
  jobId: number;
  fileId: number;
  rootId: number;
  rel: string;
  size: number;
  mtimeMs: number;
  attempts: number;
}

export interface ContentFacts {
  hash: string;
  size: number;
  kind: MediaKind;
  durationS: number | null;
  capture: CaptureFacts;
}

export type JobOutcome =
  | { type: 'failed'; error: string; kind: MediaKind | null }
  /** The content is already embedded by this pack: the file only links to it. */
  | { type: 'reuse'; hash: string }
  | { type: 'new'; content: ContentFacts; segments: { segment: SegmentSpec; vector: Float32Array }[] };

export interface StoreCounts {
  pending: number;
  indexed: number;
  failed: number;
  missing: number;
  /** Jobs queued, leased or not. */
  queued: number;
  /** Jobs under a lease that has not expired. */
  leased: number;
}

export interface StoreHit {
  segmentId: number;
  score: number;
  fileId: number;
  rootId: number;
  rel: string;
  tStart: number;
  tEnd: number;
  level: 'clip' | 'file';
}

/** A file's path relative to its root as the catalogue keeps it: with `/`, whichever machine scanned it. */
export function relativeToRoot(folder: string, file: string): string {
  return path.relative(folder, file).split(path.sep).join('/');
}

/** Where this machine finds a file of a root mounted at `folder`. */
export function underRoot(folder: string, rel: string): string {
  return path.join(folder, ...rel.split('/'));
}

/** The one wording of a query whose length is not the pack's. */
export function dimensionMismatch(got: number, packId: string, dim: number): Error {
  return new Error(`the query has ${got} dimensions; pack ${packId} has ${dim}`);
}
