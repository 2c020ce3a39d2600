import type { EncoderModality } from '../../../../app/modality.js';
import { CheckpointError, type Checkpoint } from './checkpoint.js';

/**
 * ImageBind's architecture as a checkpoint states it (docs/architecture.md §11): the tensor names `imagebind_model.ImageBindModel.state_dict()` produces, and the
 * shape of each. Widths, depths and the output width are read from the checkpoint's own shapes;
 * head counts cannot be (they do not change any shape), so they are imagebind_huge's. Every name
 * and shape is then checked, so a checkpoint of another model fails here, with one line naming
 * the tensor, instead of producing a graph that computes nonsense.
 */

/** imagebind_huge's attention heads per tower (imagebind_model.py, imagebind_huge()). */
export const IMAGEBIND_HEADS: Readonly<Record<EncoderModality, number>> = {
  vision: 16,
  text: 16,
  audio: 12,
  depth: 8,
  thermal: 12,
  imu: 8,
};

export const TEXT_VOCAB = 49408;
export const TEXT_CONTEXT = 77;
/** The causal attention mask TextPreprocessor registers as a buffer (0 on and below the diagonal, -inf above). */
export const TEXT_MASK = 'modality_preprocessors.text.mask';
/** IMU: 6 channels × 2000 samples, cut into 250 windows of 8 samples (the stem's Linear(48, D)). */
export const IMU_CHANNELS = 6;
export const IMU_SAMPLES = 2000;
export const IMU_WINDOW = 8;
/** LearnableLogitScaling's clip (max_logit_scale). */
export const MAX_LOGIT_SCALE = 100;

export interface TowerDims {
  width: number;
  blocks: number;
  heads: number;
}

export interface ImageBindDims {
  /** The joint embedding width (1024 for imagebind_huge). */
  out: number;
  towers: Record<EncoderModality, TowerDims>;
}

/** Where each tower's pieces live in the state dict, and the choices ImageBind made per tower. */
export interface TowerLayout {
  /** Sequence length the trunk sees, class token included (text has none). */
  tokens: number;
  /** The class token and positional embedding (text: positional only). */
  cls: string | null;
  pos: string;
  /** Patch stem weight, and the LayerNorm after it (audio, depth, thermal, imu). */
  stem: string;
  stemNorm: string | null;
  /** vision only: LayerNorm(eps 1e-6) before the blocks. */
  preNorm: string | null;
  /** audio, depth, thermal, imu: MultiheadAttention(add_bias_kv=True). */
  biasKv: boolean;
  blocks: string;
  headNorm: string;
  headProj: string;
  /** The postprocessor's log scale (vision has none). */
  logScale: string | null;
}

const pre = (m: string) => `modality_preprocessors.${m}`;

