import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EncoderModality } from '../../app/modality.js';
import { loadPack, sha256File, type LoadedPack } from '../../main/core/packs/pack.js';
import {
  attemptOrder,
  defaultProviderOrder,
  parseProviderList,
  supportedBackends,
  unsupportedPlatform,
} from '../../main/core/encoders/providers.js';
import { probeKey, probeProvider } from '../../main/core/encoders/probe.js';
import { recommendedPrecision } from '../../main/core/packs/installable.js';
import {
  EncoderRuntime,
  ITEM_DIMS,
  itemsPerRun,
  WEBGPU_MAX_BUFFER_BYTES,
} from '../../main/core/encoders/runtime.js';
import { planInput } from '../../main/core/encoders/feeds.js';
import type { FloatTensor, IntTensor, Tensor } from '../../main/core/imagebind/tensor.js';
import { buildEncoder } from '../../models/test-pack-generator/generate.js';
import { mulberry32 } from '../../app/random.js';
import { TEST_PACK_DIR } from '../support/paths.js';

/** The interface every pack must present (ImageBind's forward, docs/architecture.md §4/§5). */
const INTERFACE: Record<EncoderModality, { dtype: string; shape: (string | number)[] }> = {
  vision: { dtype: 'float32', shape: ['N', 'S', 3, 2, 224, 224] },
  text: { dtype: 'int64', shape: ['N', 77] },
  audio: { dtype: 'float32', shape: ['N', 'S', 1, 128, 204] },
  depth: { dtype: 'float32', shape: ['N', 1, 224, 224] },
  thermal: { dtype: 'float32', shape: ['N', 1, 224, 224] },
  imu: { dtype: 'float32', shape: ['N', 6, 2000] },
};
const MODALITIES = Object.keys(INTERFACE) as EncoderModality[];

function noise(dims: number[], seed: number): FloatTensor {
  const next = mulberry32(seed);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = next() * 4 - 2;
  return { dtype: 'float32', dims, data };
}

/** Token rows: <sot>, a few random word ids, <eot>, zero padding (as the tokenizer emits). */
function tokens(batch: number, seed: number): IntTensor {
  const next = mulberry32(seed);
  const data = new BigInt64Array(batch * 77);
  for (let b = 0; b < batch; b++) {
    const words = 2 + Math.floor(next() * 8);
    data[b * 77] = 49406n;
    for (let i = 1; i <= words; i++) data[b * 77 + i] = BigInt(1 + Math.floor(next() * 49000));
    data[b * 77 + words + 1] = 49407n;
  }
  return { dtype: 'int64', dims: [batch, 77], data };
}

function input(m: EncoderModality, batch: number, seed: number): Tensor {
  return m === 'text' ? tokens(batch, seed) : noise([batch, ...ITEM_DIMS[m]], seed);
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));
const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((d, x, i) => Math.max(d, Math.abs(x - b[i])), 0);
function unit(v: Float32Array): Float32Array {
  const n = norm(v);
  return v.map((x) => x / n);
}

let pack: LoadedPack;
let runtime: EncoderRuntime;
const temps: string[] = [];

