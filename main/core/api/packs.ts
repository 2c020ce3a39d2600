import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type {
  AvailableModels,
  InstallModelRequestSchema,
  InstallResult,
  ModelProgress,
  ModelSummary,
} from '../../../app/api.js';
import { ApiError } from '../../../app/errors.js';
import { licenceLabel } from '../../../app/pack.js';
import { isInside, packsDirFor } from '../paths.js';
import { indexedContentCount } from '../catalogue/files.js';
import {
  catalogueUsingPack,
  deleteMeta,
  deleteModel,
  getMeta,
  listModels,
  modelManifest,
  registerModel,
  setMeta,
  type ModelRow,
} from '../catalogue/packs.js';
import type { Db } from '../catalogue/open.js';
import { indexName, type Engine } from '../engine/engine.js';
import { acquireModel, downloadsDir, selfTestInstalled } from '../packs/acquire.js';
import { CheckpointError } from '../packs/convert/checkpoint.js';
import { loadPack, PackError } from '../packs/pack.js';
import {
  CATALOGUE,
  checkMirror,
  effectiveMirror,
  findLocalCheckpoint,
  recommendedPrecision,
  sourceUrl,
} from '../packs/installable.js';
import { usableGpuProvider } from '../encoders/providers.js';
import type { SelfTestResult } from '../packs/selftest.js';
import { dropVectorIndex } from '../vectors/index.js';
import type { Req } from './parsed.js';
import { manifestBytes, reembedEstimate } from './reembed.js';

/**
 * The model-pack half of AppApi (docs/architecture.md §4): what is installed and verified, what
 * can be installed, installing (one at a time, cancellable), self-tests, switching and removing.
 * A pack becomes active after installing only when its self-test passed.
 */

const MIRROR_KEY = 'model_mirror';
const selftestKey = (id: string) => `selftest:${id}`;

/** Packs live beside the catalogue they were installed for. */
export function packsDirOf(engine: Engine): string {
  return packsDirFor(engine.db.name);
}