export const TOWERS: Readonly<Record<EncoderModality, TowerLayout>> = {
  vision: {
    tokens: 1 + 16 * 16,
    cls: `${pre('vision')}.cls_token`,
    pos: `${pre('vision')}.pos_embedding_helper.pos_embed`,
    stem: `${pre('vision')}.rgbt_stem.proj.1.weight`,
    stemNorm: null,
    preNorm: 'modality_trunks.vision.pre_transformer_layer.0',
    biasKv: false,
    blocks: 'modality_trunks.vision.blocks',
    headNorm: 'modality_heads.vision.0',
    headProj: 'modality_heads.vision.2.weight',
    logScale: null,
  },
  text: {
    tokens: TEXT_CONTEXT,
    cls: null,
    pos: `${pre('text')}.pos_embed`,
    stem: `${pre('text')}.token_embedding.weight`,
    stemNorm: null,
    preNorm: null,
    biasKv: false,
    blocks: 'modality_trunks.text.blocks',
    headNorm: 'modality_heads.text.proj.0',
    headProj: 'modality_heads.text.proj.1.weight',
    logScale: 'modality_postprocessors.text.1.log_logit_scale',
  },
  audio: {
    // Conv2d(kernel 16, stride 10) over 128 × 204 mel frames: 12 × 19 patches.
    tokens: 1 + 12 * 19,
    cls: `${pre('audio')}.cls_token`,
    pos: `${pre('audio')}.pos_embedding_helper.pos_embed`,
    stem: `${pre('audio')}.rgbt_stem.proj.weight`,
    stemNorm: `${pre('audio')}.rgbt_stem.norm_layer`,
    preNorm: null,
    biasKv: true,
    blocks: 'modality_trunks.audio.blocks',
    headNorm: 'modality_heads.audio.0',
    headProj: 'modality_heads.audio.2.weight',
    logScale: 'modality_postprocessors.audio.1.log_logit_scale',
  },
  depth: {
    tokens: 1 + 14 * 14,
    cls: `${pre('depth')}.cls_token`,
    pos: `${pre('depth')}.pos_embedding_helper.pos_embed`,
    stem: `${pre('depth')}.depth_stem.proj.weight`,
    stemNorm: `${pre('depth')}.depth_stem.norm_layer`,
    preNorm: null,
    biasKv: true,
    blocks: 'modality_trunks.depth.blocks',
    headNorm: 'modality_heads.depth.0',
    headProj: 'modality_heads.depth.2.weight',
    logScale: 'modality_postprocessors.depth.1.log_logit_scale',
  },
  thermal: {
    tokens: 1 + 14 * 14,
    cls: `${pre('thermal')}.cls_token`,
    pos: `${pre('thermal')}.pos_embedding_helper.pos_embed`,
    stem: `${pre('thermal')}.rgbt_stem.proj.weight`,
    stemNorm: `${pre('thermal')}.rgbt_stem.norm_layer`,
    preNorm: null,
    biasKv: true,
    blocks: 'modality_trunks.thermal.blocks',
    headNorm: 'modality_heads.thermal.0',
    headProj: 'modality_heads.thermal.2.weight',
    logScale: 'modality_postprocessors.thermal.1.log_logit_scale',
  },
  imu: {
    tokens: 1 + IMU_SAMPLES / IMU_WINDOW,
    cls: `${pre('imu')}.cls_token`,
    pos: `${pre('imu')}.pos_embed`,
    stem: `${pre('imu')}.imu_stem.proj.weight`,
    stemNorm: `${pre('imu')}.imu_stem.norm_layer`,
    preNorm: null,
    biasKv: true,
    blocks: 'modality_trunks.imu.blocks',
    headNorm: 'modality_heads.imu.0',
    // Index 3: the head is LayerNorm, SelectElement, Dropout, Linear.
    headProj: 'modality_heads.imu.3.weight',
    logScale: 'modality_postprocessors.imu.1.log_logit_scale',
  },
};

const MODALITIES = Object.keys(TOWERS) as EncoderModality[];

/** The stem weight's shape for a tower of width D. */
function stemShape(m: EncoderModality, d: number): number[] {
  switch (m) {
    case 'vision':
      return [d, 3, 2, 14, 14];
    case 'text':
      return [TEXT_VOCAB, d];
    case 'imu':
      return [d, IMU_CHANNELS * IMU_WINDOW];
    default:
      return [d, 1, 16, 16];
  }
}

/** Every tensor one transformer block has, with its shape. */
function blockTensors(prefix: string, d: number, biasKv: boolean): [string, number[]][] {
  const t: [string, number[]][] = [
    [`${prefix}.attn.in_proj_weight`, [3 * d, d]],
    [`${prefix}.attn.in_proj_bias`, [3 * d]],
    [`${prefix}.attn.out_proj.weight`, [d, d]],
    [`${prefix}.attn.out_proj.bias`, [d]],
    [`${prefix}.norm_1.weight`, [d]],
    [`${prefix}.norm_1.bias`, [d]],
    [`${prefix}.mlp.fc1.weight`, [4 * d, d]],
    [`${prefix}.mlp.fc1.bias`, [4 * d]],
    [`${prefix}.mlp.fc2.weight`, [d, 4 * d]],
    [`${prefix}.mlp.fc2.bias`, [d]],
    [`${prefix}.norm_2.weight`, [d]],
    [`${prefix}.norm_2.bias`, [d]],
  ];
  if (biasKv) t.push([`${prefix}.attn.bias_k`, [1, 1, d]], [`${prefix}.attn.bias_v`, [1, 1, d]]);
  return t;
}