beforeAll(async () => {
  pack = await loadPack(TEST_PACK_DIR);
  runtime = new EncoderRuntime(pack, { providers: ['cpu'] });
});
afterAll(async () => {
  await runtime.close();
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

describe('test pack graphs', () => {
  it.each(MODALITIES)('%s has ImageBind’s input and output', async (m) => {
    const session = await ort.InferenceSession.create(pack.filePath(`${m}.onnx`));
    try {
      expect(session.inputNames).toEqual([m]);
      expect(session.outputNames).toEqual(['embedding']);
      expect(session.inputMetadata[0]).toMatchObject({
        isTensor: true,
        type: INTERFACE[m].dtype,
        shape: INTERFACE[m].shape,
      });
      expect(session.outputMetadata[0]).toMatchObject({
        isTensor: true,
        type: 'float32',
        shape: ['N', 1024],
      });
      const spec = pack.manifest.encoders[m]!;
      expect(spec.input).toEqual({ name: m, ...INTERFACE[m] });
      expect(spec.output).toEqual({ name: 'embedding', dtype: 'float32', shape: ['N', 1024] });
    } finally {
      await session.release();
    }
  });

  it('applies ImageBind’s logit scale and averages over S inside the graph', async () => {
    const session = await ort.InferenceSession.create(pack.filePath('audio.onnx'));
    const x = noise([2, 3, 1, 128, 204], 7);
    const out = (await session.run({ audio: new ort.Tensor('float32', x.data, x.dims) })).embedding;
    expect(out.dims).toEqual([2, 1024]);
    // A mean of three scale-20 unit vectors: shorter than 20, longer than 0.
    const first = (out.data as Float32Array).subarray(0, 1024);
    expect(norm(first)).toBeLessThan(20);
    expect(norm(first)).toBeGreaterThan(5);
    const single = await session.run({
      audio: new ort.Tensor('float32', x.data.subarray(0, 128 * 204), [1, 1, 1, 128, 204]),
    });
    expect(norm(single.embedding.data as Float32Array)).toBeCloseTo(20, 4);
    await session.release();
  });
});

describe('EncoderRuntime', () => {
  it.each(MODALITIES)('%s: unit-length, deterministic, content-dependent', async (m) => {
    const a = await runtime.embed(m, input(m, 3, 1));
    const other = new EncoderRuntime(pack, { providers: ['cpu'] });
    const b = await other.embed(m, input(m, 3, 1));
    await other.close();
    expect(a).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      expect(a[i]).toHaveLength(1024);
      expect(norm(a[i])).toBeCloseTo(1, 5);
      expect(a[i]).toEqual(b[i]);
    }
    // Different inputs give clearly different vectors.
    expect(dot(a[0], a[1])).toBeLessThan(0.9);
    expect(dot(a[1], a[2])).toBeLessThan(0.9);
  });

  it('separates structured images, not only noise', async () => {
    const img = (f: (x: number, y: number, c: number) => number) => {
      const t = noise([1, 3, 224, 224], 0);
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 224; y++)
          for (let x = 0; x < 224; x++) t.data[(c * 224 + y) * 224 + x] = f(x, y, c);
      return t;
    };
    const [h] = await runtime.embed(
      'vision',
      img((x) => x / 112 - 1),
    );
    const [v] = await runtime.embed(
      'vision',
      img((_x, y) => y / 112 - 1),
    );
    const [d] = await runtime.embed(
      'vision',
      img((x, y, c) => ((x >> 5) + (y >> 5) + c) % 2),
    );
    expect(dot(h, v)).toBeLessThan(0.9);
    expect(dot(h, d)).toBeLessThan(0.9);
    expect(dot(v, d)).toBeLessThan(0.9);
  });

  it('gives identical tokens identical vectors and depends on word order', async () => {
    const t = tokens(1, 3);
    const [a] = await runtime.embed('text', t);
    const [b] = await runtime.embed('text', { ...t, data: t.data.slice() });
    expect(a).toEqual(b);
    const swapped = t.data.slice();
    [swapped[1], swapped[2]] = [swapped[2], swapped[1]];
    const [c] = await runtime.embed('text', { ...t, data: swapped });
    expect(dot(a, c)).toBeLessThan(0.9999);
  });

  it.each(['vision', 'audio', 'text', 'imu'] as const)(
    '%s: B=20 in chunks equals B=1 per item',
    async (m) => {
      const chunked = new EncoderRuntime(pack, { providers: ['cpu'], batchSize: 8 });
      const batch = input(m, 20, 11);
      // The factory's type hides the class behind it; the spy needs the real prototype.
      const proto = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;
      const runSpy = vi.spyOn(proto, 'run');
      const together = await chunked.embed(m, batch);
      expect(runSpy).toHaveBeenCalledTimes(3); // 8 + 8 + 4
      runSpy.mockRestore();
      const per = ITEM_DIMS[m].reduce((x, y) => x * y, 1);
      for (let i = 0; i < 20; i++) {
        const one: Tensor =
          batch.dtype === 'int64'
            ? { dtype: 'int64', dims: [1, ...ITEM_DIMS[m]], data: batch.data.slice(i * per, (i + 1) * per) }
            : {
                dtype: 'float32',
                dims: [1, ...ITEM_DIMS[m]],
                data: batch.data.slice(i * per, (i + 1) * per),
              };
        const [alone] = await chunked.embed(m, one);
        expect(maxDiff(alone, together[i])).toBeLessThan(1e-5);
      }
      await chunked.close();
    },
  );

  it('feeds an image as a two-frame clip, exactly as PadIm2Video does', async () => {
    const image = noise([2, 3, 224, 224], 5);
    const clip = new Float32Array(2 * 3 * 2 * 224 * 224);
    const plane = 224 * 224;
    for (let p = 0; p < 6; p++) {
      clip.set(image.data.subarray(p * plane, (p + 1) * plane), 2 * p * plane);
      clip.set(image.data.subarray(p * plane, (p + 1) * plane), (2 * p + 1) * plane);
    }
    const fromImage = await runtime.embed('vision', image);
    const fromClip = await runtime.embed('vision', {
      dtype: 'float32',
      dims: [2, 3, 2, 224, 224],
      data: clip,
    });
    expect(fromImage).toEqual(fromClip);
  });

  it('embeds a list of parts as their concatenation, runs straddling parts', async () => {
    const small = new EncoderRuntime(pack, { providers: ['cpu'], batchSize: 3 });
    const image = noise([5, 3, 224, 224], 11);
    const whole = await small.embed('vision', image);
    const per = 3 * 224 * 224;
    const part = (a: number, b: number): FloatTensor => ({
      dtype: 'float32',
      dims: [b - a, 3, 224, 224],
      data: image.data.subarray(a * per, b * per),
    });
    // Runs of 3: [0,1,2] spans two parts, [3,4] lies in one.
    expect(await small.embed('vision', [part(0, 2), part(2, 3), part(3, 5)])).toEqual(whole);
    const tok = input('text', 4, 2) as IntTensor;
    const rows = (a: number, b: number): IntTensor => ({
      dtype: 'int64',
      dims: [b - a, 77],
      data: tok.data.subarray(a * 77, b * 77),
    });
    expect(await small.embed('text', [rows(0, 1), rows(1, 4)])).toEqual(await small.embed('text', tok));
    await expect(small.embed('vision', [part(0, 1), noise([1, 1, 224, 224], 1)])).rejects.toThrow(
      /cannot batch/,
    );
    await small.close();
  });

  it('averages the S views of a full-rank [N,S,…] call, like ImageBind’s forward', async () => {
    const small = new EncoderRuntime(pack, { providers: ['cpu'], batchSize: 4 });
    for (const [m, view] of [
      ['vision', [3, 2, 224, 224]],
      ['audio', [1, 128, 204]],
    ] as const) {
      const views = noise([5 * 3, ...view], 9); // N=5 items of S=3 views
      const separate = await small.embed(m, views);
      const averaged = await small.embed(m, { ...views, dims: [5, 3, ...view] });
      expect(averaged).toHaveLength(5);
      for (let n = 0; n < 5; n++) {
        const mean = separate[3 * n].map((x, i) => x + separate[3 * n + 1][i] + separate[3 * n + 2][i]);
        expect(maxDiff(averaged[n], unit(mean))).toBeLessThan(1e-5);
      }
    }
    await small.close();
  });

  it('refuses tensors that do not fit the graph, with both shapes in the message', async () => {
    await expect(runtime.embed('vision', noise([1, 3, 100, 100], 1))).rejects.toThrow(
      'vision: the encoder expects [N,S,3,2,224,224], got a tensor of [1,3,100,100]',
    );
    await expect(runtime.embed('text', noise([1, 77], 1))).rejects.toThrow(
      'text: the encoder takes int64 input, got float32',
    );
    await expect(runtime.embed('imu', noise([1, 3, 2000], 1))).rejects.toThrow(/expects \[N,6,2000\]/);
  });

  it('shares one session creation between concurrent first calls', async () => {
    const fresh = new EncoderRuntime(pack, { providers: ['cpu'] });
    const create = vi.spyOn(ort.InferenceSession, 'create');
    const results = await Promise.all([1, 2, 3].map((s) => fresh.embed('depth', input('depth', 1, s))));
    expect(create).toHaveBeenCalledTimes(1);
    create.mockRestore();
    expect(results).toHaveLength(3);
    const report = fresh.providerReport();
    expect(Object.keys(report)).toEqual(['depth']);
    await fresh.warmUp(['depth', 'imu']);
    expect(Object.keys(fresh.providerReport()).sort()).toEqual(['depth', 'imu']);
    expect(report.depth).toMatchObject({ provider: 'cpu', fallbacks: [] });
    expect(report.depth!.loadMs).toBeGreaterThan(0);
    // close() waits for a batch in flight instead of releasing its session under it.
    const inFlight = fresh.embed('depth', input('depth', 20, 4));
    await new Promise((r) => setImmediate(r));
    await fresh.close();
    await expect(inFlight).rejects.toThrow(/closed/);
    await expect(fresh.embed('depth', input('depth', 1, 1))).rejects.toThrow(/closed/);
  });

  it('reports a broken graph and retries creation on the next call', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-broken-'));
    temps.push(dir);
    const manifest = JSON.parse(await readFile(path.join(TEST_PACK_DIR, 'pack.json'), 'utf8'));
    await writeFile(path.join(dir, 'imu.onnx'), 'not an onnx graph');
    manifest.tokenizer = undefined;
    manifest.encoders = {
      imu: { ...manifest.encoders.imu, onnx: { ...manifest.encoders.imu.onnx, bytes: 17 } },
    };
    await writeFile(path.join(dir, 'pack.json'), JSON.stringify(manifest));
    const broken = new EncoderRuntime(await loadPack(dir), { providers: ['cpu'] });
    const create = vi.spyOn(ort.InferenceSession, 'create');
    await expect(broken.embed('imu', input('imu', 1, 1))).rejects.toThrow(
      /cannot load .*imu\.onnx: cpu failed/,
    );
    await expect(broken.embed('imu', input('imu', 1, 1))).rejects.toThrow(/cannot load/);
    expect(create).toHaveBeenCalledTimes(2);
    create.mockRestore();
    await broken.close();
  });

  it('falls back from a forced cuda to cpu with a reason', async () => {
    const forced = new EncoderRuntime(pack, { providers: ['cuda'] });
    const [v] = await forced.embed('imu', input('imu', 1, 1));
    expect(norm(v)).toBeCloseTo(1, 5);
    expect(forced.providerOrder).toEqual(['cuda', 'cpu']);
    const report = forced.providerReport().imu!;
    if (existsSync('/dev/nvidia0') && report.provider === 'cuda') {
      expect(report.fallbacks).toEqual([]); // a machine with working CUDA
    } else {
      expect(report.provider).toBe('cpu');
      expect(report.fallbacks).toHaveLength(1);
      expect(report.fallbacks[0].provider).toBe('cuda');
      expect(report.fallbacks[0].reason).toMatch(/CUDA/);
    }
    await forced.close();
  });

  it('explains providers that this build does not have', async () => {
    const absent = ['dml', 'coreml'].filter((p) => !supportedBackends().includes(p));
    if (absent.length === 0) return;
    const forced = new EncoderRuntime(pack, { providers: parseProviderList(absent.join(',')) });
    await forced.load('thermal');
    const report = forced.providerReport().thermal!;
    expect(report.provider).toBe('cpu');
    expect(report.fallbacks.map((f) => f.provider)).toEqual(absent);
    expect(report.fallbacks[0].reason).toMatch(/has no .* execution provider/);
    await forced.close();
  });

  it('loads a graph whose weights live in an external-data file, by path', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-ext-'));
    temps.push(dir);
    for (const [name, bytes] of buildEncoder('vision', 'vision.weights'))
      await writeFile(path.join(dir, name), bytes);
    const manifest = JSON.parse(await readFile(path.join(TEST_PACK_DIR, 'pack.json'), 'utf8'));
    const entry = async (file: string) => ({
      file,
      sha256: await sha256File(path.join(dir, file)),
      bytes: (await readFile(path.join(dir, file))).length,
    });
    manifest.encoders = {
      vision: {
        ...manifest.encoders.vision,
        onnx: await entry('vision.onnx'),
        externalData: [await entry('vision.weights')],
      },
    };
    await copyFile(
      path.join(TEST_PACK_DIR, manifest.tokenizer.file),
      path.join(dir, manifest.tokenizer.file),
    );
    await writeFile(path.join(dir, 'pack.json'), JSON.stringify(manifest));
    const external = await loadPack(dir, { verifyHashes: true });
    expect(external.manifest.encoders.vision!.onnx.bytes).toBeLessThan(10_000); // the weights are elsewhere
    const ext = new EncoderRuntime(external, { providers: ['cpu'] });
    const image = noise([2, 3, 224, 224], 21);
    expect(await ext.embed('vision', image)).toEqual(await runtime.embed('vision', image));
    await expect(ext.embed('audio', input('audio', 1, 1))).rejects.toThrow(/has no audio encoder/);
    await ext.close();
  });
});

