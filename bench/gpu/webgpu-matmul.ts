/**
 * The WebGPU provider's matrix-product speed on ViT-H's MLP shapes (bench/gpu/README.md): a chain
 * of 8 MLP pairs, [M,1280]·[1280,5120] then [M,5120]·[5120,1280] with M = 64 × 257 tokens (a
 * batch of 64 images), in each operator form the converter can emit — MatMul on fp16 or fp32
 * weights, and onnxruntime's MatMulNBits on 8- or 4-bit block-quantised weights at accuracy
 * level 4 (int8 dot products, DP4A) or 0 (dequantise, float products). Prints TFLOP/s per form:
 * the ceiling each graph form can reach on this GPU.
 *
 *   node webgpu-matmul.cjs <out dir>     (bundled by bench/gpu/make-bundle.sh)
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { mulberry32 } from '../../app/random.js';
import { float32ToHalf } from '../../main/core/encoders/half.js';
import { GraphBuilder, bytesOf, elemTypeCode, type ElemType } from '../../main/core/encoders/onnx-builder.js';
import { NBITS_BLOCK, quantiseBlocks } from '../../main/core/packs/convert/graphs.js';

/** 64 images of 257 tokens; a dry run elsewhere may set fewer rows and another provider. */
const M = Number(process.env.MATMUL_ROWS ?? 64 * 257);
const PROVIDER = process.env.MATMUL_EP ?? 'webgpu';
const D = 1280;
const H = 5120;
const PAIRS = 8;
const FLOPS = PAIRS * 2 * (2 * M * D * H);

interface Form {
  name: string;
  type: ElemType;
  /** Absent: MatMul on float weights. */
  nbits?: { bits: 4 | 8; accuracy: number };
}
const FORMS: Form[] = [
  { name: 'fp16 MatMul', type: 'float16' },
  { name: 'fp16 MatMulNBits 8-bit, accuracy 4 (DP4A)', type: 'float16', nbits: { bits: 8, accuracy: 4 } },
  { name: 'fp16 MatMulNBits 8-bit, accuracy 0', type: 'float16', nbits: { bits: 8, accuracy: 0 } },
  { name: 'fp16 MatMulNBits 4-bit, accuracy 4 (DP4A)', type: 'float16', nbits: { bits: 4, accuracy: 4 } },
  { name: 'fp32 MatMul', type: 'float32' },
  { name: 'fp32 MatMulNBits 8-bit, accuracy 4 (DP4A)', type: 'float32', nbits: { bits: 8, accuracy: 4 } },
];

/** Weights of variance 1/K, so the activations keep their size through the chain (no fp16 overflow). */
function weights(rows: number, cols: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const a = Math.sqrt(3 / cols);
  return Float32Array.from({ length: rows * cols }, () => (next() * 2 - 1) * a);
}

const encode = (v: Float32Array, t: ElemType) => (t === 'float16' ? bytesOf(float32ToHalf(v)) : bytesOf(v));

/** 4-bit: the 8-bit codes halved around the zero point 8, two to a byte, low nibble first. */
function pack4(q8: Uint8Array): Uint8Array {
  const out = new Uint8Array(q8.length / 2);
  for (let i = 0; i < out.length; i++) {
    const lo = Math.max(0, Math.min(15, Math.round((q8[2 * i] - 128) / 16) + 8));
    const hi = Math.max(0, Math.min(15, Math.round((q8[2 * i + 1] - 128) / 16) + 8));
    out[i] = lo | (hi << 4);
  }
  return out;
}

/** The operator's weight inputs, defined once per graph and shared by every pair (a small model). */
function weightInputs(g: GraphBuilder, f: Form, id: string, inp: number, out: number): string[] {
  const w = weights(out, inp, inp * 31 + out); // nn.Linear layout [out, in]
  if (!f.nbits) {
    const t = new Float32Array(inp * out);
    for (let r = 0; r < out; r++) for (let c = 0; c < inp; c++) t[c * out + r] = w[r * inp + c];
    return [g.initializer(id, f.type, [inp, out], encode(t, f.type))];
  }
  const { q, scale } = quantiseBlocks(w, inp);
  const blocks = inp / NBITS_BLOCK;
  const bytes = f.nbits.bits === 8 ? q : pack4(q);
  const qName = g.initializer(`${id}.q`, 'uint8', [out, blocks, (NBITS_BLOCK * f.nbits.bits) / 8], bytes);
  const s = f.nbits.bits === 8 ? scale : scale.map((v) => v * 16);
  return [qName, g.initializer(`${id}.s`, f.type, [out * blocks], encode(s, f.type))];
}

function linear(g: GraphBuilder, f: Form, x: string, w: string[], inp: number, out: number): string {
  if (!f.nbits) return g.op('MatMul', [x, ...w]);
  return g.opIn('com.microsoft', 1, 'MatMulNBits', [x, ...w], {
    K: inp,
    N: out,
    bits: f.nbits.bits,
    block_size: NBITS_BLOCK,
    accuracy_level: f.nbits.accuracy,
  });
}

function chain(f: Form): Uint8Array {
  const g = new GraphBuilder();
  let x = g.op('Cast', ['x'], { to: elemTypeCode(f.type) });
  const [fc1, fc2] = [weightInputs(g, f, 'fc1', D, H), weightInputs(g, f, 'fc2', H, D)];
  for (let i = 0; i < PAIRS; i++) x = linear(g, f, linear(g, f, x, fc1, D, H), fc2, H, D);
  const y = g.op('ReduceMean', [x], { keepdims: 0 });
  g.op('Cast', [y], { to: elemTypeCode('float32') }, 'y');
  return g.encode({
    graphName: 'mlp-chain',
    doc: '',
    producer: 'webgpu-matmul',
    inputs: [{ name: 'x', elemType: 'float32', shape: [M, D] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [] }],
    metadata: {},
  }).model;
}

async function time(f: Form, x: ort.Tensor): Promise<Record<string, number | string>> {
  const s = await ort.InferenceSession.create(chain(f), { executionProviders: [PROVIDER] });
  try {
    await s.run({ x });
    const runs = 3;
    const t = performance.now();
    for (let i = 0; i < runs; i++) await s.run({ x });
    const seconds = (performance.now() - t) / 1000 / runs;
    const y = ((await s.run({ x })).y.data as Float32Array)[0];
    return { msPerChain: seconds * 1000, tflops: FLOPS / seconds / 1e12, y };
  } finally {
    await s.release();
  }
}

async function main(): Promise<void> {
  const [out] = process.argv.slice(2);
  const next = mulberry32(5);
  const x = new ort.Tensor(
    'float32',
    Float32Array.from({ length: M * D }, () => next() * 2 - 1),
    [M, D],
  );
  const report: Record<string, unknown> = { M, D, H, pairs: PAIRS };
  for (const f of FORMS) {
    try {
      report[f.name] = await time(f, x);
    } catch (e) {
      report[f.name] = { error: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
    }
    console.log(JSON.stringify({ [f.name]: report[f.name] }));
    await writeFile(path.join(out, 'webgpu-matmul.json'), JSON.stringify(report, null, 1));
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
