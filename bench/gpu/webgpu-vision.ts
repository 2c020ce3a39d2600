/**
 * The onnxruntime side of the GPU vision benchmark (bench/gpu/README.md), run on the GPU machine
 * after torch_vision.py: converts the random-init imagebind_huge vision tower with Bindery's
 * converter in several operator forms (fused attention, 8-bit block-quantised Linears, fp32),
 * then for each graph and provider setting on the WebGPU provider: session time, nodes per
 * provider (from onnxruntime's profile), images/s at batch 1, 16, 32 and 64, and the cosine
 * against PyTorch's fp32 embedding of the same input.
 *
 *   node webgpu-vision.cjs <work dir> <out dir>     (bundled by bench/gpu/make-bundle.sh)
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { openCheckpoint } from '../../main/core/packs/convert/checkpoint.js';
import type { ImageBindDims } from '../../main/core/packs/convert/architecture.js';
import { EXTERNAL_DATA_THRESHOLD } from '../../main/core/packs/convert/convert.js';
import { buildTowerGraph, type GraphForm, type Precision } from '../../main/core/packs/convert/graphs.js';
import { cosine, formulaInput } from '../../models/converter-check/compare.js';

/** Batches and variants may be narrowed for a focused run: VISION_BATCHES=8,32 VISION_ONLY=<name>,… */
const BATCHES = (process.env.VISION_BATCHES ?? '1,16,32,64').split(',').map(Number);
/** Session config entries for every session (e.g. the WebGPU provider's buffer limits), as JSON. */
const EXTRA = JSON.parse(process.env.VISION_EXTRA ?? '{}') as Record<string, string>;
/** WebGPU provider options for every session, as JSON. */
const WEBGPU = JSON.parse(process.env.VISION_WEBGPU ?? '{}') as Record<string, string>;
const HUGE_VISION: ImageBindDims['towers']['vision'] = { width: 1280, blocks: 32, heads: 16 };

/** make_golden.py's formula input as a [1,1,3,2,224,224] clip: the image repeated as 2 frames (PadIm2Video). */
function formula(salt: number): Float32Array {
  const plane = 224 * 224;
  const image = formulaInput(3 * plane, salt);
  const out = new Float32Array(3 * 2 * plane);
  for (let c = 0; c < 3; c++) {
    const channel = image.subarray(c * plane, (c + 1) * plane);
    out.set(channel, c * 2 * plane);
    out.set(channel, (c * 2 + 1) * plane);
  }
  return out;
}

interface Variant {
  precision: Precision;
  form: GraphForm;
  /** WebGPU provider options beyond the name (validationMode …). */
  webgpu?: Record<string, string>;
}
const FUSED: GraphForm = { attention: 'fused', residual: 'float32', linears: 'dense' };
const VARIANTS: Variant[] = [
  { precision: 'fp16', form: FUSED },
  { precision: 'fp16', form: FUSED, webgpu: { validationMode: 'disabled' } },
  { precision: 'fp16', form: { ...FUSED, linears: 'blocks8' } },
  { precision: 'fp32', form: { ...FUSED, linears: 'blocks8' } },
  { precision: 'fp32', form: { attention: 'onnx', residual: 'float32', linears: 'dense' } },
];

const graphName = (v: Variant) => `${v.precision}-${v.form.attention}-${v.form.residual}-${v.form.linears}`;
const name = (v: Variant) => graphName(v) + (v.webgpu ? `-${Object.values(v.webgpu).join('-')}` : '');

async function convert(work: string, v: Variant): Promise<string> {
  const ckpt = await openCheckpoint(path.join(work, 'vision.pth'));
  try {
    const dims = { out: 1024, towers: { vision: HUGE_VISION } } as unknown as ImageBindDims;
    const graph = await buildTowerGraph(ckpt, dims, 'vision', v.precision, v.form);
    const file = `vision-${graphName(v)}.onnx`;
    const externalData = graph.builder.weightBytes() > EXTERNAL_DATA_THRESHOLD ? `${file}.data` : undefined;
    await graph.builder.write(work, file, graph.header, { externalData });
    return path.join(work, file);
  } finally {
    await ckpt.close();
  }
}

/** Nodes per execution provider, from the profile of one run. */
async function placements(dir: string, prefix: string): Promise<Record<string, number>> {
  const file = (await readdir(dir)).find((f) => f.startsWith(prefix) && f.endsWith('.json'));
  if (!file) return {};
  const events = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as {
    cat: string;
    name: string;
    args?: { provider?: string };
  }[];
  const nodes = new Map<string, string>();
  for (const e of events)
    if (e.cat === 'Node' && e.args?.provider) nodes.set(e.name.replace(/_kernel_time$/, ''), e.args.provider);
  const counts: Record<string, number> = {};
  for (const p of nodes.values()) counts[p] = (counts[p] ?? 0) + 1;
  return counts;
}

async function bench(model: string, work: string, ref: Float32Array, v: Variant) {
  const prefix = path.join(work, `profile-${name(v)}`);
  let t = performance.now();
  const session = await ort.InferenceSession.create(model, {
    executionProviders: [
      { name: 'webgpu', ...WEBGPU, ...v.webgpu } as ort.InferenceSession.ExecutionProviderConfig,
    ],
    extra: EXTRA,
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  const sessionS = (performance.now() - t) / 1000;
  const one = new ort.Tensor('float32', formula(1), [1, 1, 3, 2, 224, 224]);
  const first = (await session.run({ vision: one })).embedding.data as Float32Array;
  session.endProfiling();
  const result: Record<string, unknown> = {
    sessionS,
    cosineVsTorchFp32: cosine(first, ref),
    nodesByProvider: await placements(work, path.basename(prefix)),
    imagesPerSec: {} as Record<number, number>,
  };
  for (const b of BATCHES) {
    const x = new ort.Tensor('float32', new Float32Array(b * 6 * 224 * 224).fill(0.1), [
      b,
      1,
      3,
      2,
      224,
      224,
    ]);
    await session.run({ vision: x });
    const runs = b === 1 ? 20 : b <= 32 ? 5 : 3;
    // (3 runs of 64 take about as long as 5 of 32: a few seconds per batch size.)
    t = performance.now();
    for (let i = 0; i < runs; i++) await session.run({ vision: x });
    (result.imagesPerSec as Record<number, number>)[b] = (b * runs) / ((performance.now() - t) / 1000);
  }
  await session.release();
  return result;
}

async function main(): Promise<void> {
  const [work, out] = process.argv.slice(2);
  const refBuf = await readFile(path.join(work, 'ref.f32'));
  const ref = new Float32Array(refBuf.buffer, refBuf.byteOffset, refBuf.byteLength / 4);
  const report: Record<string, unknown> = { ortVersion: ort.env.versions?.common };
  const converted = new Map<string, { model: string; convertS: number }>();
  const only = process.env.VISION_ONLY?.split(',');
  for (const v of VARIANTS.filter((x) => !only || only.includes(name(x)))) {
    const n = name(v);
    if (!converted.has(graphName(v))) {
      const t = performance.now();
      const model = await convert(work, v);
      converted.set(graphName(v), { model, convertS: (performance.now() - t) / 1000 });
    }
    const { model, convertS } = converted.get(graphName(v))!;
    try {
      report[n] = { convertS, ...(await bench(model, work, ref, v)) };
    } catch (e) {
      report[n] = { convertS, error: e instanceof Error ? e.message : String(e) };
    }
    console.log(JSON.stringify({ [n]: report[n] }));
    await writeFile(path.join(out, 'webgpu.json'), JSON.stringify(report, null, 1));
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
