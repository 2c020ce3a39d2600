import ort from 'onnxruntime-node';
import type { EncoderModality } from '../../../app/modality.js';
import type { EncoderSpec, PackManifest } from '../../../app/pack.js';
import type { Tensor } from '../imagebind/tensor.js';
import { clipsPerItem, feedChunk, itemCount, type Dims } from './feeds.js';
import { float32ToHalf, halfToFloat32 } from './half.js';
import {
  attemptOrder,
  createSession,
  defaultProviderOrder,
  type ProviderFallback,
  type ProviderName,
  type SessionConfig,
} from './providers.js';

/**
 * ONNX encoder sessions for one model pack (docs/architecture.md §4): created lazily per modality, reused,
 * fed in bounded batches, and adapted from what preprocessing produces to what each graph
 * declares (ImageBind's clip axis S, PadIm2Video's repeated frame).
 *
 * Threading: onnxruntime-node (1.30) schedules `session.run` with setImmediate and then runs the
 * graph synchronously inside the native binding. ORT's own thread pool parallelises the maths,
 * but the calling JS thread is blocked for the whole batch (measured: a 53 ms run blocked the
 * event loop for 53 ms). That is why the engine lives in a utility process / worker (docs/architecture.md
 * §1), never on Electron's main thread, and why batches are chunked: between chunks the event
 * loop gets a turn, so progress and cancellation messages still flow.
 */

export interface RuntimeOptions {
  /** Providers to try in order; CPU is always the last resort. Default: defaultProviderOrder(). */
  providers?: ProviderName[];
  intraOpThreads?: number;
  /** Most encoder items (views, clips) per session.run. Default: by provider (itemsPerRun). */
  batchSize?: number;
  /** Further session settings (inter-op threads, CPU arena, optimisation level). */
  session?: Omit<SessionConfig, 'intraOpNumThreads'>;
}

export interface EncoderReport {
  provider: ProviderName;
  fallbacks: ProviderFallback[];
  loadMs: number;
}

interface LoadedEncoder {
  session: ort.InferenceSession;
  /** The last run queued on this session: runs wait for it, so one session never runs twice at once. */
  tail: Promise<unknown>;
  inFlight: number;
  spec: EncoderSpec;
  provider: ProviderName;
  /** The graph's declared input shape, symbolic axes as names. */
  inputShape: Dims;
  inputType: string;
  /**
   * The float feed buffer, reused run after run: only one run uses it at a time (runs are
   * serialised), and a fresh one per run cost more than the copy into it (first-touch page faults:
   * 0.6 s per 200 photos in the ingest benchmark).
   */
  scratch: Float32Array;
}

/** Items [start, end) of the parts put end to end: what one session.run embeds. */
interface RunItems {
  parts: readonly Tensor[];
  start: number;
  end: number;
}

export const DEFAULT_BATCH_SIZE = 8;
/**
 * Views per run where the user set none, by provider, from measurement (docs/architecture.md §4): on
 * a CPU batch 8 is as fast per item as larger ones; the WebGPU provider gains up to batch ~48
 * (ViT-H q8 on an H100: 112 images/s at 8, 160 at 16, 176 at 32, 183 at 48; bench/gpu/README.md).
 */
export const PROVIDER_BATCH: Readonly<Partial<Record<ProviderName, number>>> = { webgpu: 48 };
/**
 * The largest buffer the WebGPU provider binds fast: Dawn's default maxStorageBufferBindingSize,
 * which onnxruntime's device keeps (its session setting for it changed nothing). One tensor past
 * it made a whole run 2.5–3.5× slower (bench/gpu/README.md), so runs stay under it.
 */
export const WEBGPU_MAX_BUFFER_BYTES = 128 * 1024 * 1024;

/**
 * Items per session.run: the user's batch size or the provider's (PROVIDER_BATCH), in views, cut
 * on WebGPU so the graph's largest tensor (activationBytes per view, from pack.json) stays under
 * WEBGPU_MAX_BUFFER_BYTES; divided by the views each item has. At least one item.
 */
export function itemsPerRun(p: {
  provider: ProviderName;
  batchSize?: number;
  clips: number;
  activationBytes?: number;
}): number {
  let views = p.batchSize ?? PROVIDER_BATCH[p.provider] ?? DEFAULT_BATCH_SIZE;
  if (p.provider === 'webgpu' && p.activationBytes)
    views = Math.min(views, Math.floor(WEBGPU_MAX_BUFFER_BYTES / p.activationBytes));
  return Math.max(1, Math.floor(views / p.clips));
}

