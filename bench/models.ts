import type { EncoderModality } from '../app/modality.js';
import type { LoadedPack } from '../main/core/packs/pack.js';
import { EncoderRuntime, ITEM_DIMS } from '../main/core/encoders/runtime.js';
import type { Tensor } from '../main/core/imagebind/tensor.js';

/**
 * Model benchmark (docs/architecture.md §10): session load time per encoder and encoder throughput at
 * batch 1, 8 and 32 on CPU, fed with tensors of exactly the shape preprocessing produces. Only
 * the encoder is timed, never decoding or preprocessing.
 */

export interface ModelBenchResult {
  /** Milliseconds to create each encoder's first session (file read, graph optimisation). */
  loadMs: Record<string, number>;
  throughput: { modality: string; batch: number; itemsPerSec: number }[];
  /** The execution provider each encoder ran on (always cpu here; kept so reports say so). */
  providers: Record<string, string>;
}

const BATCHES = [1, 8, 32];

/** Deterministic filler: the test pack's cost does not depend on values, a real pack's barely does. */
export function syntheticInput(m: EncoderModality, batch: number): Tensor {
  const dims = [batch, ...ITEM_DIMS[m]];
  const size = dims.reduce((a, b) => a * b, 1);
  if (m === 'text') {
    const data = new BigInt64Array(size);
    for (let b = 0; b < batch; b++) data.set([49406n, BigInt(320 + b), 1929n, 49407n], b * 77);
    return { dtype: 'int64', dims, data };
  }
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = (Math.imul(i + 1, 2654435761) >>> 0) / 2 ** 31 - 1;
  return { dtype: 'float32', dims, data };
}

/** Runs until both a minimum count and a minimum time are reached (quick: a couple of runs). */
export async function itemsPerSec(
  runtime: EncoderRuntime,
  m: EncoderModality,
  input: Tensor,
  quick: boolean,
): Promise<number> {
  const batch = input.dims[0];
  await runtime.embed(m, input); // warm-up: first-run allocations and arena growth
  const [minRuns, minMs, maxRuns] = quick ? [2, 0, 2] : [5, 1000, 500];
  let runs = 0;
  const started = performance.now();
  while (runs < minRuns || (performance.now() - started < minMs && runs < maxRuns)) {
    await runtime.embed(m, input);
    runs++;
  }
  return (batch * runs * 1000) / (performance.now() - started);
}

/** onnxruntime sets up its environment on the first session; do that once so it is not billed to one encoder. */
async function initialiseOrt(pack: LoadedPack): Promise<void> {
  const runtime = new EncoderRuntime(pack, { providers: ['cpu'] });
  await runtime.load(pack.encoders[pack.encoders.length - 1]);
  await runtime.close();
}

export async function benchModels(pack: LoadedPack, opts: { quick: boolean }): Promise<ModelBenchResult> {
  const result: ModelBenchResult = { loadMs: {}, throughput: [], providers: {} };
  await initialiseOrt(pack);
  for (const m of pack.encoders) {
    // A fresh runtime per encoder, so the load time is a cold session creation.
    const runtime = new EncoderRuntime(pack, { providers: ['cpu'], batchSize: Math.max(...BATCHES) });
    try {
      await runtime.load(m);
      const report = runtime.providerReport()[m]!;
      result.loadMs[m] = Math.round(report.loadMs * 10) / 10;
      result.providers[m] = report.provider;
      for (const batch of BATCHES) {
        const rate = await itemsPerSec(runtime, m, syntheticInput(m, batch), opts.quick);
        result.throughput.push({ modality: m, batch, itemsPerSec: Math.round(rate * 10) / 10 });
      }
    } finally {
      await runtime.close();
    }
  }
  return result;
}
