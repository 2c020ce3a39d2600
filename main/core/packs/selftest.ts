import path from 'node:path';
import { mulberry32 } from '../../../app/random.js';
import { ENCODER_MODALITIES, type EncoderModality } from '../../../app/modality.js';
import { preprocessAudio } from '../imagebind/audio.js';
import { preprocessImage } from '../imagebind/image.js';
import type { Tensor } from '../imagebind/tensor.js';
import { ClipTokenizer, textTensor } from '../imagebind/text.js';
import { loadPack, type LoadedPack } from './pack.js';
import { ITEM_DIMS, EncoderRuntime } from '../encoders/runtime.js';

/**
 * The self-test a freshly installed pack runs before it is called verified and made active
 * (docs/architecture.md §4).
 *
 * An ImageBind pack must reproduce the three matrices ImageBind's README prints for its own
 * example files (dog, car, bird) — softmax(Vision·Textᵀ), softmax(Audio·Textᵀ),
 * softmax(Vision·Audioᵀ) over the postprocessed embeddings, logit scales included — to two
 * decimals (numpy's `assert_almost_equal(decimal=2)`: |Δ| < 0.015). That is a test of the weights,
 * the conversion and Bindery's preprocessing together; random weights fail it.
 *
 * Packs without vision, text and audio encoders get the structural test only: every encoder loads
 * and turns two different inputs into two different finite embeddings.
 */

export interface SelfTestResult {
  ok: boolean;
  /** One line: what passed, or the first failure and by how much. */
  detail: string;
}

export const README_TEXTS = ['A dog.', 'A car', 'A bird'];
export const README_SUBJECTS = ['dog', 'car', 'bird'] as const;

