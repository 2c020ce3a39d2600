import { defaultBackend, type BackendName } from '../main/core/vectors/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../main/core/engine/engine.js';
import { viaDispatch } from '../app/dispatch.js';
import { coreService } from '../main/core/api/service.js';
import { writeLibrary } from '../tests/support/synth-media.js';

export interface IngestBenchEntry {
  modality: 'image' | 'audio' | 'video';
  files: number;
  segments: number;
  seconds: number;
  itemsPerSec: number;
  segmentsPerSec: number;
}

/** Indexes a generated library of one kind at a time through the real pipeline (test pack, CPU). */
export async function benchIngest(opts: {
  quick: boolean;
  backend?: BackendName;
}): Promise<IngestBenchEntry[]> {
  const sizes = opts.quick ? { image: 24, audio: 12, video: 3 } : { image: 200, audio: 60, video: 12 };
  const out: IngestBenchEntry[] = [];
  for (const modality of ['image', 'audio', 'video'] as const) {
    out.push(await benchOne(modality, sizes[modality], opts.backend ?? defaultBackend()));
  }
  return out;
}

async function benchOne(modality: IngestBenchEntry['modality'], n: number, backend: BackendName) {
  const dir = await mkdtemp(path.join(os.tmpdir(), `bindery-bench-${modality}-`));
  try {
    const lib = path.join(dir, 'library');
    await import('node:fs/promises').then((fs) => fs.mkdir(lib));
    const counts = {
      images: modality === 'image' ? n : 0,
      audio: modality === 'audio' ? n : 0,
      videos: modality === 'video' ? n : 0,
    };
    await writeLibrary(lib, counts, 7);
    const engine = await Engine.open({ dbPath: path.join(dir, 'catalogue.db'), backend });
    try {
      const service = viaDispatch(coreService(engine));
      await service.addRoot({ path: lib });
      const t0 = performance.now();
      const summary = await service.index({});
      const seconds = (performance.now() - t0) / 1000;
      return {
        modality,
        files: summary.indexed,
        segments: summary.embedded,
        seconds: round(seconds),
        itemsPerSec: round(summary.indexed / seconds),
        segmentsPerSec: round(summary.embedded / seconds),
      };
    } finally {
      await engine.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