describe('input planning', () => {
  it('maps preprocessing tensors onto the graph rank', () => {
    const vision = INTERFACE.vision.shape;
    expect(planInput('vision', [4, 3, 224, 224], vision)).toEqual({
      dims: [4, 1, 3, 2, 224, 224],
      repeatFrames: 2,
    });
    expect(planInput('vision', [4, 3, 2, 224, 224], vision)).toEqual({
      dims: [4, 1, 3, 2, 224, 224],
      repeatFrames: 1,
    });
    expect(planInput('vision', [4, 15, 3, 2, 224, 224], vision)).toEqual({
      dims: [4, 15, 3, 2, 224, 224],
      repeatFrames: 1,
    });
    expect(planInput('audio', [2, 1, 128, 204], INTERFACE.audio.shape)).toEqual({
      dims: [2, 1, 1, 128, 204],
      repeatFrames: 1,
    });
    expect(planInput('imu', [2, 6, 2000], INTERFACE.imu.shape).dims).toEqual([2, 6, 2000]);
    // A video graph without a clip axis still gets its repeated frame.
    expect(planInput('vision', [1, 3, 224, 224], ['N', 3, 2, 224, 224]).dims).toEqual([1, 3, 2, 224, 224]);
    expect(() => planInput('audio', [2, 128, 204], INTERFACE.audio.shape)).toThrow(/expects/);
  });
});

