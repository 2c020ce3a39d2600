import { ApiError } from '../../../app/errors.js';
import path from 'node:path';
import type { EncoderModality } from '../../../app/modality.js';
import { embeddingCount, iterateEmbeddings } from '../catalogue/contents.js';
import { enqueueMissingEmbeddings, unembeddedContents } from '../catalogue/files.js';
import {
  activeModel,
  getMeta,
  indexDirty,
  listModels,
  markIndexesDirtyExcept,
  registerModel,
  setActiveModel,
  setIndexDirty,
  setMeta,
} from '../catalogue/packs.js';
import type { Db } from '../catalogue/open.js';
import { claimReplica, replicaOf } from '../catalogue/replica.js';
import { openCatalogue } from '../catalogue/open.js';
import type { IngestPorts } from '../ingest/ports.js';
import { finishInterruptedSwap } from '../packs/staging.js';
import { loadPack, type LoadedPack } from '../packs/pack.js';
import type { ProviderName } from '../encoders/providers.js';
import { EncoderRuntime, type RuntimeOptions } from '../encoders/runtime.js';
import { existsSync } from 'node:fs';
import { bundledTestPackDir, isServerCatalogue, packsDirFor } from '../paths.js';
import { SharedLink } from './shared-link.js';
import { embeddingFloats } from '../vectors/floats.js';
import {
  defaultBackend,
  dropVectorIndex,
  loadVectorExtensions,
  openVectorIndex,
  type BackendName,
  type OpenVectorIndexOptions,
  type VectorIndex,
} from '../vectors/index.js';

export interface EngineOptions {
  dbPath: string;
  /** Use (and activate) the pack in this folder instead of the catalogue's active pack. */
  packDir?: string;
  /** Vector backend; remembered in the catalogue. Default: the catalogue's choice, else defaultBackend(). */
  backend?: BackendName;
  providers?: ProviderName[];
  batchSize?: number;
  intraOpThreads?: number;
  /** Long-running hosts (serve, the app) re-embed in the background after a pack switch. */
  backgroundReembed?: boolean;
  /** Long-running hosts watch the library folders and index changes by themselves (ingest/watch.ts). */
  watchLibrary?: boolean;
  /**
   * The catalogue at `dbPath` mirrors this shared catalogue (docs/architecture.md §13). Without a
   * `url`, $BINDERY_CATALOGUE names it: a password never travels in a process's arguments.
   */
  shared?: { url?: string; machine: string };
}

export { SharedLink };

/** One installed pack, opened: its manifest, its ONNX sessions and its own vector index. */
export interface PackHandle {
  readonly id: string;
  readonly pack: LoadedPack;
  readonly runtime: EncoderRuntime;
  readonly index: VectorIndex;
}

const BACKEND_KEY = 'vector_backend';
const SERVING_KEY = 'serving_model';

/**
 * The engine's open state: one catalogue and up to two packs. The *active* pack embeds new
 * content; the *serving* pack answers queries. They differ only while a newly chosen pack is
 * re-embedding the library in the background: the old pack keeps serving until the new one has
 * caught up, then it is promoted.
 */
export class Engine {
  private constructor(
    readonly db: Db,
    private readonly runtimeOptions: RuntimeOptions,
    readonly backend: BackendName,
    readonly backgroundReembed: boolean,
    public active: PackHandle,
    public serving: PackHandle,
    readonly shared: SharedLink | null,
  ) {}

  static async open(opts: EngineOptions): Promise<Engine> {
    const shared = opts.shared ? await openShared(opts.shared) : null;
    let db: Db | undefined;
    try {
      db = openCatalogue(opts.dbPath);
      guardReplica(db, shared);
      const packDir = opts.packDir ?? (shared ? await sharedPackDir(db, shared, opts.dbPath) : undefined);
      const backend =
        opts.backend ?? (getMeta(db, BACKEND_KEY) as BackendName | undefined) ?? defaultBackend();
      setMeta(db, BACKEND_KEY, backend);
      loadVectorExtensions(db, [backend]);
      const runtimeOptions: RuntimeOptions = {
        providers: opts.providers,
        batchSize: opts.batchSize,
        intraOpThreads: opts.intraOpThreads,
      };
      const active = openHandle(db, await resolveActivePack(db, packDir), backend, runtimeOptions);
      // A replica is embedded by the shared catalogue's workers, never re-embedded here.
      const reembed = Boolean(opts.backgroundReembed) && !shared;
      const engine = new Engine(db, runtimeOptions, backend, reembed, active, active, shared);
      // A replica's one pack both embeds (its workers) and serves: no local re-embedding, no handover.
      if (shared) setMeta(db, SERVING_KEY, active.id);
      else await engine.resolveServing();
      return engine;
    } catch (e) {
      db?.close();
      await shared?.close();
      throw e;
    }
  }

