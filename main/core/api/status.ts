import type { ModelInfo, RootInfo, Failure, Status, StatusRequestSchema } from '../../../app/api.js';
import { inputKindsFor, MEDIA_KINDS, type MediaKind } from '../../../app/modality.js';
import { licenceLabel } from '../../../app/pack.js';
import { segmentCount } from '../catalogue/contents.js';
import { fileCountsByKindAndStatus, queuedCount } from '../catalogue/files.js';
import type { Engine } from '../engine/engine.js';
import { zeroCounts, type FileCounts } from './library.js';
import type { Req } from './parsed.js';

/** What status() reads from the other groups. */
export interface StatusSources {
  listRoots(): Promise<RootInfo[]>;
  failures(): Promise<Failure[]>;
  isRunning(): boolean;
  isWatching(): boolean;
  verification(id: string): { verified: boolean; selftest: string | null };
}

/** status(): the catalogue, the packs and the index at a glance; polled while indexing, so cheap. */
export function statusApi(engine: Engine, from: StatusSources) {
  function modelInfo(): ModelInfo {
    const { pack, runtime } = engine.active;
    const m = pack.manifest;
    return {
      id: m.id,
      name: m.name,
      version: m.version,
      dir: pack.dir,
      licence: { name: m.licence.name, url: m.licence.url, label: licenceLabel(m.licence) },
      testPack: m.testPack,
      ...from.verification(m.id),
      embeddingDim: m.embeddingDim,
      encoders: pack.encoders,
      inputKinds: inputKindsFor(pack.encoders),
      providers: runtime.providerReport(),
      providerOrder: runtime.providerOrder,
      active: true,
    };
  }

  return {
    async status(req: Req<typeof StatusRequestSchema> = {}): Promise<Status> {
      if (req.loadEncoders) await engine.active.runtime.warmUp();
      const { db } = engine;
      const byKind = Object.fromEntries(MEDIA_KINDS.map((k) => [k, zeroCounts()])) as Record<
        MediaKind,
        FileCounts
      >;
      const files = zeroCounts();
      for (const r of fileCountsByKindAndStatus(db)) {
        files[r.status] += r.n;
        if (r.kind) byKind[r.kind][r.status] += r.n;
      }
      const stats = engine.serving.index.stats();
      return {
        catalogue: db.name,
        files,
        byKind,
        segments: segmentCount(db),
        queued: queuedCount(db),
        failures: await from.failures(),
        model: modelInfo(),
        servingModel: engine.serving.id,
        servingInputKinds: inputKindsFor(engine.serving.pack.encoders),
        vectors: { backend: stats.backend, count: stats.count, dim: stats.dim, shards: stats.shards },
        roots: await from.listRoots(),
        indexing: from.isRunning(),
        watching: from.isWatching(),
      };
    },
  };
}
