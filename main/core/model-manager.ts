import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import {
  type AvailableModels,
  type InstallModelRequestSchema,
  type InstallResult,
  type ModelProgress,
  type ModelSummary,
} from '../../app/api.js';
import { ApiError } from '../../app/errors.js';
import { licenceLabel } from '../../app/pack.js';
import { isInside } from './db/roots.js';
import { indexedContentCount, unembeddedContents } from './db/files.js';
import {
  deleteMeta,
  deleteModel,
  getMeta,
  listModels,
  modelManifest,
  registerModel,
  setMeta,
  type ModelRow,
} from './db/models.js';
import { indexName, type Engine } from './engine.js';
import { acquireModel, downloadsDir, selfTestInstalled } from './models/acquire.js';
import { CheckpointError } from './models/checkpoint/checkpoint.js';
import { loadPack, PackError } from './models/pack.js';
import {
  CATALOGUE,
  checkMirror,
  effectiveMirror,
  findLocalCheckpoint,
  recommendedPrecision,
  sourceUrl,
} from './models/catalogue.js';
import { usableGpuProvider } from './models/providers.js';
import type { SelfTestResult } from './models/selftest.js';
import { dropVectorIndex } from './vectors/index.js';

/**
 * The model-pack half of AppApi (docs/architecture.md §4): what is installed and verified, what
 * can be installed, installing (one at a time, cancellable), self-tests, switching and removing.
 * A pack becomes active after installing only when its self-test passed. Requests arrive parsed
 * (CoreService is reached through app/dispatch.ts), so they are not parsed again here.
 */

const MIRROR_KEY = 'model_mirror';
const selftestKey = (id: string) => `selftest:${id}`;

export class ModelManager {
  private installing: AbortController | null = null;

  constructor(
    private readonly engine: Engine,
    private readonly packsDir: string,
    private readonly emit: (p: ModelProgress) => void,
    /** Called after the active pack changed, so the library is re-embedded in the background. */
    private readonly onActivated: () => void,
  ) {}

  async list(): Promise<ModelSummary[]> {
    const { db } = this.engine;
    const total = indexedContentCount(db);
    return listModels(db).map((m) => ({
      ...this.describe(m),
      active: m.id === this.engine.active.id,
      embeddedContents: total - unembeddedContents(db, m.id),
      totalContents: total,
    }));
  }

  /** A pack's identity, licence and self-test, as every view of it shows them. */
  private describe(m: ModelRow) {
    const manifest = modelManifest(this.engine.db, m.id)!;
    return {
      id: m.id,
      name: m.name,
      version: m.version,
      dir: m.dir,
      licence: licenceLabel(manifest.licence),
      licenceAcceptedAt: manifest.licence.acceptedAt ?? null,
      testPack: Boolean(manifest.testPack),
      ...this.verification(m.id),
    };
  }

  verification(id: string): { verified: boolean; selftest: string | null } {
    const raw = getMeta(this.engine.db, selftestKey(id));
    if (!raw) return { verified: false, selftest: null };
    const r = JSON.parse(raw) as SelfTestResult | { skipped: true };
    if ('skipped' in r) return { verified: false, selftest: 'skipped: unverified' };
    return { verified: r.ok, selftest: r.detail };
  }

  private record(id: string, result: SelfTestResult | null): void {
    setMeta(this.engine.db, selftestKey(id), JSON.stringify(result ?? { skipped: true }));
  }

  async use(id: string): Promise<ModelSummary[]> {
    await this.engine.usePack(id);
    this.onActivated();
    return this.list();
  }

  async available(): Promise<AvailableModels> {
    const mirror = this.mirror();
    const installed = new Set(listModels(this.engine.db).map((m) => m.id));
    const downloads = downloadsDir(this.packsDir);
    const recommended = recommendedPrecision(
      await usableGpuProvider(this.engine.active.runtime.providerOrder),
    );
    const models = [];
    for (const e of CATALOGUE) {
      const local = await findLocalCheckpoint(e, downloads);
      const partial =
        (await stat(path.join(downloads, `${e.checkpoint.fileName}.partial`)).catch(() => undefined))?.size ??
        0;
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

  private mirror(): string | null {
    return effectiveMirror(getMeta(this.engine.db, MIRROR_KEY) || null);
  }

  async setMirror({ url }: { url: string | null }): Promise<AvailableModels> {
    let value = '';
    if (url !== null) {
      try {
        value = checkMirror(url);
      } catch (e) {
        throw new ApiError('invalid_request', (e as Error).message);
      }
    }
    setMeta(this.engine.db, MIRROR_KEY, value);
    return this.available();
  }

  /**
   * Installs what `source` names (a catalogue id, a pack, a checkpoint file or URL), runs its
   * self-test unless skipped, and makes it active when that passed. One install at a time.
   */
  async install(parsed: z.output<typeof InstallModelRequestSchema>): Promise<InstallResult> {
    if (this.installing)
      throw new ApiError('conflict', 'another model install is running; cancel it or wait');
    const abort = new AbortController();
    this.installing = abort;
    try {
      const { installed, selftest } = await acquireModel(parsed, {
        packsDir: this.packsDir,
        mirror: this.mirror(),
        onProgress: this.emit,
        signal: abort.signal,
      }).catch((e: unknown) => {
        // A checkpoint or pack that is not what it should be is the user's input, not an engine fault.
        throw e instanceof CheckpointError || e instanceof PackError
          ? new ApiError('invalid_request', e.message)
          : e;
      });
      registerModel(this.engine.db, installed.dir, installed.manifest);
      this.record(installed.manifest.id, selftest);
      if (selftest?.ok) await this.use(installed.manifest.id);
      return (await this.list()).find((m) => m.id === installed.manifest.id)!;
    } finally {
      this.installing = null;
    }
  }

  async cancel(): Promise<{ cancelled: boolean }> {
    const running = this.installing;
    running?.abort(new ApiError('cancelled', 'install cancelled; installing again resumes the download'));
    return { cancelled: running !== null };
  }

  async selfTest({ id }: { id: string }): Promise<ModelSummary> {
    const pack = await loadPack(this.row(id).dir);
    const ctx = { packsDir: this.packsDir, mirror: this.mirror(), onProgress: this.emit };
    this.record(id, await selfTestInstalled({ dir: pack.dir, manifest: pack.manifest }, ctx));
    return (await this.list()).find((m) => m.id === id)!;
  }

  async remove({ id }: { id: string }): Promise<ModelSummary[]> {
    const { db } = this.engine;
    if (this.engine.handles().some((h) => h.id === id)) {
      throw new ApiError(
        'conflict',
        `${id} is in use; switch to another pack first (bindery models use <id>)`,
      );
    }
    const row = this.row(id);
    db.transaction(() => {
      dropVectorIndex(db, indexName(id));
      deleteModel(db, id);
      deleteMeta(db, selftestKey(id));
    })();
    // Only folders Bindery installed are deleted; a pack used in place from elsewhere stays.
    if (isInside(path.resolve(row.dir), this.packsDir)) await rm(row.dir, { recursive: true, force: true });
    return this.list();
  }

  private row(id: string): ModelRow {
    const row = listModels(this.engine.db).find((m) => m.id === id);
    if (!row) throw new ApiError('not_found', `no installed model pack with id ${id}`);
    return row;
  }
}
