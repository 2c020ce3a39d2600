/**
 * The q8 vision tower through Bindery's own runtime on a GPU machine (bench/gpu/README.md): after
 * torch_vision.py, converts the full-size vision tower to q8 as a one-encoder pack, loads it with
 * EncoderRuntime and nothing forced (the default providers and run sizes), and times embed() of
 * 1, 16 and 64 images as the app calls it, with the cosine against PyTorch's fp32 embedding.
 *
 *   node webgpu-pack.mjs <work dir> <out dir>     (bundled by bench/gpu/make-bundle.sh)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openCheckpoint } from '../../main/core/packs/convert/checkpoint.js';
import type { ImageBindDims } from '../../main/core/packs/convert/architecture.js';
import { EXTERNAL_DATA_THRESHOLD, encoderEntry } from '../../main/core/packs/convert/convert.js';
import { buildTowerGraph } from '../../main/core/packs/convert/graphs.js';
import { IMAGEBIND_PACK_LICENCE } from '../../main/core/packs/convert/pack-defaults.js';
import { loadPack } from '../../main/core/packs/pack.js';
import { EncoderRuntime, itemsPerRun } from '../../main/core/encoders/runtime.js';
import { cosine, formulaInput } from '../../models/converter-check/compare.js';

const HUGE_VISION: ImageBindDims['towers']['vision'] = { width: 1280, blocks: 32, heads: 16 };

async function writePack(work: string): Promise<string> {
  const dir = path.join(work, 'pack-q8-vision');
  await mkdir(dir, { recursive: true });
  const ckpt = await openCheckpoint(path.join(work, 'vision.pth'));
  try {
    const dims = { out: 1024, towers: { vision: HUGE_VISION } } as unknown as ImageBindDims;
    const graph = await buildTowerGraph(ckpt, dims, 'vision', 'q8');
    const big = graph.builder.weightBytes() > EXTERNAL_DATA_THRESHOLD;
    const files = await graph.builder.write(dir, 'vision.onnx', graph.header, {
      externalData: big ? 'vision.onnx.data' : undefined,
    });
    const manifest = {
      format: 1,
      id: 'imagebind-huge-q8-vision',
      name: 'ImageBind huge vision (q8, random init)',
      version: '0',
      licence: IMAGEBIND_PACK_LICENCE,
      embeddingDim: 1024,
      encoders: { vision: encoderEntry(graph, files, 'vision') },
    };
    await writeFile(path.join(dir, 'pack.json'), JSON.stringify(manifest, null, 1));
    return dir;
  } finally {
    await ckpt.close();
  }
}

async function main(): Promise<void> {
  const [work, out] = process.argv.slice(2);
  const refBuf = await readFile(path.join(work, 'ref.f32'));
  const ref = new Float32Array(refBuf.buffer, refBuf.byteOffset, refBuf.byteLength / 4);
  let t = performance.now();
  const pack = await loadPack(await writePack(work));
  const report: Record<string, unknown> = { convertS: (performance.now() - t) / 1000 };
  const runtime = new EncoderRuntime(pack);
  try {
    const image = formulaInput(3 * 224 * 224, 1);
    const [first] = await runtime.embed('vision', { dtype: 'float32', dims: [1, 3, 224, 224], data: image });
    report.provider = runtime.providerReport().vision;
    report.cosineVsTorchFp32 = cosine(first, ref);
    const perSec: Record<number, number> = {};
    for (const n of [1, 16, 64]) {
      const x = {
        dtype: 'float32' as const,
        dims: [n, 3, 224, 224],
        data: new Float32Array(n * 3 * 224 * 224).fill(0.1),
      };
      await runtime.embed('vision', x);
      const runs = n === 1 ? 20 : 3;
      t = performance.now();
      for (let i = 0; i < runs; i++) await runtime.embed('vision', x);
      perSec[n] = (n * runs) / ((performance.now() - t) / 1000);
    }
    report.imagesPerSec = perSec;
    report.itemsPerRun = itemsPerRun({
      provider: 'webgpu',
      clips: 1,
      activationBytes: pack.manifest.encoders.vision!.activationBytes,
    });
  } finally {
    await runtime.close();
  }
  console.log(JSON.stringify(report));
  await writeFile(path.join(out, 'webgpu-pack.json'), JSON.stringify(report, null, 1));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