/** ImageBind's README, "Expected output"; rows and columns are dog, car, bird. */
export const README_MATRICES: Readonly<Record<string, number[][]>> = {
  'Vision×Text': [
    [9.9761e-1, 2.3694e-3, 1.8612e-5],
    [3.3836e-5, 9.9994e-1, 2.4118e-5],
    [4.7997e-5, 1.3496e-2, 9.8646e-1],
  ],
  'Audio×Text': [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
  'Vision×Audio': [
    [0.807, 0.1088, 0.0842],
    [0.1036, 0.7884, 0.1079],
    [0.0018, 0.0022, 0.996],
  ],
};
const TOLERANCE = 0.015;

/** Whether the README test applies: an ImageBind-like pack with vision, text and audio. */
export function hasReadmeTest(pack: LoadedPack): boolean {
  return (
    ['vision', 'text', 'audio'].every((m) => pack.encoders.includes(m as EncoderModality)) &&
    !!pack.manifest.tokenizer
  );
}

/**
 * Runs the pack's self-test. `assetsDir` holds ImageBind's example files (dog_image.jpg …
 * bird_audio.wav) when the README test applies; without it the README test is reported as not run.
 */
export async function selfTestPack(dir: string, assetsDir: string | null): Promise<SelfTestResult> {
  const pack = await loadPack(dir);
  const runtime = new EncoderRuntime(pack, { providers: ['cpu'] });
  try {
    if (!hasReadmeTest(pack)) return await structuralTest(pack, runtime);
    if (!assetsDir) return { ok: false, detail: "not run: ImageBind's example files are not available" };
    return await readmeTest(pack, runtime, assetsDir);
  } catch (e) {
    return { ok: false, detail: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  } finally {
    await runtime.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The README matrices

/** Postprocessed embeddings as ImageBind returns them: unit vectors × the logit scale, clips averaged. */
async function embeddings(pack: LoadedPack, runtime: EncoderRuntime, assetsDir: string) {
  const enc = pack.manifest.encoders;
  const scaled = (m: EncoderModality, v: Float32Array) => v.map((x) => x * enc[m]!.logitScale);
  const vision: Float32Array[] = [];
  const audio: Float32Array[] = [];
  for (const s of README_SUBJECTS) {
    const image = await preprocessImage(path.join(assetsDir, `${s}_image.jpg`), enc.vision!.preprocess);
    const [v] = await runtime.embed('vision', { ...image, dims: [1, ...image.dims] });
    vision.push(scaled('vision', v));
    const clips = await runtime.embed(
      'audio',
      (await preprocessAudio(path.join(assetsDir, `${s}_audio.wav`), enc.audio!.preprocess)).tensor,
    );
    // ImageBind's reduce_list: the mean of the clips' scaled unit vectors, not renormalised.
    audio.push(scaled('audio', mean(clips)));
  }
  const tok = await ClipTokenizer.load(pack.filePath(pack.manifest.tokenizer!.file), enc.text!.preprocess);
  const text = (await runtime.embed('text', textTensor(tok, README_TEXTS))).map((t) => scaled('text', t));
  return { vision, audio, text };
}

/** The three softmax matrices ImageBind's README prints, computed with this pack. */
export async function readmeMatrices(
  pack: LoadedPack,
  runtime: EncoderRuntime,
  assetsDir: string,
): Promise<Record<string, number[][]>> {
  const e = await embeddings(pack, runtime, assetsDir);
  return {
    'Vision×Text': softmaxRows(e.vision, e.text),
    'Audio×Text': softmaxRows(e.audio, e.text),
    'Vision×Audio': softmaxRows(e.vision, e.audio),
  };
}

async function readmeTest(
  pack: LoadedPack,
  runtime: EncoderRuntime,
  assetsDir: string,
): Promise<SelfTestResult> {
  const got = await readmeMatrices(pack, runtime, assetsDir);
  const reference = pack.manifest.selftest?.expected ?? README_MATRICES;
  const source = pack.manifest.selftest ? 'the matrices the pack states' : "ImageBind's README";
  let worst = { name: '', row: 0, col: 0, delta: 0 };
  for (const [name, expected] of Object.entries(reference)) {
    expected.forEach((row, r) =>
      row.forEach((want, c) => {
        const delta = Math.abs(got[name][r][c] - want);
        if (delta > worst.delta) worst = { name, row: r, col: c, delta };
      }),
    );
  }
  if (worst.delta < TOLERANCE) {
    return {
      ok: true,
      detail: `${source} reproduced (largest difference ${worst.delta.toFixed(4)})`,
    };
  }
  const { name, row, col, delta } = worst;
  const value = got[name][row][col];
  return {
    ok: false,
    detail:
      `${name} differs from ${source} by ${delta.toFixed(3)} ` +
      `(${README_SUBJECTS[row]} × ${README_SUBJECTS[col]}: ${value.toFixed(4)}, expected ${reference[name as keyof typeof reference]![row][col].toFixed(4)})`,
  };
}

function mean(rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows[0].length);
  for (const r of rows) for (let i = 0; i < out.length; i++) out[i] += r[i] / rows.length;
  return out;
}

/** softmax over each row of a·bᵀ. */
export function softmaxRows(a: Float32Array[], b: Float32Array[]): number[][] {
  return a.map((x) => {
    const logits = b.map((y) => y.reduce((s, v, i) => s + v * x[i], 0));
    const max = Math.max(...logits);
    const exps = logits.map((l) => Math.exp(l - max));
    const sum = exps.reduce((s, v) => s + v, 0);
    return exps.map((v) => v / sum);
  });
}

// ---------------------------------------------------------------------------------------------
// The structural test

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

async function structuralTest(pack: LoadedPack, runtime: EncoderRuntime): Promise<SelfTestResult> {
  for (const m of ENCODER_MODALITIES.filter((x) => pack.encoders.includes(x))) {
    const [a] = await runtime.embed(m, input(m, 1));
    const [b] = await runtime.embed(m, input(m, 2));
    const problem = check(a, b, pack.manifest.embeddingDim);
    if (problem) return { ok: false, detail: `${m} encoder: ${problem}` };
  }
  return { ok: true, detail: `${pack.encoders.join(', ')} encoders load and respond to their input` };
}

function check(a: Float32Array, b: Float32Array, dim: number): string | null {
  if (a.length !== dim) return `embeddings have ${a.length} values, the pack says ${dim}`;
  if (![...a, ...b].every(Number.isFinite)) return 'embeddings are not finite';
  let dot = 0;
  for (let i = 0; i < dim; i++) dot += a[i] * b[i];
  return dot > 0.999999 ? 'different inputs give the same embedding' : null;
}
