/**
 * Bindery's own encoder runtime on a GPU machine (bench/gpu/README.md), with nothing forced: the
 * platform's default provider order, the cached provider probe (its verdict and time, first and
 * cached), the provider each modality's session lands on, and each embedding against the same
 * pack on the CPU (max |Δ|). It checks that a user with a GPU gets WebGPU without asking.
 *
 *   node webgpu-runtime.mjs <pack dir> <out dir>     (bundled by bench/gpu/make-bundle.sh)
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EncoderModality } from '../../app/modality.js';
import { mulberry32 } from '../../app/random.js';
import { maxAbsDiff } from '../../models/converter-check/compare.js';
import { loadPack } from '../../main/core/packs/pack.js';
import { probeProvider } from '../../main/core/encoders/probe.js';
import { defaultProviderOrder } from '../../main/core/encoders/providers.js';
import { EncoderRuntime, ITEM_DIMS } from '../../main/core/encoders/runtime.js';
import type { Tensor } from '../../main/core/imagebind/tensor.js';

function input(m: EncoderModality, batch: number): Tensor {
  const dims = [batch, ...ITEM_DIMS[m]];
  const count = dims.reduce((a, b) => a * b, 1);
  if (m === 'text') {
    // <start> five word tokens <end>, then padding.
    const ids = BigInt64Array.from({ length: count }, (_, i) => {
      const t = i % 77;
      return BigInt(t === 0 ? 49406 : t === 6 ? 49407 : t < 6 ? 300 + t + i : 0);
    });
    return { dtype: 'int64', dims, data: ids };
  }
  const next = mulberry32(3);
  return { dtype: 'float32', dims, data: Float32Array.from({ length: count }, () => next() * 2 - 1) };
}

async function main(): Promise<void> {
  const [packDir, out] = process.argv.slice(2);
  const cache = path.join(await mkdtemp(path.join(os.tmpdir(), 'probe-')), 'provider-probe.json');
  const order = defaultProviderOrder();
  const probe = await probeProvider('webgpu', cache);
  const cached = await probeProvider('webgpu', cache);
  const pack = await loadPack(packDir);
  const gpu = new EncoderRuntime(pack);
  const cpu = new EncoderRuntime(pack, { providers: ['cpu'] });
  const modalities: Record<string, unknown> = {};
  for (const m of pack.encoders) {
    const x = input(m, 4);
    try {
      const [a, b] = [await gpu.embed(m, x), await cpu.embed(m, x)];
      const diff = Math.max(...a.map((v, i) => maxAbsDiff(v, b[i])));
      modalities[m] = { ...gpu.providerReport()[m], maxAbsDiffVsCpu: diff };
    } catch (e) {
      modalities[m] = { error: e instanceof Error ? e.message : String(e) };
    }
  }
  await Promise.all([gpu.close(), cpu.close()]);
  const report = { platform: `${process.platform}-${process.arch}`, order, probe, cached, modalities };
  console.log(JSON.stringify(report, null, 1));
  await writeFile(path.join(out, 'webgpu-runtime.json'), JSON.stringify(report, null, 1));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
