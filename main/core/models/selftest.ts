import { mulberry32 } from '../../../app/random.js';
import { ENCODER_MODALITIES, type EncoderModality } from '../../../app/modality.js';
import { loadPack } from './pack.js';
import { ITEM_DIMS, EncoderRuntime } from './runtime.js';
import type { Tensor } from '../preprocess/tensor.js';

/**
 * The self-test a freshly installed pack runs before it is called verified (docs/architecture.md §4): every encoder loads in onnxruntime and turns two different inputs into two
 * different finite embeddings of the declared width. It catches graphs that do not load, produce
 * NaN, or ignore their input; it cannot tell trained weights from random ones.
 */

export interface SelfTestResult {
  ok: boolean;
  /** One line: what passed, or the first failure. */
  detail: string;
}

function input(modality: EncoderModality, seed: number): Tensor {
  const dims = [1, ...ITEM_DIMS[modality]];
  const count = dims.reduce((a, b) => a * b, 1);
  const next = mulberry32(seed);
  if (modality === 'text') {
    // SOT, a few word ids, EOT, padding: what the tokenizer makes.
    const ids = new BigInt64Array(count);
    ids[0] = 49406n;
    for (let i = 1; i <= 4; i++) ids[i] = BigInt(1 + Math.floor(next() * 40000));
    ids[5] = 49407n;
    return { dtype: 'int64', dims, data: ids };
  }
  return { dtype: 'float32', dims, data: Float32Array.from({ length: count }, () => next() * 2 - 1) };
}

export async function selfTestPack(dir: string): Promise<SelfTestResult> {
  const pack = await loadPack(dir);
  const runtime = new EncoderRuntime(pack, { providers: ['cpu'] });
  try {
    for (const m of ENCODER_MODALITIES.filter((x) => pack.encoders.includes(x))) {
      const [a] = await runtime.embed(m, input(m, 1));
      const [b] = await runtime.embed(m, input(m, 2));
      const problem = check(a, b, pack.manifest.embeddingDim);
      if (problem) return { ok: false, detail: `${m} encoder: ${problem}` };
    }
    return { ok: true, detail: `${pack.encoders.join(', ')} encoders load and respond to their input` };
  } catch (e) {
    return { ok: false, detail: e instanceof Error ? e.message : String(e) };
  } finally {
    await runtime.close();
  }
}

function check(a: Float32Array, b: Float32Array, dim: number): string | null {
  if (a.length !== dim) return `embeddings have ${a.length} values, the pack says ${dim}`;
  if (![...a, ...b].every(Number.isFinite)) return 'embeddings are not finite';
  let dot = 0;
  for (let i = 0; i < dim; i++) dot += a[i] * b[i];
  return dot > 0.999999 ? 'different inputs give the same embedding' : null;
}
