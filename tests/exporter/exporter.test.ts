import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncoderModality } from '../../app/modality.js';
import { loadPack, type LoadedPack } from '../../main/core/packs/pack.js';
import { EncoderRuntime } from '../../main/core/encoders/runtime.js';
import type { Tensor } from '../../main/core/imagebind/tensor.js';
import { REPO_ROOT } from '../support/paths.js';

/**
 * The ImageBind exporter (models/imagebind/) end to end, without the real checkpoint: its Python
 * tests export a tiny random model with ImageBind's interface through the same code path as
 * export.py and leave fp32/fp16 packs plus PyTorch reference inputs/outputs behind; here Bindery's
 * own pack loader and EncoderRuntime run them and must reproduce PyTorch.
 */

const PYTHON = '/usr/bin/python3';
const FP32_TOL = 1e-4;
const FP16_TOL = 2e-2;

interface Case {
  name: string;
  modality: EncoderModality;
  input: { file: string; dtype: 'float32' | 'int64'; dims: number[] };
  output: { file: string; dims: [number, number] };
}

/** Why the exporter cannot be tested here, or undefined when it can. */
function pythonMissing(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not runnable (${probe.error.message})`;
  if (probe.status !== 0)
    return `${PYTHON} cannot import torch and onnx: ${probe.stderr.trim().split('\n').at(-1)}`;
  return undefined;
}

const skipReason = pythonMissing();
if (skipReason) console.warn(`exporter tests skipped: ${skipReason}`);

let outDir: string;
let cases: Case[];
const refDir = () => path.join(outDir, 'reference');

async function readTensor(c: Case): Promise<Tensor> {
  const buf = await readFile(path.join(refDir(), c.input.file));
  const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return c.input.dtype === 'int64'
    ? { dtype: 'int64', dims: c.input.dims, data: new BigInt64Array(bytes) }
    : { dtype: 'float32', dims: c.input.dims, data: new Float32Array(bytes) };
}

/** PyTorch's [N, 1024] output, split into rows. */
async function readRows(c: Case): Promise<Float32Array[]> {
  const buf = await readFile(path.join(refDir(), c.output.file));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const [n, d] = c.output.dims;
  return Array.from({ length: n }, (_, i) => all.slice(i * d, (i + 1) * d));
}

function unit(v: Float32Array): Float32Array {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

const maxAbsDiff = (a: Float32Array[], b: Float32Array[]) =>
  Math.max(...a.map((row, i) => row.reduce((d, x, j) => Math.max(d, Math.abs(x - b[i][j])), 0)));

describe.skipIf(skipReason !== undefined)('ImageBind exporter (tiny model, same code path)', () => {
  beforeAll(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'bindery-exporter-'));
    const started = performance.now();
    const run = spawnSync(
      PYTHON,
      ['-m', 'unittest', 'discover', '-s', 'models/imagebind', '-p', 'test_*.py'],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, BINDERY_EXPORT_OUT: outDir, PYTHONDONTWRITEBYTECODE: '1' },
        encoding: 'utf8',
        timeout: 600_000,
      },
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (run.status !== 0)
      throw new Error(`python exporter tests failed (${seconds} s):\n${run.stderr ?? run.error}`);
    console.log(`python exporter tests: ${run.stderr.trim().split('\n').at(-1)} in ${seconds} s`);
    cases = JSON.parse(await readFile(path.join(refDir(), 'cases.json'), 'utf8')).cases;
  }, 600_000);

  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  describe.each([
    ['fp32', FP32_TOL],
    ['fp16', FP16_TOL],
  ] as const)('%s pack', (precision, tolerance) => {
    let pack: LoadedPack;
    let runtime: EncoderRuntime;
    beforeAll(async () => {
      pack = await loadPack(path.join(outDir, precision), { verifyHashes: true });
      runtime = new EncoderRuntime(pack, { providers: ['cpu'] });
    });
    afterAll(async () => runtime?.close());

    it('loads as a pack with all six encoders', () => {
      expect(pack.encoders).toEqual(['vision', 'text', 'audio', 'depth', 'thermal', 'imu']);
      expect(pack.manifest.tokenizer?.file).toBe('bpe_simple_vocab_16e6.txt.gz');
      const external = pack.manifest.encoders.vision!.externalData.map((f) => f.file);
      expect(external).toEqual(precision === 'fp32' ? ['vision.onnx.data'] : []);
    });

    it('EncoderRuntime.embed reproduces PyTorch for every case', async () => {
      const measured: Record<string, string> = {};
      for (const c of cases) {
        const got = await runtime.embed(c.modality, await readTensor(c));
        const want = (await readRows(c)).map(unit);
        expect(got).toHaveLength(want.length);
        const diff = maxAbsDiff(got, want);
        measured[c.name] = diff.toExponential(2);
        expect(diff, `${precision} ${c.name}: max |Δ| after normalisation`).toBeLessThanOrEqual(tolerance);
      }
      console.log(`${precision} ONNX (Bindery runtime) vs PyTorch, max |Δ| of unit vectors:`, measured);
    });
  });

  it('fp32 graphs keep ImageBind’s logit scale and clip mean (raw outputs, no renormalising)', async () => {
    const pack = await loadPack(path.join(outDir, 'fp32'));
    const measured: Record<string, string> = {};
    for (const c of cases.filter((k) => k.name === k.modality)) {
      const session = await ort.InferenceSession.create(pack.filePath(`${c.modality}.onnx`));
      try {
        const x = await readTensor(c);
        const feed = new ort.Tensor(x.dtype, x.data, x.dims);
        const out = (await session.run({ [c.modality]: feed })).embedding;
        const [n, d] = c.output.dims;
        const got = Array.from({ length: n }, (_, i) => (out.data as Float32Array).slice(i * d, (i + 1) * d));
        // Outputs are logit-scaled (up to ×20), so the bound scales with the pack's logitScale.
        const diff = maxAbsDiff(got, await readRows(c));
        measured[c.name] = diff.toExponential(2);
        const scale = pack.manifest.encoders[c.modality]!.logitScale;
        expect(diff, c.name).toBeLessThanOrEqual(FP32_TOL * scale);
      } finally {
        await session.release();
      }
    }
    console.log('fp32 raw ONNX vs PyTorch, max |Δ|:', measured);
  });
});