  /** The pack that embeds (ingest writes under this id). */
  get modelId(): string {
    return this.active.id;
  }

  hasEncoder(m: EncoderModality): boolean {
    return this.serving.pack.encoders.includes(m);
  }

  /** Makes another installed pack active and queues the library for it; search stays on the serving pack. */
  async usePack(id: string): Promise<void> {
    const row = listModels(this.db).find((m) => m.id === id);
    if (!row) throw new ApiError('not_found', `no installed model pack with id ${id}`);
    if (id === this.active.id) return;
    // Switching back to the pack that still serves reuses its open handle.
    const next =
      id === this.serving.id
        ? this.serving
        : openHandle(this.db, await loadPack(row.dir), this.backend, this.runtimeOptions);
    setActiveModel(this.db, id);
    const previous = this.active;
    this.active = next;
    if (previous !== this.serving) await previous.runtime.close();
    this.promoteIfComplete();
  }

  /** Once the active pack has embedded every indexed content, it takes over search. */
  promoteIfComplete(): boolean {
    if (this.serving === this.active) return false;
    if (unembeddedContents(this.db, this.active.id) > 0) {
      enqueueMissingEmbeddings(this.db, this.active.id);
      return false;
    }
    const old = this.serving;
    this.serving = this.active;
    setMeta(this.db, SERVING_KEY, this.active.id);
    void old.runtime.close();
    return true;
  }

  /**
   * Segments deleted from the catalogue (a garbage pass, a removed folder) leave every index: the
   * open packs' now, in the caller's transaction; closed packs' are marked to be rebuilt from
   * their embeddings when next opened, as their indexes are derived.
   */
  forgetSegments(ids: readonly number[]): void {
    if (ids.length === 0) return;
    for (const h of this.handles()) h.index.remove(ids);
    markIndexesDirtyExcept(
      this.db,
      this.handles().map((h) => h.id),
    );
  }

  /** The narrow view ingest gets of the engine (ingest/ports.ts). */
  ingestPorts(): IngestPorts {
    const active = () => this.active;
    return {
      db: this.db,
      get writer() {
        return active();
      },
      forgetSegments: (ids) => this.forgetSegments(ids),
      caughtUp: () => void this.promoteIfComplete(),
    };
  }

  /** Every open pack handle (one, or two during a re-embedding). */
  handles(): PackHandle[] {
    return this.serving === this.active ? [this.active] : [this.active, this.serving];
  }

  async close(): Promise<void> {
    for (const h of this.handles()) await h.runtime.close();
    this.db.close();
    await this.shared?.close();
  }

  private async resolveServing(): Promise<void> {
    const servingId = getMeta(this.db, SERVING_KEY);
    const row =
      servingId && servingId !== this.active.id
        ? listModels(this.db).find((m) => m.id === servingId)
        : undefined;
    if (row && unembeddedContents(this.db, this.active.id) > 0) {
      try {
        this.serving = openHandle(this.db, await loadPack(row.dir), this.backend, this.runtimeOptions);
        enqueueMissingEmbeddings(this.db, this.active.id);
        return;
      } catch {
        // The previous pack was removed or damaged: the active one serves what it has.
      }
    }
    setMeta(this.db, SERVING_KEY, this.active.id);
  }
}

async function resolveActivePack(db: Db, packDir: string | undefined): Promise<LoadedPack> {
  const current = activeModel(db);
  const dir = packDir ?? current?.dir ?? bundledTestPackDir();
  // A crash between the two renames of an install leaves the pack aside: put it back first.
  if (current && !packDir)
    await finishInterruptedSwap(path.dirname(current.dir), current.id).catch(() => undefined);
  const pack = await loadPack(dir);
  registerModel(db, pack.dir, pack.manifest);
  if (current?.id !== pack.manifest.id) {
    setActiveModel(db, pack.manifest.id);
    // The first pack of a catalogue serves at once; a switch keeps the old one serving meanwhile.
    if (!current) setMeta(db, SERVING_KEY, pack.manifest.id);
  }
  return pack;
}

