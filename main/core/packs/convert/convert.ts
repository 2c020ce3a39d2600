import { createHash } from 'node:crypto';
import { copyFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ENCODER_MODALITIES, type EncoderModality } from '../../../../app/modality.js';
import { PackManifestSchema, type PackManifest } from '../../../../app/pack.js';
import { bundledVocabPath } from '../../paths.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { sha256File } from '../pack.js';
import type { WrittenFile } from '../../encoders/onnx-builder.js';
import { inferDims, validateCheckpoint, variantName, type ImageBindDims } from './architecture.js';
import {
  NBITS_BLOCK,
  buildTowerGraph,
  computeType,
  isTrunkLinear,
  type GraphForm,
  type Precision,
  type TowerGraph,
} from './graphs.js';
import { IMAGEBIND_PACK_LICENCE, IMAGEBIND_PREPROCESS } from './pack-defaults.js';

/**
 * Checkpoint → Bindery model pack, in Node (docs/architecture.md §11):
 * open the checkpoint's index, check it is ImageBind, then build and stream one graph per tower to
 * disk, reading each weight from the checkpoint only while it is written. Peak memory is the
 * largest single tensor a few times over, not the model.
 */

/** Graphs whose weights pass this keep them in `<modality>.onnx.data` (protobuf stops at 2 GiB). */
export const EXTERNAL_DATA_THRESHOLD = 1.5 * 1024 ** 3;
export const VOCAB_FILE = 'bpe_simple_vocab_16e6.txt.gz';

export interface ConvertProgress {
  /** The tower being written. */
  modality: EncoderModality;
  /** Weight bytes written so far, of all towers' `totalBytes`. */
  bytesDone: number;
  totalBytes: number;
  /** Set once, when `modality` is finished. */
  finished?: TowerReport;
}

export interface TowerReport {
  modality: EncoderModality;
  seconds: number;
  /** Highest resident set size seen while this tower was written. */
  peakRssBytes: number;
  nodes: number;
  weightBytes: number;
}

export interface ConvertOptions {
  outDir: string;
  precision?: Precision;
  /** Operator forms (default: standard attention, float32 residual stream). */
  form?: Partial<GraphForm>;
  onProgress?: (p: ConvertProgress) => void;
  signal?: AbortSignal;
}

export interface Conversion {
  manifest: PackManifest;
  dims: ImageBindDims;
  towers: TowerReport[];
}

/** Opens and validates a checkpoint: the dims it has, or a one-line CheckpointError. */
export async function inspectCheckpoint(file: string): Promise<{ ckpt: Checkpoint; dims: ImageBindDims }> {
  const ckpt = await openCheckpoint(file);
  try {
    const dims = inferDims(ckpt);
    validateCheckpoint(ckpt, dims);
    return { ckpt, dims };
  } catch (e) {
    await ckpt.close();
    throw e;
  }
}

/** Converts `file` into a pack folder at `opts.outDir` (which must exist and be empty). */
export async function convertCheckpoint(file: string, opts: ConvertOptions): Promise<Conversion> {
  const precision = opts.precision ?? 'fp16';
  const { ckpt, dims } = await inspectCheckpoint(file);
  try {
    const encoders: Record<string, unknown> = {};
    const towers: TowerReport[] = [];
    const progress = { totalBytes: convertedBytes(ckpt, precision), bytesDone: 0 };
    for (const m of ENCODER_MODALITIES) {
      const onWeight = (bytes: number) => {
        progress.bytesDone += bytes;
        opts.onProgress?.({ modality: m, ...progress });
      };
      const { entry, report } = await writeTower(ckpt, dims, m, precision, opts, onWeight);
      opts.onProgress?.({ modality: m, ...progress, finished: report });
      encoders[m] = entry;
      towers.push(report);
    }
    await copyFile(bundledVocabPath(), path.join(opts.outDir, VOCAB_FILE));
    const manifest = PackManifestSchema.parse({
      format: 1,
      ...identity(dims, precision, await fingerprint(ckpt)),
      licence: IMAGEBIND_PACK_LICENCE,
      // Stated, not left to the default, so a user reading pack.json sees how matches are judged.
      matchSignal: { method: 'background', margin: 1, sample: 2048 },
      embeddingDim: dims.out,
      tokenizer: await fileEntry(opts.outDir, VOCAB_FILE),
      encoders,
    });
    return { manifest, dims, towers };
  } finally {
    await ckpt.close();
  }
}

