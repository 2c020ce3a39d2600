/**
 * Generates the deterministic test model pack (`models/test-pack/`, docs/architecture.md §4).
 *
 *   npx tsc -p tsconfig.json && node dist/models/test-pack-generator/generate.js [outDir] [--check]
 *
 * Six tiny ONNX graphs (opset 17) with random fp16 weights and exactly ImageBind's per-modality
 * inputs and outputs, so every code path (preprocessing → sessions → index → search) can run
 * without the 4 GB checkpoint. The graphs follow ImageBind's `forward` contract: inputs of rank ≥ 5
 * carry a clip axis S; each of the N·S items is embedded, L2-normalised, multiplied by the
 * modality's logit scale, and then averaged over S. The embeddings depend on the content, but the
 * weights are random: this pack proves plumbing, never semantics.
 *
 * Output is byte-identical on every run (seeded integer PRNG, no clock, stable key order), and the
 * generator checks that itself before it writes.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runIfMain } from '../run-if-main.js';
import { PackManifestSchema, TEST_PACK_SIGNAL, type PackManifest } from '../../app/pack.js';
import type { EncoderModality } from '../../app/modality.js';
import type { Dim } from '../../main/core/encoders/onnx-builder.js';
import { SeededGraph } from './random-weights.js';
import { packageRoot } from '../../main/core/paths.js';

export const TEST_PACK_ID = 'bindery-test-pack';
export const EMBEDDING_DIM = 1024;
export const VOCAB_FILE = 'bpe_simple_vocab_16e6.txt.gz';
const HIDDEN = 64;
const TEXT_BUCKETS = 1021; // prime, so token ids spread evenly over the hashed embedding table
const TEXT_WIDTH = 64;

/** ImageBind's postprocessor scales (imagebind_model.py): vision none, text learnable exp(log(1/0.07)). */
const TEXT_LOG_SCALE = Math.fround(Math.log(1 / 0.07));
export const LOGIT_SCALES: Readonly<Record<EncoderModality, number>> = {
  vision: 1,
  text: Math.fround(Math.exp(TEXT_LOG_SCALE)),
  audio: 20,
  depth: 5,
  thermal: 10,
  imu: 5,
};

interface EncoderDef {
  input: { dtype: 'float32' | 'int64'; shape: Dim[] };
  /** Builds [items, features] from the graph input; items = N·S where the input has a clip axis. */
  features(g: SeededGraph, input: string): { name: string; width: number };
}

/** Average-pools `x` (already [items, C, …]) and flattens to [items, features]. */
function pooled(g: SeededGraph, x: string, kernel: number[], width: number): { name: string; width: number } {
  const pool = g.op('AveragePool', [x], { kernel_shape: kernel, strides: kernel });
  return { name: g.op('Flatten', [pool], { axis: 1 }), width };
}

const ENCODERS: Readonly<Record<EncoderModality, EncoderDef>> = {
  vision: {
    input: { dtype: 'float32', shape: ['N', 'S', 3, 2, 224, 224] },
    // Fold colour and time into channels: [N·S, 6, 224, 224] → 8×8 grid of 28-px cells = 384 features.
    features: (g, x) =>
      pooled(g, g.op('Reshape', [x, g.constI64('vision_items', [-1, 6, 224, 224])]), [28, 28], 384),
  },
  text: { input: { dtype: 'int64', shape: ['N', 77] }, features: textFeatures },
  audio: {
    input: { dtype: 'float32', shape: ['N', 'S', 1, 128, 204] },
    // [N·S, 1, 128, 204] → 16 mel bands × 17 time cells = 272 features.
    features: (g, x) =>
      pooled(g, g.op('Reshape', [x, g.constI64('audio_items', [-1, 1, 128, 204])]), [8, 12], 272),
  },
  depth: {
    input: { dtype: 'float32', shape: ['N', 1, 224, 224] },
    features: (g, x) => pooled(g, x, [14, 14], 256),
  },
  thermal: {
    input: { dtype: 'float32', shape: ['N', 1, 224, 224] },
    features: (g, x) => pooled(g, x, [14, 14], 256),
  },
  // 6 channels × 40 windows of 50 samples = 240 features.
  imu: { input: { dtype: 'float32', shape: ['N', 6, 2000] }, features: (g, x) => pooled(g, x, [50], 240) },
};

/**
 * Text: hash each token id into a small table, scale it by a per-position gain (so word order
 * matters), and mean-pool over the real tokens (id 0 is padding, as ImageBind's tokenizer zero-pads).
 */