/** A replica is only ever opened as one, for its own server; a library of its own never becomes one. */
function guardReplica(db: Db, shared: SharedLink | null): void {
  if (shared) return claimReplica(db, shared.identity);
  const of = replicaOf(db);
  if (of)
    throw new Error(
      `${db.name} mirrors the shared catalogue ${of}: open it with --catalogue (or $BINDERY_CATALOGUE), not as a library of its own`,
    );
}

async function openShared(o: NonNullable<EngineOptions['shared']>): Promise<SharedLink> {
  const url = o.url ?? process.env.BINDERY_CATALOGUE;
  if (!url || !isServerCatalogue(url))
    throw new Error(
      'a shared catalogue is a postgres:// connection string (--catalogue or $BINDERY_CATALOGUE)',
    );
  return SharedLink.create(url, o.machine);
}

/**
 * The pack a replica serves: the one it mirrors already (a replica opens with the server away);
 * else the pack the shared catalogue's workers embed most with that is installed here (the packs
 * folder beside the catalogue). A catalogue no worker has written to yet needs --pack: a random
 * test pack must never be registered on a server by default.
 */
async function sharedPackDir(db: Db, link: SharedLink, dbPath: string): Promise<string | undefined> {
  if (activeModel(db)) return undefined;
  const store = await link.connect().catch((e: unknown) => {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new Error(
      `the shared catalogue ${link.label} cannot be reached (${why}), and this machine has no copy of it yet`,
    );
  });
  const held = await store.listPacks();
  if (held.length === 0)
    throw new Error(
      `no worker has written to the shared catalogue ${link.label} yet, so it holds no pack's vectors: name the pack to index it with (--pack <folder>)`,
    );
  const packs = packsDirFor(dbPath);
  const dir = held.map((p) => path.join(packs, p.id)).find((d) => existsSync(path.join(d, 'pack.json')));
  if (dir) return dir;
  throw new Error(
    `the shared catalogue ${link.label} holds vectors of ${held.map((p) => p.id).join(', ')}, and none of these packs is installed on this machine: install one (bindery models install <name>) or name its folder with --pack`,
  );
}

function openHandle(db: Db, pack: LoadedPack, backend: BackendName, opts: RuntimeOptions): PackHandle {
  const id = pack.manifest.id;
  const dim = pack.manifest.embeddingDim;
  // The quantized index re-ranks with the catalogue's own float vectors instead of a second copy.
  const floats = backend === 'quant' ? embeddingFloats(db, id, dim) : undefined;
  const index = syncIndex(db, { backend, name: indexName(id), dim, floats }, id);
  return { id, pack, runtime: new EncoderRuntime(pack, opts), index };
}

/** An index built by another backend (the user switched) is dropped; syncIndex then rebuilds it. */
function openIndexFresh(db: Db, opts: OpenVectorIndexOptions): VectorIndex {
  try {
    return openVectorIndex(db, opts);
  } catch (e) {
    if (!(e instanceof Error) || !/was built with/.test(e.message)) throw e;
    dropVectorIndex(db, opts.name);
    return openVectorIndex(db, opts);
  }
}

export function indexName(packId: string): string {
  return packId.replace(/[^a-z0-9]/g, '_');
}

/**
 * The vector index is derived from the embeddings table. If the two disagree (a new backend, a
 * crash between two versions, a garbage pass while another pack was active) it is rebuilt.
 */
function syncIndex(db: Db, opts: OpenVectorIndexOptions, modelId: string): VectorIndex {
  const index = openIndexFresh(db, opts);
  if (index.count() === embeddingCount(db, modelId) && !indexDirty(db, modelId)) return index;
  index.drop();
  const fresh = openVectorIndex(db, opts);
  for (const page of iterateEmbeddings(db, modelId)) fresh.add(page);
  setIndexDirty(db, modelId, false);
  return fresh;
}