/** Per-item dims as preprocessing produces them (vision: a still image, the common ingest case). */
export const ITEM_DIMS: Readonly<Record<EncoderModality, readonly number[]>> = {
  vision: [3, 224, 224],
  text: [77],
  audio: [1, 128, 204],
  depth: [1, 224, 224],
  thermal: [1, 224, 224],
  imu: [6, 2000],
};

/**
 * What the runtime needs of a pack: its manifest and its files. packs/pack.ts's LoadedPack is one;
 * encoders sit below packs (docs/architecture.md §1), so the runtime names only this view.
 */
export interface EncoderPack {
  readonly manifest: PackManifest;
  /** The encoders the pack has, in ENCODER_MODALITIES order. */
  readonly encoders: EncoderModality[];
  /** Absolute path of a file named in the manifest. */
  filePath(rel: string): string;
}

/** The spec of one encoder; naming the pack when it has no such encoder. */
function encoderSpec(pack: EncoderPack, modality: EncoderModality): EncoderSpec {
  const spec = pack.manifest.encoders[modality];
  if (!spec) throw new Error(`pack ${pack.manifest.id} has no ${modality} encoder`);
  return spec;
}

export class EncoderRuntime {
  private readonly sessions = new Map<EncoderModality, Promise<LoadedEncoder>>();
  private readonly reports: Partial<Record<EncoderModality, EncoderReport>> = {};
  /** Providers in the order sessions try them, ending with CPU (shown in status). */
  readonly providerOrder: ProviderName[];
  private readonly batchSize: number | undefined;
  private closed = false;
  /** Runs in flight, so close() never releases a session under a running batch. */
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    readonly pack: EncoderPack,
    private readonly opts: RuntimeOptions = {},
  ) {
    this.providerOrder = attemptOrder(opts.providers?.length ? opts.providers : defaultProviderOrder());
    this.batchSize = opts.batchSize;
    if (this.batchSize !== undefined && (!Number.isInteger(this.batchSize) || this.batchSize < 1)) {
      throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
    }
  }

  /**
   * Embeds a batch. `tensor` is what preprocessing produced, batched on axis 0:
   * vision [B,3,224,224] images or [B,3,2,224,224] video views; audio [B,1,128,204] clips;
   * text int64 [B,77]; depth/thermal [B,1,224,224]; imu [B,6,2000]. A tensor already at the
   * graph's rank ([B,S,…]) is passed through, and each item's S views are averaged by the graph,
   * as ImageBind's forward does. Returns B unit-length vectors.
   */
  async embed(modality: EncoderModality, input: Tensor | readonly Tensor[]): Promise<Float32Array[]> {
    const enc = await this.encoder(modality);
    const parts = Array.isArray(input) ? (input as readonly Tensor[]) : [input as Tensor];
    const items = itemCount(parts);
    const perRun = itemsPerRun({
      provider: enc.provider,
      batchSize: this.batchSize,
      clips: clipsPerItem([items, ...parts[0].dims.slice(1)], enc.inputShape),
      activationBytes: enc.spec.activationBytes,
    });
    const out: Float32Array[] = [];
    for (let start = 0; start < items; start += perRun) {
      if (this.closed) throw new Error('EncoderRuntime is closed');
      const run = this.run(modality, enc, { parts, start, end: Math.min(items, start + perRun) });
      this.running.add(run);
      try {
        out.push(...(await run));
      } finally {
        this.running.delete(run);
      }
    }
    return out;
  }

  /** Creates the modality's session now (embed does this lazily); useful to measure or warm up. */
  async load(modality: EncoderModality): Promise<void> {
    await this.encoder(modality);
  }

  /** Loads every encoder (or the given ones) one after another, so peak memory grows one model at a time. */
  async warmUp(modalities: readonly EncoderModality[] = this.pack.encoders): Promise<void> {
    for (const m of modalities) await this.encoder(m);
  }

  providerReport(): Partial<Record<EncoderModality, EncoderReport>> {
    return structuredClone(this.reports);
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled([...this.running]);
    for (const result of await Promise.allSettled(pending)) {
      if (result.status === 'fulfilled') await result.value.session.release();
    }
  }

  /** One creation promise per modality, so concurrent first calls share it; a failure is not cached. */
  private encoder(modality: EncoderModality): Promise<LoadedEncoder> {
    if (this.closed) return Promise.reject(new Error('EncoderRuntime is closed'));
    let pending = this.sessions.get(modality);
    if (!pending) {
      pending = this.createEncoder(modality);
      this.sessions.set(modality, pending);
      const mine = pending;
      mine.catch(() => this.sessions.get(modality) === mine && this.sessions.delete(modality));
    }
    return pending;
  }

  private async createEncoder(modality: EncoderModality): Promise<LoadedEncoder> {
    const spec = encoderSpec(this.pack, modality);
    const started = performance.now();
    const cfg: SessionConfig = { ...this.opts.session, intraOpNumThreads: this.opts.intraOpThreads };
    const created = await createSession(this.pack.filePath(spec.onnx.file), this.providerOrder, cfg);
    const loadMs = performance.now() - started;
    this.reports[modality] = { provider: created.provider, fallbacks: created.fallbacks, loadMs };
    try {
      return {
        session: created.session,
        tail: Promise.resolve(),
        inFlight: 0,
        spec,
        provider: created.provider,
        scratch: new Float32Array(0),
        ...declaredInput(created.session, spec, modality),
      };
    } catch (e) {
      await created.session.release();
      throw e;
    }
  }

  /**
   * Runs are serialised per session: onnxruntime's WebGPU provider crashes on concurrent runs of
   * one session (onnxruntime#27592, #32561), and a search and an indexing batch may ask at once.
   */
  private run(modality: EncoderModality, enc: LoadedEncoder, items: RunItems): Promise<Float32Array[]> {
    const result = enc.tail.then(() => this.runNow(modality, enc, items));
    enc.tail = result.catch(() => undefined);
    return result;
  }

  /** The most runs ever in flight at once on one session (1 unless serialisation broke). */
  maxConcurrentRuns = 0;
  private inFlight = 0;

  private async runNow(
    modality: EncoderModality,
    enc: LoadedEncoder,
    items: RunItems,
  ): Promise<Float32Array[]> {
    this.inFlight++;
    this.maxConcurrentRuns = Math.max(this.maxConcurrentRuns, this.inFlight);
    try {
      return await this.runOnce(modality, enc, items);
    } finally {
      this.inFlight--;
    }
  }

  /** Builds the feed inside the serialised section, so the shared scratch buffer has one user. */
  private async runOnce(
    modality: EncoderModality,
    enc: LoadedEncoder,
    items: RunItems,
  ): Promise<Float32Array[]> {
    const scratch = (n: number): Float32Array => {
      if (enc.scratch.length < n) enc.scratch = new Float32Array(n);
      return enc.scratch.subarray(0, n);
    };
    const chunk = feedChunk(modality, items.parts, items.start, items.end, enc.inputShape, scratch);
    const feed = toOrtTensor(chunk, enc.inputType, modality);
    const result = await enc.session.run({ [enc.spec.input.name]: feed });
    const output = result[enc.spec.output.name] as ort.Tensor;
    try {
      return unitRows(modality, output);
    } finally {
      output.dispose();
    }
  }
}