function textFeatures(g: SeededGraph, ids: string): { name: string; width: number } {
  const buckets = g.op('Mod', [ids, g.constI64('text_buckets', [TEXT_BUCKETS])], { fmod: 0 });
  const tokens = g.op('Gather', [g.weightF16('token_table', [TEXT_BUCKETS, TEXT_WIDTH], 1), buckets], {
    axis: 0,
  });
  // Multiplicative position gains around 1: with an additive position table the masked sum would
  // not change when two words swap places.
  const gains = g.op('Add', [
    g.weightF16('position_table', [77, TEXT_WIDTH], 0.5),
    g.scalar('text_gain_bias', 1),
  ]);
  const x = g.op('Mul', [tokens, gains]);
  const real = g.op('Greater', [ids, g.constI64('text_pad', [0])]);
  const mask = g.op('Unsqueeze', [g.op('Cast', [real], { to: 1 }), g.constI64('text_last_axis', [-1])]);
  const axis1 = g.constI64('text_seq_axis', [1]);
  const sum = g.op('ReduceSum', [g.op('Mul', [x, mask]), axis1], { keepdims: 0 });
  const count = g.op('Max', [g.op('ReduceSum', [mask, axis1], { keepdims: 0 }), g.scalar('text_one', 1)]);
  return { name: g.op('Div', [sum, count]), width: TEXT_WIDTH };
}

/**
 * The shared trunk: LayerNorm (so the pattern of the pooled features matters, not just overall
 * brightness or loudness), a tanh MLP to 1024, then ImageBind's Normalize and logit scaling.
 */
function trunk(g: SeededGraph, features: { name: string; width: number }, modality: EncoderModality): string {
  const f = features.width;
  const gamma = g.constF32('ln_scale', [f], new Float32Array(f).fill(1));
  const z = g.op('LayerNormalization', [features.name, gamma], { axis: -1, epsilon: { float: 1e-5 } });
  const b1 = g.weightF16('b1', [HIDDEN], 0.1);
  const h = g.op('Tanh', [g.op('Gemm', [z, g.weightF16('w1', [f, HIDDEN], 1.5 / Math.sqrt(f)), b1])]);
  const e = g.op('MatMul', [h, g.weightF16('w2', [HIDDEN, EMBEDDING_DIM], 1 / Math.sqrt(HIDDEN))]);
  // torch.nn.functional.normalize: x / max(‖x‖₂, 1e-12).
  const norm = g.op('Max', [g.op('ReduceL2', [e], { axes: [-1], keepdims: 1 }), g.scalar('norm_eps', 1e-12)]);
  const unit = g.op('Div', [e, norm]);
  if (modality === 'text') {
    // LearnableLogitScaling: exp(log_logit_scale), clipped at 100 as in ImageBind.
    const scale = g.op('Min', [
      g.op('Exp', [g.scalar('log_logit_scale', TEXT_LOG_SCALE)]),
      g.scalar('max_scale', 100),
    ]);
    return g.op('Mul', [unit, scale]);
  }
  if (LOGIT_SCALES[modality] === 1) return unit;
  return g.op('Mul', [unit, g.scalar('logit_scale', LOGIT_SCALES[modality])]);
}

/** reduce_list semantics: [N·S, D] → [N, S, D] → mean over S (N and S read from the input's shape). */
function meanOverClips(g: SeededGraph, input: string, items: string): string {
  const ns = g.op('Slice', [g.op('Shape', [input]), g.constI64('ns_start', [0]), g.constI64('ns_end', [2])]);
  const dims = g.op('Concat', [ns, g.constI64('embedding_dim', [EMBEDDING_DIM])], { axis: 0 });
  return g.op('ReduceMean', [g.op('Reshape', [items, dims])], { axes: [1], keepdims: 0 }, 'embedding');
}

/** Builds one encoder graph; with `externalData` the weights go to that side file (as real large packs do). */
export function buildEncoder(modality: EncoderModality, externalData?: string): Map<string, Uint8Array> {
  const def = ENCODERS[modality];
  const g = new SeededGraph(`${TEST_PACK_ID}/${modality}`);
  const items = trunk(g, def.features(g, modality), modality);
  if (def.input.shape.length >= 5) meanOverClips(g, modality, items);
  else g.op('Identity', [items], {}, 'embedding');
  const { model, external } = g.encode(
    {
      graphName: `${modality}_encoder`,
      doc: `Bindery test pack ${modality} encoder: random weights, results are not meaningful.`,
      producer: 'bindery-test-pack-generator',
      inputs: [{ name: modality, elemType: def.input.dtype, shape: def.input.shape }],
      outputs: [{ name: 'embedding', elemType: 'float32', shape: ['N', EMBEDDING_DIM] }],
      metadata: { 'bindery.testPack': 'true', 'bindery.modality': modality },
    },
    externalData,
  );
  const files = new Map<string, Uint8Array>([[`${modality}.onnx`, model]]);
  if (externalData && external) files.set(externalData, external);
  return files;
}