/** Bytes of the converted weights (the pack's size, near enough): every tensor at the target precision. */
export function convertedBytes(ckpt: Checkpoint, precision: Precision): number {
  let n = 0;
  for (const [name, t] of ckpt.tensors)
    n += t.shape.reduce((a, b) => a * b, 1) * bytesPerWeight(name, precision);
  return n;
}

function bytesPerWeight(name: string, precision: Precision): number {
  if (isTrunkLinear(name) && precision === 'int8') return 1;
  if (isTrunkLinear(name) && precision === 'q8') return 1 + 2 / NBITS_BLOCK; // + an fp16 scale per block
  return computeType(precision) === 'float16' ? 2 : 4;
}

async function writeTower(
  ckpt: Checkpoint,
  dims: ImageBindDims,
  m: EncoderModality,
  precision: Precision,
  opts: ConvertOptions,
  onWeight: (bytes: number) => void,
): Promise<{ entry: unknown; report: TowerReport }> {
  const started = performance.now();
  const rss = new RssSampler();
  try {
    const graph = await buildTowerGraph(ckpt, dims, m, precision, opts.form);
    const weightBytes = graph.builder.weightBytes();
    const externalData = weightBytes > EXTERNAL_DATA_THRESHOLD ? `${m}.onnx.data` : undefined;
    const files = await graph.builder.write(opts.outDir, `${m}.onnx`, graph.header, {
      externalData,
      signal: opts.signal,
      onWeight,
    });
    const report = {
      modality: m,
      seconds: (performance.now() - started) / 1000,
      peakRssBytes: rss.peak(),
      nodes: graph.builder.nodeCount(),
      weightBytes,
    };
    return { entry: encoderEntry(graph, files, m), report };
  } finally {
    rss.stop();
  }
}

/** The pack.json entry of one converted tower (also used by bench/gpu/webgpu-pack.ts). */
export function encoderEntry(graph: TowerGraph, files: WrittenFile[], m: EncoderModality): unknown {
  const [model, ...external] = files.map(({ file, sha256, bytes }) => ({ file, sha256, bytes }));
  return {
    onnx: model,
    externalData: external,
    input: graph.input,
    output: graph.output,
    logitScale: graph.logitScale,
    activationBytes: graph.activationBytes,
    preprocess: IMAGEBIND_PREPROCESS[m],
  };
}

function identity(dims: ImageBindDims, precision: Precision, print: string) {
  const variant = variantName(dims);
  const t = dims.towers;
  const shape = `vision ${t.vision.width}×${t.vision.blocks}, text ${t.text.width}×${t.text.blocks}, out ${dims.out}`;
  return {
    id:
      variant === 'huge'
        ? `imagebind-huge-${precision}`
        : `imagebind-custom-${print.slice(0, 8)}-${precision}`,
    name:
      variant === 'huge'
        ? `ImageBind huge (${precision})`
        : `ImageBind, custom size (${shape}; ${precision})`,
    version: print.slice(0, 12),
    description:
      `Converted by Bindery from an ImageBind checkpoint (${shape}). Weights by Meta AI ` +
      '(github.com/facebookresearch/ImageBind).',
  };
}

/**
 * A short content fingerprint: the state dict's names and shapes and the first values of a few
 * tensors. Cheap (no pass over 4.5 GB), and different for differently trained weights.
 */
async function fingerprint(ckpt: Checkpoint): Promise<string> {
  const hash = createHash('sha256');
  for (const t of ckpt.tensors.values()) hash.update(`${t.name}:${t.shape.join('x')};`);
  for (const name of ['modality_heads.vision.2.weight', 'modality_heads.text.proj.1.weight']) {
    const v = await ckpt.read(name);
    hash.update(new Uint8Array(v.buffer, v.byteOffset, Math.min(v.byteLength, 65536)));
  }
  return hash.digest('hex');
}

async function fileEntry(
  dir: string,
  file: string,
): Promise<{ file: string; sha256: string; bytes: number }> {
  const abs = path.join(dir, file);
  const { size } = await stat(abs);
  return { file, sha256: await sha256File(abs), bytes: size };
}

/** Samples the process's resident set size, so each tower's peak can be reported. */
class RssSampler {
  private max = process.memoryUsage.rss();
  private readonly timer = setInterval(() => this.sample(), 50);

  private sample(): void {
    this.max = Math.max(this.max, process.memoryUsage.rss());
  }

  peak(): number {
    this.sample();
    return this.max;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