/** The complete state dict of an ImageBindModel with these dims: name → shape. */
export function expectedTensors(dims: ImageBindDims): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of MODALITIES) {
    const t = TOWERS[m];
    const { width: d, blocks } = dims.towers[m];
    if (t.cls) out.set(t.cls, [1, 1, d]);
    out.set(t.pos, [1, t.tokens, d]);
    out.set(t.stem, stemShape(m, d));
    if (m === 'text') out.set(TEXT_MASK, [TEXT_CONTEXT, TEXT_CONTEXT]);
    for (const norm of [t.stemNorm, t.preNorm, t.headNorm]) {
      if (norm) out.set(`${norm}.weight`, [d]).set(`${norm}.bias`, [d]);
    }
    for (let b = 0; b < blocks; b++)
      for (const [k, s] of blockTensors(`${t.blocks}.${b}`, d, t.biasKv)) out.set(k, s);
    out.set(t.headProj, [dims.out, d]);
    if (t.logScale) out.set(t.logScale, []);
  }
  return out;
}

/** Widths and depths from the checkpoint's shapes; head counts are imagebind_huge's. */
export function inferDims(ckpt: Checkpoint): ImageBindDims {
  const towers = {} as Record<EncoderModality, TowerDims>;
  for (const m of MODALITIES) {
    const t = TOWERS[m];
    const width = dimOf(ckpt, t.pos, 2, m);
    const heads = IMAGEBIND_HEADS[m];
    if (width % heads !== 0) {
      throw new CheckpointError(
        `not an ImageBind checkpoint: the ${m} width ${width} is not divisible by its ${heads} attention heads`,
      );
    }
    towers[m] = { width, blocks: countBlocks(ckpt, t.blocks), heads };
    if (towers[m].blocks === 0)
      throw new CheckpointError(`not an ImageBind checkpoint: the ${m} tower has no blocks`);
  }
  return { out: dimOf(ckpt, TOWERS.vision.headProj, 0, 'vision'), towers };
}

function dimOf(ckpt: Checkpoint, name: string, axis: number, m: string): number {
  const info = ckpt.tensors.get(name);
  if (!info) {
    throw new CheckpointError(
      `not an ImageBind checkpoint: ${name} is missing (the ${m} tower's layout cannot be read)`,
    );
  }
  if (info.shape.length <= axis)
    throw new CheckpointError(`not an ImageBind checkpoint: ${name} has shape [${info.shape.join(',')}]`);
  return info.shape[axis];
}

function countBlocks(ckpt: Checkpoint, prefix: string): number {
  let n = 0;
  while (ckpt.tensors.has(`${prefix}.${n}.attn.in_proj_weight`)) n++;
  return n;
}

/** Every expected tensor present with its shape, and nothing else; else one line naming the first problem. */
export function validateCheckpoint(ckpt: Checkpoint, dims: ImageBindDims): void {
  const expected = expectedTensors(dims);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const info = ckpt.tensors.get(name);
    if (!info) problems.push(`${name} is missing`);
    else if (!sameShape(info.shape, shape))
      problems.push(`${name} has shape [${info.shape.join(',')}], expected [${shape.join(',')}]`);
  }
  for (const name of ckpt.tensors.keys())
    if (!expected.has(name)) problems.push(`${name} is not part of ImageBind`);
  if (problems.length === 0) return;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : '';
  throw new CheckpointError(`not an ImageBind checkpoint: ${problems[0]}${more}`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** "imagebind_huge" when every width and depth is the released model's; else a description. */
export function variantName(dims: ImageBindDims): string {
  const t = dims.towers;
  const huge =
    dims.out === 1024 &&
    t.vision.width === 1280 &&
    t.vision.blocks === 32 &&
    t.text.width === 1024 &&
    t.text.blocks === 24 &&
    t.audio.width === 768 &&
    t.audio.blocks === 12 &&
    t.depth.width === 384 &&
    t.depth.blocks === 12 &&
    t.thermal.width === 768 &&
    t.thermal.blocks === 12 &&
    t.imu.width === 512 &&
    t.imu.blocks === 6;
  return huge ? 'huge' : 'custom';
}