describe('execution providers', () => {
  it('orders providers per platform, WebGPU before CPU wherever the binary has it', () => {
    expect(defaultProviderOrder('linux', 'x64', ['cpu', 'webgpu'], true)).toEqual(['cuda', 'webgpu', 'cpu']);
    // Without onnxruntime-node's CUDA add-on, CUDA is not tried by default (only when asked for).
    expect(defaultProviderOrder('linux', 'x64', ['cpu', 'webgpu'], false)).toEqual(['webgpu', 'cpu']);
    expect(defaultProviderOrder('linux', 'arm64', ['cpu'])).toEqual(['cpu']);
    expect(defaultProviderOrder('win32', 'x64', ['cpu', 'dml', 'webgpu'])).toEqual(['dml', 'webgpu', 'cpu']);
    expect(defaultProviderOrder('darwin', 'arm64', ['cpu', 'coreml', 'webgpu'])).toEqual([
      'coreml',
      'webgpu',
      'cpu',
    ]);
    expect(defaultProviderOrder('darwin', 'x64', ['cpu'])).toEqual(['cpu']);
    expect(defaultProviderOrder('freebsd', 'x64', ['cpu'])).toEqual(['cpu']);
    // This machine's binary (Linux x64) bundles WebGPU.
    expect(defaultProviderOrder('linux', 'x64', undefined, false)).toEqual(['webgpu', 'cpu']);
    expect(unsupportedPlatform('darwin', 'x64')).toMatch(/no binary for Intel Macs/);
    expect(unsupportedPlatform('linux', 'x64')).toBeNull();
  });

  it('sizes runs by provider and keeps every WebGPU tensor under its 128 MiB buffer limit', () => {
    // ViT-H's MLP hidden layer per view: 257 tokens × 5120 × 2 bytes (fp16), 4 bytes (fp32).
    const fp16 = 257 * 5120 * 2;
    expect(itemsPerRun({ provider: 'cpu', clips: 1, activationBytes: fp16 })).toBe(8);
    expect(itemsPerRun({ provider: 'webgpu', clips: 1, activationBytes: fp16 })).toBe(48);
    expect(itemsPerRun({ provider: 'webgpu', clips: 1, activationBytes: 2 * fp16 })).toBe(25);
    expect(itemsPerRun({ provider: 'webgpu', batchSize: 64, clips: 1, activationBytes: fp16 })).toBe(51);
    expect(51 * fp16).toBeLessThanOrEqual(WEBGPU_MAX_BUFFER_BYTES);
    expect(52 * fp16).toBeGreaterThan(WEBGPU_MAX_BUFFER_BYTES);
    // Items of several views (audio's 3 clips) count every view; never fewer than one item.
    expect(itemsPerRun({ provider: 'webgpu', clips: 3, activationBytes: 2 * fp16 })).toBe(8);
    expect(itemsPerRun({ provider: 'webgpu', clips: 1, activationBytes: WEBGPU_MAX_BUFFER_BYTES * 2 })).toBe(
      1,
    );
    // A pack that does not state its activations (the test pack, older packs): the batch as set.
    expect(itemsPerRun({ provider: 'webgpu', batchSize: 64, clips: 2 })).toBe(32);
    expect(itemsPerRun({ provider: 'cuda', clips: 1, activationBytes: fp16 * 100 })).toBe(8);
  });

  it('recommends q8 for WebGPU, fp16 for the other GPU providers and int8 without a GPU', () => {
    expect(recommendedPrecision('webgpu')).toBe('q8');
    for (const p of ['cuda', 'dml', 'coreml'] as const) expect(recommendedPrecision(p)).toBe('fp16');
    expect(recommendedPrecision(null)).toBe('int8');
  });

  it('probes WebGPU once on a tiny graph and falls back to CPU with the reason, cached', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-probe-'));
    const cache = path.join(dir, 'probe.json');
    const first = await probeProvider('webgpu', cache);
    // No GPU here: Dawn finds no adapter. On a machine with one the probe passes.
    console.log(
      `WebGPU probe: ${first.ok ? 'usable' : `not usable (${first.reason})`} in ${first.ms.toFixed(0)} ms`,
    );
    const again = await probeProvider('webgpu', cache);
    expect(again.ok).toBe(first.ok);
    expect(again.ms).toBe(0); // from the cache
    expect(JSON.parse(await readFile(cache, 'utf8'))[probeKey('webgpu')].ok).toBe(first.ok);
    if (!first.ok) {
      expect(first.reason).toMatch(/adapter/i);
      const runtime = new EncoderRuntime(await loadPack(TEST_PACK_DIR), { providers: ['webgpu', 'cpu'] });
      try {
        await runtime.load('depth');
        const report = runtime.providerReport().depth!;
        expect(report.provider).toBe('cpu');
        expect(report.fallbacks[0]).toMatchObject({
          provider: 'webgpu',
          reason: expect.stringMatching(/^WebGPU is not usable on this machine/),
        });
      } finally {
        await runtime.close();
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('never runs one session twice at once, however many embeds are in flight', async () => {
    const runtime = new EncoderRuntime(await loadPack(TEST_PACK_DIR), { providers: ['cpu'], batchSize: 2 });
    try {
      const one = {
        dtype: 'float32' as const,
        dims: [5, 1, 224, 224],
        data: new Float32Array(5 * 224 * 224).fill(0.5),
      };
      const results = await Promise.all(Array.from({ length: 8 }, () => runtime.embed('depth', one)));
      expect(results.every((r) => r.length === 5)).toBe(true);
      expect(runtime.maxConcurrentRuns).toBe(1);
    } finally {
      await runtime.close();
    }
  });

  it('parses provider lists and always ends with cpu', () => {
    expect(parseProviderList(' CUDA, cpu ,cuda')).toEqual(['cuda', 'cpu']);
    expect(() => parseProviderList('cuda,tpu')).toThrow('unknown execution provider tpu');
    expect(() => parseProviderList(' , ')).toThrow(/empty/);
    expect(attemptOrder(['cpu', 'cuda'])).toEqual(['cpu']);
    expect(attemptOrder(['cuda', 'dml', 'cuda'])).toEqual(['cuda', 'dml', 'cpu']);
    expect(attemptOrder(['dml'])).toEqual(['dml', 'cpu']);
  });
});