/** Reads the graph's declared input and checks the manifest's names against the graph. */
function declaredInput(
  session: ort.InferenceSession,
  spec: EncoderSpec,
  modality: EncoderModality,
): { inputShape: Dims; inputType: string } {
  const meta = session.inputMetadata.find((m) => m.name === spec.input.name);
  if (!meta?.isTensor) {
    throw new Error(
      `${modality}: the graph has no tensor input "${spec.input.name}" (it has ${session.inputNames.join(', ')})`,
    );
  }
  if (!session.outputNames.includes(spec.output.name)) {
    throw new Error(
      `${modality}: the graph has no output "${spec.output.name}" (it has ${session.outputNames.join(', ')})`,
    );
  }
  return { inputShape: meta.shape, inputType: meta.type };
}

// ---------------------------------------------------------------------------------------------
// Tensors in and out

function toOrtTensor(t: Tensor, graphType: string, modality: string): ort.Tensor {
  if (graphType === t.dtype) return new ort.Tensor(t.dtype, t.data, t.dims);
  // fp16 exports of large towers take half-precision input; preprocessing always yields float32.
  if (graphType === 'float16' && t.dtype === 'float32')
    return new ort.Tensor('float16', float32ToHalf(t.data), t.dims);
  throw new Error(`${modality}: the encoder takes ${graphType} input, got ${t.dtype}`);
}

/** Splits [B, D] into B copies scaled to unit length (ImageBind's logit scales do not matter for cosine). */
function unitRows(modality: string, output: ort.Tensor): Float32Array[] {
  const [rows, dim] = output.dims;
  const data =
    output.type === 'float16' ? halfToFloat32(output.data as Uint16Array) : (output.data as Float32Array);
  const out: Float32Array[] = [];
  for (let r = 0; r < rows; r++) {
    const row = data.slice(r * dim, (r + 1) * dim);
    let sq = 0;
    for (let i = 0; i < dim; i++) sq += row[i] * row[i];
    const norm = Math.sqrt(sq);
    if (!(norm > 0) || !Number.isFinite(norm))
      throw new Error(`${modality}: the encoder produced a zero or non-finite embedding`);
    for (let i = 0; i < dim; i++) row[i] /= norm;
    out.push(row);
  }
  return out;
}
