/**
 * Operator check for the WebGPU provider (bench/gpu/README.md): each operator form the converter
 * emits, alone on a small random input of the shape ImageBind uses, run on the CPU and on WebGPU;
 * then every graph of a converted pack (the small golden one) on both. Prints max |Δ| per case, so
 * a provider bug shows up as the operator that causes it.
 *
 *   node webgpu-ops.cjs <pack dir> <out dir>
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { mulberry32 } from '../../app/random.js';
import { GraphBuilder, type AttrValue } from '../../main/core/encoders/onnx-builder.js';
import { maxAbsDiff } from '../../models/converter-check/compare.js';

interface OpCase {
  name: string;
  op: string;
  inputs: { dims: number[]; init?: boolean }[];
  i64?: number[][];
  attrs?: Record<string, AttrValue>;
}

const D = 64;
const CASES: OpCase[] = [
  {
    name: 'Conv 6ch k14 s14',
    op: 'Conv',
    inputs: [{ dims: [1, 6, 224, 224] }, { dims: [D, 6, 14, 14], init: true }],
    attrs: { kernel_shape: [14, 14], strides: [14, 14] },
  },
  {
    name: 'Conv 1ch k16 s10',
    op: 'Conv',
    inputs: [{ dims: [1, 1, 128, 204] }, { dims: [D, 1, 16, 16], init: true }],
    attrs: { kernel_shape: [16, 16], strides: [10, 10] },
  },
  { name: 'Pad front of axis 1', op: 'Pad', inputs: [{ dims: [2, 256, D] }], i64: [[0, 1, 0, 0, 0, 0]] },
  {
    name: 'LayerNormalization 3D',
    op: 'LayerNormalization',
    inputs: [{ dims: [2, 257, D] }, { dims: [D], init: true }, { dims: [D], init: true }],
    attrs: { axis: -1, epsilon: { float: 1e-6 } },
  },
  { name: 'MatMul 3D x 2D', op: 'MatMul', inputs: [{ dims: [2, 257, D] }, { dims: [D, 3 * D], init: true }] },
  { name: 'Slice axis 1 [0:1]', op: 'Slice', inputs: [{ dims: [2, 257, D] }], i64: [[0], [1], [1]] },
  {
    name: 'Transpose 0213',
    op: 'Transpose',
    inputs: [{ dims: [2, 257, 16, 4] }],
    attrs: { perm: [0, 2, 1, 3] },
  },
  { name: 'Softmax last axis', op: 'Softmax', inputs: [{ dims: [2, 16, 257, 257] }], attrs: { axis: -1 } },
  { name: 'Erf', op: 'Erf', inputs: [{ dims: [2, 257, 4 * D] }] },
  {
    name: 'ReduceL2 keepdims',
    op: 'ReduceL2',
    inputs: [{ dims: [4, 1024] }],
    attrs: { axes: [-1], keepdims: 1 },
  },
  {
    name: 'ReduceMean axis 1',
    op: 'ReduceMean',
    inputs: [{ dims: [2, 3, 1024] }],
    attrs: { axes: [1], keepdims: 0 },
  },
];

function random(count: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: count }, () => next() * 2 - 1);
}

function model(c: OpCase): {
  bytes: Uint8Array;
  feeds: Record<string, Float32Array>;
  dims: Record<string, number[]>;
} {
  const g = new GraphBuilder();
  const names: string[] = [];
  const feeds: Record<string, Float32Array> = {};
  const dims: Record<string, number[]> = {};
  c.inputs.forEach((inp, i) => {
    const data = random(
      inp.dims.reduce((a, b) => a * b, 1),
      7 + i,
    );
    if (inp.init) names.push(g.constF32(`w${i}`, inp.dims, data));
    else {
      names.push(`x${i}`);
      feeds[`x${i}`] = data;
      dims[`x${i}`] = inp.dims;
    }
  });
  (c.i64 ?? []).forEach((v, i) => names.push(g.constI64(`k${i}`, v)));
  g.op(c.op, names, c.attrs ?? {}, 'y');
  const inputs = Object.keys(feeds).map((n) => ({ name: n, elemType: 'float32' as const, shape: dims[n] }));
  const { model: bytes } = g.encode({
    graphName: c.op,
    doc: '',
    producer: 'webgpu-ops',
    inputs,
    outputs: [{ name: 'y', elemType: 'float32', shape: ['?'] }],
    metadata: {},
  });
  return { bytes, feeds, dims };
}

async function runOn(
  provider: string,
  bytes: Uint8Array | string,
  feeds: Record<string, ort.Tensor>,
): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes as Uint8Array, { executionProviders: [provider] });
  try {
    const out = await s.run(feeds);
    return Float32Array.from(out[s.outputNames[0]].data as Float32Array);
  } finally {
    await s.release();
  }
}

async function packCases(packDir: string): Promise<Record<string, number | string>> {
  const manifest = JSON.parse(await readFile(path.join(packDir, 'pack.json'), 'utf8'));
  const out: Record<string, number | string> = {};
  for (const [m, spec] of Object.entries(manifest.encoders) as [
    string,
    { onnx: { file: string }; input: { dtype: string; shape: (number | string)[] } },
  ][]) {
    const dims = spec.input.shape.map((d) => (typeof d === 'number' ? d : 1));
    const count = dims.reduce((a, b) => a * b, 1);
    const feed =
      spec.input.dtype === 'int64'
        ? new ort.Tensor(
            'int64',
            BigInt64Array.from({ length: count }, (_, i) =>
              BigInt(i === 0 ? 49406 : i === 5 ? 49407 : i < 5 ? 300 + i : 0),
            ),
            dims,
          )
        : new ort.Tensor('float32', random(count, 11), dims);
    const file = path.join(packDir, spec.onnx.file);
    try {
      const [cpu, gpu] = [
        await runOn('cpu', file, { [m]: feed }),
        await runOn('webgpu', file, { [m]: feed }),
      ];
      out[m] = maxAbsDiff(cpu, gpu);
    } catch (e) {
      out[m] = e instanceof Error ? e.message.split('\n')[0] : String(e);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const [packDir, outDir] = process.argv.slice(2);
  const report: Record<string, unknown> = { ops: {} };
  for (const c of CASES) {
    const { bytes, feeds, dims } = model(c);
    const tensors = Object.fromEntries(
      Object.entries(feeds).map(([n, d]) => [n, new ort.Tensor('float32', d, dims[n])]),
    );
    try {
      (report.ops as Record<string, number>)[c.name] = maxAbsDiff(
        await runOn('cpu', bytes, tensors),
        await runOn('webgpu', bytes, tensors),
      );
    } catch (e) {
      (report.ops as Record<string, string>)[c.name] =
        e instanceof Error ? e.message.split('\n')[0] : String(e);
    }
  }
  for (const dir of packDir.split(',')) report[path.basename(dir)] = await packCases(dir);
  console.log(JSON.stringify(report, null, 1));
  await writeFile(path.join(outDir, 'webgpu-ops.json'), JSON.stringify(report, null, 1));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