function fileEntry(file: string, bytes: Uint8Array): { file: string; sha256: string; bytes: number } {
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

function manifestFor(files: Map<string, Uint8Array>): PackManifest {
  const entry = (name: string) => fileEntry(name, files.get(name)!);
  const encoders = Object.fromEntries(
    (Object.keys(ENCODERS) as EncoderModality[]).map((m) => [
      m,
      {
        onnx: entry(`${m}.onnx`),
        input: { name: m, ...ENCODERS[m].input },
        output: { name: 'embedding', dtype: 'float32', shape: ['N', EMBEDDING_DIM] },
        logitScale: LOGIT_SCALES[m],
      },
    ]),
  );
  // Parsing fills in every preprocessing default, so pack.json states them all explicitly.
  return PackManifestSchema.parse({
    format: 1,
    id: TEST_PACK_ID,
    name: 'Test pack (random weights — results are not meaningful)',
    version: '1.0.0',
    description:
      'Deterministic plumbing fixture generated by models/test-pack-generator. Inputs and outputs match ' +
      'ImageBind for all six modalities, but the weights are random: similarities carry no meaning.',
    licence: { name: 'MIT', url: 'https://opensource.org/license/mit' },
    testPack: true,
    matchSignal: TEST_PACK_SIGNAL,
    embeddingDim: EMBEDDING_DIM,
    tokenizer: entry(VOCAB_FILE),
    encoders,
  });
}

/** Every file of the pack, in memory: `pack.json`, the six graphs and the tokenizer merges. */
export function buildTestPack(vocab: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const m of Object.keys(ENCODERS) as EncoderModality[])
    for (const [k, v] of buildEncoder(m)) files.set(k, v);
  files.set(VOCAB_FILE, vocab);
  const json = `${JSON.stringify(manifestFor(files), null, 2)}\n`;
  return new Map([['pack.json', new TextEncoder().encode(json)], ...files]);
}

export const DEFAULT_OUT_DIR = path.join(packageRoot(), 'models', 'test-pack');

/** The merges file ships beside the checkout in ../shared/vocab (or $BINDERY_SHARED/vocab). */
export function defaultVocabPath(): string {
  const shared = process.env.BINDERY_SHARED ?? path.resolve(packageRoot(), '..', 'shared');
  return path.join(shared, 'vocab', VOCAB_FILE);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** Names of the files in `dir` that differ from (or are missing compared with) `files`. */
export async function diffAgainst(dir: string, files: Map<string, Uint8Array>): Promise<string[]> {
  const differing: string[] = [];
  for (const [name, bytes] of files) {
    const onDisk = await readFile(path.join(dir, name)).catch(() => undefined);
    if (!onDisk || !sameBytes(onDisk, bytes)) differing.push(name);
  }
  return differing;
}

/** Builds the pack twice (a determinism self-check), writes it, and checks what landed on disk. */
export async function writeTestPack(
  outDir: string,
  vocabPath = defaultVocabPath(),
): Promise<{ files: string[]; totalBytes: number }> {
  const vocab = await readFile(vocabPath);
  const files = buildTestPack(vocab);
  const again = buildTestPack(vocab);
  for (const [name, bytes] of files) {
    if (!sameBytes(bytes, again.get(name)!))
      throw new Error(`generator is not deterministic: ${name} differs`);
  }
  await mkdir(outDir, { recursive: true });
  for (const [name, bytes] of files) await writeFile(path.join(outDir, name), bytes);
  const differing = await diffAgainst(outDir, again);
  if (differing.length) throw new Error(`written files differ from a regeneration: ${differing.join(', ')}`);
  const totalBytes = [...files.values()].reduce((n, b) => n + b.length, 0);
  return { files: [...files.keys()], totalBytes };
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const outDir = path.resolve(argv.find((a) => !a.startsWith('--')) ?? DEFAULT_OUT_DIR);
  if (check) {
    const differing = await diffAgainst(outDir, buildTestPack(await readFile(defaultVocabPath())));
    if (differing.length) console.error(`${outDir} is stale: ${differing.join(', ')} differ; regenerate it`);
    else console.log(`${outDir} matches the generator`);
    return differing.length ? 1 : 0;
  }
  const { files, totalBytes } = await writeTestPack(outDir);
  console.log(
    `wrote ${files.length} files (${totalBytes} bytes) to ${outDir}; regeneration is byte-identical`,
  );
  return 0;
}

runIfMain(import.meta.url, main);