/** `onActivated` runs after the active pack changed, so the library is re-embedded in the background. */
export function packsApi(engine: Engine, onActivated: () => void) {
  const { db } = engine;
  const packsDir = packsDirOf(engine);
  const listeners = new Set<(p: ModelProgress) => void>();
  const emit = (p: ModelProgress) => listeners.forEach((l) => l(p));
  let installing: AbortController | null = null;

  const verification = (id: string) => verificationOf(db, id);
  const record = (id: string, result: SelfTestResult | null): void =>
    setMeta(db, selftestKey(id), JSON.stringify(result ?? { skipped: true }));
  const mirror = (): string | null => effectiveMirror(getMeta(db, MIRROR_KEY) || null);

  function row(id: string): ModelRow {
    const found = listModels(db).find((m) => m.id === id);
    if (!found) throw new ApiError('not_found', `no installed model pack with id ${id}`);
    return found;
  }

  async function summaryOf(id: string): Promise<ModelSummary> {
    return (await api.listModels()).find((m) => m.id === id)!;
  }

  const api = {
    async listModels(): Promise<ModelSummary[]> {
      const total = indexedContentCount(db);
      return listModels(db).map((m) => summarise(engine, packsDir, m, total));
    },

    async useModel({ id }: { id: string }): Promise<ModelSummary[]> {
      await engine.usePack(id);
      onActivated();
      return api.listModels();
    },

    availableModels: (): Promise<AvailableModels> => installable(engine, packsDir, mirror()),

    async setModelMirror({ url }: { url: string | null }): Promise<AvailableModels> {
      setMeta(db, MIRROR_KEY, url === null ? '' : mirrorOrRefusal(url));
      return api.availableModels();
    },

    /**
     * Installs what `source` names (a catalogue id, a pack, a checkpoint file or URL) into the
     * packs folder, verified and atomically; runs its self-test unless skipped, and makes it active
     * when that passed. One install at a time.
     */
    async installModel(req: Req<typeof InstallModelRequestSchema>): Promise<InstallResult> {
      if (installing) throw new ApiError('conflict', 'another model install is running; cancel it or wait');
      const abort = new AbortController();
      installing = abort;
      try {
        const ctx = { packsDir, mirror: mirror(), onProgress: emit, signal: abort.signal };
        const { installed, selftest } = await acquireModel(req, ctx).catch((e: unknown) => {
          // A checkpoint or pack that is not what it should be is the user's input, not an engine fault.
          throw e instanceof CheckpointError || e instanceof PackError
            ? new ApiError('invalid_request', e.message)
            : e;
        });
        registerModel(db, installed.dir, installed.manifest);
        record(installed.manifest.id, selftest);
        if (selftest?.ok) await api.useModel({ id: installed.manifest.id });
        return summaryOf(installed.manifest.id);
      } finally {
        installing = null;
      }
    },

    async cancelModelInstall(): Promise<{ cancelled: boolean }> {
      const running = installing;
      running?.abort(new ApiError('cancelled', 'install cancelled; installing again resumes the download'));
      return { cancelled: running !== null };
    },

    async selfTestModel({ id }: { id: string }): Promise<ModelSummary> {
      const pack = await loadPack(row(id).dir);
      const ctx = { packsDir, mirror: mirror(), onProgress: emit };
      record(id, await selfTestInstalled({ dir: pack.dir, manifest: pack.manifest }, ctx));
      return summaryOf(id);
    },

    async removeModel({ id }: { id: string }): Promise<ModelSummary[]> {
      await removePack(engine, packsDir, row(id));
      return api.listModels();
    },

    onModelProgress(listener: (p: ModelProgress) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return { api, verification };
}

/**
 * A pack as the model-packs dialog shows it: identity, self-test, embedding progress, and what
 * removing it frees or using it starts, so the dialog can ask with numbers before either.
 */
function summarise(engine: Engine, packsDir: string, m: ModelRow, totalContents: number): ModelSummary {
  const { db } = engine;
  const reembed = reembedEstimate(db, m.id, engine.active.id);
  return {
    ...describePack(db, m),
    active: m.id === engine.active.id,
    embeddedContents: totalContents - reembed.contents,
    totalContents,
    diskBytes: manifestBytes(modelManifest(db, m.id)!),
    removeFreesDisk: ownedByBindery(m.dir, packsDir),
    reembed,
  };
}

/** A pack's self-test verdict, as every view of it shows it. */
function verificationOf(db: Db, id: string): { verified: boolean; selftest: string | null } {
  const raw = getMeta(db, selftestKey(id));
  if (!raw) return { verified: false, selftest: null };
  const r = JSON.parse(raw) as SelfTestResult | { skipped: true };
  if ('skipped' in r) return { verified: false, selftest: 'skipped: unverified' };
  return { verified: r.ok, selftest: r.detail };
}

/** A pack's identity, licence and self-test, as every view of it shows them. */
function describePack(db: Db, m: ModelRow) {
  const manifest = modelManifest(db, m.id)!;
  return {
    id: m.id,
    name: m.name,
    version: m.version,
    dir: m.dir,
    licence: licenceLabel(manifest.licence),
    licenceAcceptedAt: manifest.licence.acceptedAt ?? null,
    testPack: Boolean(manifest.testPack),
    ...verificationOf(db, m.id),
  };
}

/** The catalogue's packs as this machine would install them: what is on disk, what is left to fetch. */
async function installable(
  engine: Engine,
  packsDir: string,
  mirror: string | null,
): Promise<AvailableModels> {
  const installed = new Set(listModels(engine.db).map((m) => m.id));
  const downloads = downloadsDir(packsDir);
  const recommended = recommendedPrecision(await usableGpuProvider(engine.active.runtime.providerOrder));
  const models = [];
  for (const e of CATALOGUE) {
    const local = await findLocalCheckpoint(e, downloads);
    const partialFile = path.join(downloads, `${e.checkpoint.fileName}.partial`);
    const partial = (await stat(partialFile).catch(() => undefined))?.size ?? 0;
    const downloadBytes = local ? 0 : Math.max(0, e.checkpoint.approxBytes - partial);
    models.push({
      id: e.id,
      name: e.name,
      description: e.description,
      modalities: e.modalities,
      precision: e.precision,
      downloadBytes,
      diskBytes: downloadBytes + e.packBytes,
      licence: e.licence,
      sourceUrl: sourceUrl(e.checkpoint, mirror),
      officialUrl: e.checkpoint.url,
      homepage: e.homepage,
      localCheckpoint: local,
      partialBytes: partial,
      installed: installed.has(e.id),
      recommended: e.precision === recommended,
    });
  }
  return { mirror, models };
}

function mirrorOrRefusal(url: string): string {
  try {
    return checkMirror(url);
  } catch (e) {
    throw new ApiError('invalid_request', (e as Error).message);
  }
}

/** A pack leaves the catalogue with its index and verdict; its folder too when Bindery installed it. */
async function removePack(engine: Engine, packsDir: string, pack: ModelRow): Promise<void> {
  const { id, dir } = pack;
  if (engine.handles().some((h) => h.id === id)) {
    throw new ApiError('conflict', `${id} is in use; switch to another pack first (bindery models use <id>)`);
  }
  // A shared catalogue's replica beside this catalogue serves from the same packs folder.
  const elsewhere = ownedByBindery(dir, packsDir) ? catalogueUsingPack(engine.db, id) : undefined;
  if (elsewhere)
    throw new ApiError('conflict', `${id} is in use by the catalogue ${elsewhere}; it stays installed`);
  engine.db.transaction(() => {
    dropVectorIndex(engine.db, indexName(id));
    deleteModel(engine.db, id);
    deleteMeta(engine.db, selftestKey(id));
  })();
  if (ownedByBindery(dir, packsDir)) await rm(dir, { recursive: true, force: true });
}

/** Only folders Bindery installed are deleted with their pack; a pack used in place from elsewhere stays. */
function ownedByBindery(dir: string, packsDir: string): boolean {
  return isInside(path.resolve(dir), packsDir);
}
