import type { EncoderModality } from '../../app/modality.js';
import type { Db } from './db/open.js';
import { openCatalogue } from './db/open.js';
import { embeddingCount, iterateEmbeddings } from './db/contents.js';
import { activeModel, getMeta, registerModel, setActiveModel, setMeta } from './db/models.js';
import { loadPack, type LoadedPack } from './models/pack.js';
import type { ProviderName } from './models/providers.js';
import { EncoderRuntime } from './models/runtime.js';
import { bundledTestPackDir } from './paths.js';
import {
  loadVectorExtensions,
  openVectorIndex,
  type BackendName,
  type VectorIndex,
} from './vectors/index.js';

export interface EngineOptions {
  dbPath: string;
  /** Use (and activate) the pack in this folder instead of the catalogue's active pack. */
  packDir?: string;
  /** Vector backend; remembered in the catalogue. Default: the catalogue's choice, else 'vec'. */
  backend?: BackendName;
  providers?: ProviderName[];
  batchSize?: number;
  intraOpThreads?: number;
}

const BACKEND_KEY = 'vector_backend';

/**
 * The engine's open state: one catalogue, the active model pack with its ONNX sessions, and that
 * pack's vector index. Everything else in core takes an Engine.
 */
export class Engine {
  private constructor(
    readonly db: Db,
    readonly pack: LoadedPack,
    readonly runtime: EncoderRuntime,
    readonly index: VectorIndex,
  ) {}

  static async open(opts: EngineOptions): Promise<Engine> {
    const db = openCatalogue(opts.dbPath);
    try {
      const pack = await resolvePack(db, opts.packDir);
      const backend = opts.backend ?? (getMeta(db, BACKEND_KEY) as BackendName | undefined) ?? 'vec';
      setMeta(db, BACKEND_KEY, backend);
      loadVectorExtensions(db, [backend]);
      const index = syncIndex(
        db,
        openVectorIndex(db, { backend, name: indexName(pack.manifest.id), dim: pack.manifest.embeddingDim }),
        pack.manifest.id,
      );
      const runtime = new EncoderRuntime(pack, {
        providers: opts.providers,
        batchSize: opts.batchSize,
        intraOpThreads: opts.intraOpThreads,
      });
      return new Engine(db, pack, runtime, index);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  get modelId(): string {
    return this.pack.manifest.id;
  }

  hasEncoder(m: EncoderModality): boolean {
    return this.pack.encoders.includes(m);
  }

  async close(): Promise<void> {
    await this.runtime.close();
    this.db.close();
  }
}

async function resolvePack(db: Db, packDir: string | undefined): Promise<LoadedPack> {
  const dir = packDir ?? activeModel(db)?.dir ?? bundledTestPackDir();
  const pack = await loadPack(dir);
  registerModel(db, pack.dir, pack.manifest);
  if (activeModel(db)?.id !== pack.manifest.id) setActiveModel(db, pack.manifest.id);
  return pack;
}

export function indexName(packId: string): string {
  return packId.replace(/[^a-z0-9]/g, '_');
}

/**
 * The vector index is derived from the embeddings table. If the two disagree (a new backend, a
 * crash between two versions, a garbage pass while another pack was active) it is rebuilt.
 */
function syncIndex(db: Db, index: VectorIndex, modelId: string): VectorIndex {
  const dirtyKey = `index_dirty:${modelId}`;
  if (index.count() === embeddingCount(db, modelId) && getMeta(db, dirtyKey) !== '1') return index;
  index.drop();
  const fresh = openVectorIndex(db, { backend: index.backend, name: index.name, dim: index.dim });
  for (const page of iterateEmbeddings(db, modelId)) fresh.add(page);
  setMeta(db, dirtyKey, '0');
  return fresh;
}
