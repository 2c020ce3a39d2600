import type { EncoderModality } from '../../../../app/modality.js';
import { CheckpointError, type Checkpoint } from '../checkpoint/checkpoint.js';
import { float32ToHalf } from '../half.js';
import {
  bytesOf,
  DT,
  elemTypeCode,
  GraphBuilder,
  type Dim,
  type ElemType,
  type ModelHeader,
} from '../onnx/builder.js';
import {
  IMU_CHANNELS,
  IMU_SAMPLES,
  IMU_WINDOW,
  MAX_LOGIT_SCALE,
  TEXT_CONTEXT,
  TEXT_MASK,
  TOWERS,
  type ImageBindDims,
  type TowerDims,
  type TowerLayout,
} from './architecture.js';

/**
 * One ONNX graph per ImageBind tower, written op by op from the model's forward pass
 * (docs/architecture.md §12): stem → class token and positions → blocks → head →
 * postprocessor → mean over clips. Every shape ImageBind fixes is a constant here, so a graph has
 * no shape arithmetic for an execution provider to bounce to the CPU; only the batch axis and
 * ImageBind's clip axis stay dynamic.
 *
 * Exact rewrites of ImageBind's modules, chosen to avoid dynamic shapes:
 *  - Conv3d(kernel (2,14,14)) over the 2 frames PadIm2Video makes equals Conv2d over 3·2 channels.
 *  - cat(cls, patches) + pos = Pad(patches, one zero row in front) + (pos with cls added to row 0).
 *  - MultiheadAttention's extra key/value (add_bias_kv) enters as one more score column, q·bias_k,
 *    and one more term of the output, p_last·bias_v — the same sums without tiling bias_k over
 *    the batch.
 *  - The head's token selection comes before its LayerNorm (both act per token).
 *  - Text's EOT pooling, x[arange(B), argmax(ids)], is a one-hot row times the token matrix.
 *
 * Precision: fp32 graphs compute in float32. fp16 graphs hold weights in float16 and compute the
 * towers in float16 (LayerNormalization accumulates in float32), with float32 input, output and
 * postprocessor, so the pack's interface is the same either way.
 */

export type Precision = 'fp16' | 'fp32';

export interface TowerGraph {
  builder: GraphBuilder;
  header: ModelHeader;
  input: { name: string; dtype: 'float32' | 'int64'; shape: Dim[] };
  output: { name: string; dtype: 'float32'; shape: Dim[] };
  /** The postprocessor's scale (1 for vision), recorded in pack.json. */
  logitScale: number;
}

const INPUTS: Record<EncoderModality, { dtype: 'float32' | 'int64'; shape: Dim[] }> = {
  vision: { dtype: 'float32', shape: ['N', 'S', 3, 2, 224, 224] },
  text: { dtype: 'int64', shape: ['N', TEXT_CONTEXT] },
  audio: { dtype: 'float32', shape: ['N', 'S', 1, 128, 204] },
  depth: { dtype: 'float32', shape: ['N', 1, 224, 224] },
  thermal: { dtype: 'float32', shape: ['N', 1, 224, 224] },
  imu: { dtype: 'float32', shape: ['N', IMU_CHANNELS, IMU_SAMPLES] },
};

/** LayerNorm epsilons: ImageBind's trunks and heads use 1e-6; the stems' nn.LayerNorm keeps torch's 1e-5. */
const EPS_BLOCK = 1e-6;
const EPS_STEM = 1e-5;

export async function buildTowerGraph(
  ckpt: Checkpoint,
  dims: ImageBindDims,
  modality: EncoderModality,
  precision: Precision,
): Promise<TowerGraph> {
  const g = new GraphBuilder();
  const t = new Tower(g, ckpt, modality, dims.towers[modality], precision);
  const layout = TOWERS[modality];
  let x = t.tokens(modality, layout);
  for (let b = 0; b < dims.towers[modality].blocks; b++)
    x = t.block(x, `${layout.blocks}.${b}`, layout, modality);
  const pooled = modality === 'text' ? t.eotToken(x, modality) : t.firstToken(x);
  const logitScale = await readLogitScale(ckpt, layout);
  t.head(pooled, layout, dims.out, logitScale, INPUTS[modality].shape.length >= 5 ? modality : null);
  const input = { name: modality, ...INPUTS[modality] };
  const output = { name: 'embedding', dtype: 'float32' as const, shape: ['N', dims.out] as Dim[] };
  const header: ModelHeader = {
    graphName: `imagebind_${modality}`,
    doc: `ImageBind ${modality} encoder (${precision}), converted by Bindery from a checkpoint.`,
    producer: 'bindery-imagebind-converter',
    inputs: [{ name: input.name, elemType: input.dtype, shape: input.shape }],
    outputs: [{ name: output.name, elemType: 'float32', shape: output.shape }],
    metadata: { 'bindery.modality': modality, 'bindery.precision': precision },
  };
  return { builder: g, header, input, output, logitScale };
}

/** exp(log_logit_scale) clipped at 100, as LearnableLogitScaling computes it (1 without a postprocessor scale). */
async function readLogitScale(ckpt: Checkpoint, layout: TowerLayout): Promise<number> {
  if (!layout.logScale) return 1;
  const [log] = await ckpt.read(layout.logScale);
  return Math.min(Math.fround(Math.exp(log)), MAX_LOGIT_SCALE);
}

/**
 * NaN anywhere, or ±Inf outside the text mask (whose -inf entries are the causal mask), means a
 * corrupt checkpoint: refused, never converted into a graph that returns NaN embeddings.
 */
function checkFinite(name: string, v: Float32Array): Float32Array {
  const infAllowed = name === TEXT_MASK;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x !== x || (!infAllowed && (x === Infinity || x === -Infinity))) {
      throw new CheckpointError(`tensor ${name} contains ${x} at element ${i}; the checkpoint is corrupt`);
    }
  }
  return v;
}

class Tower {
  /** The element type the tower computes in. */
  private readonly T: ElemType;
  private readonly consts = new Map<string, string>();
  private readonly d: number;
  private readonly heads: number;
  private readonly hd: number;
  private readonly L: number;

  constructor(
    private readonly g: GraphBuilder,
    private readonly ckpt: Checkpoint,
    modality: EncoderModality,
    dims: TowerDims,
    precision: Precision,
  ) {
    this.T = precision === 'fp16' ? 'float16' : 'float32';
    this.d = dims.width;
    this.heads = dims.heads;
    this.hd = dims.width / dims.heads;
    this.L = TOWERS[modality].tokens;
  }

  // --- weights and constants --------------------------------------------------------------------

  private encodeT(values: Float32Array): Uint8Array {
    return this.T === 'float16' ? bytesOf(float32ToHalf(values)) : bytesOf(values);
  }

  /** A checkpoint tensor as a streamed initializer (once, however often it is used), optionally reshaped or rewritten on load. */
  private weight(
    name: string,
    opts: { dims?: number[]; as?: string; transform?: (v: Float32Array) => Promise<Float32Array> } = {},
  ): string {
    const id = opts.as ?? name;
    const known = this.consts.get(id);
    if (known) return known;
    this.consts.set(id, id);
    const dims = opts.dims ?? [...this.ckpt.tensors.get(name)!.shape];
    const count = dims.reduce((a, b) => a * b, 1);
    const width = this.T === 'float16' ? 2 : 4;
    return this.g.initializer(id, this.T, dims, {
      byteLength: count * width,
      load: async () => {
        const v = checkFinite(name, await this.ckpt.read(name));
        return this.encodeT(opts.transform ? await opts.transform(v) : v);
      },
    });
  }

  /** A constant in the tower's element type, defined once per value. */
  private constT(key: string, dims: number[], values: number[]): string {
    const id = `${key}:${values.join(',')}`;
    let name = this.consts.get(id);
    if (!name) {
      name = this.g.initializer(
        `c_${key}_${this.consts.size}`,
        this.T,
        dims,
        this.encodeT(Float32Array.from(values)),
      );
      this.consts.set(id, name);
    }
    return name;
  }

  private scalarT(value: number): string {
    return this.constT('s', [], [value]);
  }

  private i64(values: number[]): string {
    const id = `i64:${values.join(',')}`;
    let name = this.consts.get(id);
    if (!name) {
      name = this.g.constI64(`c_i64_${this.consts.size}`, values);
      this.consts.set(id, name);
    }
    return name;
  }

  private f32(value: number): string {
    const id = `f32:${value}`;
    let name = this.consts.get(id);
    if (!name) {
      name = this.g.scalar(`c_f32_${this.consts.size}`, value);
      this.consts.set(id, name);
    }
    return name;
  }

  private toT(x: string): string {
    return this.T === 'float32' ? x : this.g.op('Cast', [x], { to: elemTypeCode(this.T) });
  }

  private layerNorm(x: string, prefix: string, eps: number): string {
    return this.g.op(
      'LayerNormalization',
      [x, this.weight(`${prefix}.weight`), this.weight(`${prefix}.bias`)],
      {
        axis: -1,
        epsilon: { float: eps },
      },
    );
  }

  /** nn.Linear as Gemm with the checkpoint's [out, in] weight used as is (transB). */
  private linear(x: string, weight: string, bias: string | null): string {
    const inputs = [x, this.weight(weight)];
    if (bias) inputs.push(this.weight(bias));
    return this.g.op('Gemm', inputs, { transB: 1 });
  }

  // --- the stems: input → [B·L, D] tokens ---------------------------------------------------------

  tokens(modality: EncoderModality, layout: TowerLayout): string {
    if (modality === 'text') return this.textTokens(layout);
    const patches = modality === 'imu' ? this.imuPatches(layout) : this.convPatches(modality, layout);
    const tokens = this.withClassToken(patches, layout);
    const normed = layout.preNorm ? this.layerNorm(tokens, layout.preNorm, EPS_BLOCK) : tokens;
    return this.g.op('Reshape', [normed, this.i64([-1, this.d])]);
  }

  /** Conv patch embedding: [B, C, H, W] → [B, patches, D], then the stem's LayerNorm if it has one. */
  private convPatches(modality: EncoderModality, layout: TowerLayout): string {
    const g = this.g;
    let x = this.toT(modality);
    let weight: string;
    let strides: number[];
    if (modality === 'vision') {
      // [N,S,3,2,224,224] → [N·S, 6, 224, 224]; the Conv3d kernel [D,3,2,14,14] read as [D,6,14,14].
      x = g.op('Reshape', [x, this.i64([-1, 6, 224, 224])]);
      weight = this.weight(layout.stem, { dims: [this.d, 6, 14, 14] });
      strides = [14, 14];
    } else if (modality === 'audio') {
      x = g.op('Reshape', [x, this.i64([-1, 1, 128, 204])]);
      weight = this.weight(layout.stem);
      strides = [10, 10];
    } else {
      weight = this.weight(layout.stem);
      strides = [16, 16];
    }
    const kernel = modality === 'vision' ? [14, 14] : [16, 16];
    const conv = g.op('Conv', [x, weight], { kernel_shape: kernel, strides });
    const patches = this.L - 1;
    const seq = g.op('Transpose', [g.op('Reshape', [conv, this.i64([-1, this.d, patches])])], {
      perm: [0, 2, 1],
    });
    return layout.stemNorm ? this.layerNorm(seq, layout.stemNorm, EPS_STEM) : seq;
  }

  /** IMU: unfold(-1, 8, 8) + permute + reshape into 250 windows of 6×8, then Linear(48, D) and LayerNorm. */
  private imuPatches(layout: TowerLayout): string {
    const g = this.g;
    const windows = IMU_SAMPLES / IMU_WINDOW;
    const split = g.op('Reshape', [this.toT('imu'), this.i64([-1, IMU_CHANNELS, windows, IMU_WINDOW])]);
    const perm = g.op('Transpose', [split], { perm: [0, 2, 1, 3] });
    const flat = g.op('Reshape', [perm, this.i64([-1, IMU_CHANNELS * IMU_WINDOW])]);
    const proj = this.linear(flat, layout.stem, null);
    const normed = this.layerNorm(proj, layout.stemNorm!, EPS_STEM);
    return g.op('Reshape', [normed, this.i64([-1, windows, this.d])]);
  }

  /** cat(cls, patches) + pos, as Pad + one constant: row 0 of the constant is cls + pos[0]. */
  private withClassToken(patches: string, layout: TowerLayout): string {
    const padded = this.g.op('Pad', [patches, this.i64([0, 1, 0, 0, 0, 0])]);
    const posCls = this.weight(layout.pos, {
      as: `${layout.pos}+cls`,
      transform: async (pos) => {
        const cls = await this.ckpt.read(layout.cls!);
        for (let i = 0; i < cls.length; i++) pos[i] = Math.fround(pos[i] + cls[i]);
        return pos;
      },
    });
    return this.g.op('Add', [padded, posCls]);
  }

  /** Token embedding (Gather) + positional embedding. */
  private textTokens(layout: TowerLayout): string {
    const emb = this.g.op('Gather', [this.weight(layout.stem), 'text'], { axis: 0 });
    const x = this.g.op('Add', [emb, this.weight(layout.pos)]);
    return this.g.op('Reshape', [x, this.i64([-1, this.d])]);
  }

  // --- the trunk -----------------------------------------------------------------------------------

  /** BlockWithMasking: x + attn(norm_1(x)); x + mlp(norm_2(x)). */
  block(x: string, prefix: string, layout: TowerLayout, modality: EncoderModality): string {
    const g = this.g;
    const a = this.attention(
      this.layerNorm(x, `${prefix}.norm_1`, EPS_BLOCK),
      prefix,
      layout.biasKv,
      modality,
    );
    const x1 = g.op('Add', [x, a]);
    const h = this.linear(
      this.layerNorm(x1, `${prefix}.norm_2`, EPS_BLOCK),
      `${prefix}.mlp.fc1.weight`,
      `${prefix}.mlp.fc1.bias`,
    );
    const m = this.linear(this.gelu(h), `${prefix}.mlp.fc2.weight`, `${prefix}.mlp.fc2.bias`);
    return g.op('Add', [x1, m]);
  }

  /** nn.GELU(): x · ½ · (1 + erf(x / √2)), in the form onnxruntime fuses into one Gelu kernel. */
  private gelu(x: string): string {
    const g = this.g;
    const erf = g.op('Erf', [g.op('Div', [x, this.scalarT(Math.SQRT2)])]);
    return g.op('Mul', [g.op('Mul', [x, g.op('Add', [erf, this.scalarT(1)])]), this.scalarT(0.5)]);
  }

  /** nn.MultiheadAttention(x, x, x) on [B·L, D] tokens, with ImageBind's causal mask for text. */
  private attention(x: string, prefix: string, biasKv: boolean, modality: EncoderModality): string {
    const g = this.g;
    const [q, k, v] = g.opN(
      'Split',
      [
        this.linear(x, `${prefix}.attn.in_proj_weight`, `${prefix}.attn.in_proj_bias`),
        this.i64([this.d, this.d, this.d]),
      ],
      3,
      { axis: 1 },
    );
    const heads = (t: string, perm: number[]) =>
      g.op('Transpose', [g.op('Reshape', [t, this.i64([-1, this.L, this.heads, this.hd])])], { perm });
    const qs = g.op('Div', [heads(q, [0, 2, 1, 3]), this.scalarT(Math.sqrt(this.hd))]);
    let scores = g.op('MatMul', [qs, heads(k, [0, 2, 3, 1])]);
    if (modality === 'text') scores = g.op('Add', [scores, this.weight(TEXT_MASK)]);
    const vh = heads(v, [0, 2, 1, 3]);
    let out: string;
    if (biasKv) {
      const biasK = this.weight(`${prefix}.attn.bias_k`, { dims: [this.heads, this.hd, 1] });
      const withExtra = g.op('Concat', [scores, g.op('MatMul', [qs, biasK])], { axis: -1 });
      const p = g.op('Softmax', [withExtra], { axis: -1 });
      const pMain = g.op('Slice', [p, this.i64([0]), this.i64([this.L]), this.i64([3])]);
      const pExtra = g.op('Slice', [p, this.i64([this.L]), this.i64([this.L + 1]), this.i64([3])]);
      const biasV = this.weight(`${prefix}.attn.bias_v`, { dims: [this.heads, 1, this.hd] });
      out = g.op('Add', [g.op('MatMul', [pMain, vh]), g.op('MatMul', [pExtra, biasV])]);
    } else {
      out = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), vh]);
    }
    const merged = g.op('Reshape', [
      g.op('Transpose', [out], { perm: [0, 2, 1, 3] }),
      this.i64([-1, this.d]),
    ]);
    return this.linear(merged, `${prefix}.attn.out_proj.weight`, `${prefix}.attn.out_proj.bias`);
  }

  // --- head and postprocessor ------------------------------------------------------------------------

  /** SelectElement(index=0): the class token of each item, [B, D]. */
  firstToken(x: string): string {
    const seq = this.g.op('Reshape', [x, this.i64([-1, this.L, this.d])]);
    const first = this.g.op('Slice', [seq, this.i64([0]), this.i64([1]), this.i64([1])]);
    return this.g.op('Reshape', [first, this.i64([-1, this.d])]);
  }

  /** SelectEOSAndProject: the token at argmax(ids) (the EOT id is the largest), as onehot · tokens. */
  eotToken(x: string, modality: EncoderModality): string {
    const g = this.g;
    const seq = g.op('Reshape', [x, this.i64([-1, this.L, this.d])]);
    const eot = g.op('ArgMax', [modality], { axis: 1, keepdims: 1 });
    const positions = this.g.initializer(
      'c_positions',
      'int64',
      [1, this.L],
      bytesOf(BigInt64Array.from({ length: this.L }, (_, i) => BigInt(i))),
    );
    const onehot = g.op('Cast', [g.op('Equal', [eot, positions])], { to: elemTypeCode(this.T) });
    const picked = g.op('MatMul', [g.op('Unsqueeze', [onehot, this.i64([1])]), seq]);
    return g.op('Reshape', [picked, this.i64([-1, this.d])]);
  }

  /** LayerNorm → Linear → (float32) Normalize → logit scale → mean over clips where the input has them. */
  head(
    pooled: string,
    layout: TowerLayout,
    out: number,
    logitScale: number,
    clipInput: string | null,
  ): string {
    const g = this.g;
    const proj = this.linear(this.layerNorm(pooled, layout.headNorm, EPS_BLOCK), layout.headProj, null);
    const f32 = this.T === 'float32' ? proj : g.op('Cast', [proj], { to: DT.FLOAT });
    // torch.nn.functional.normalize: x / max(‖x‖₂, 1e-12).
    const norm = g.op('Max', [g.op('ReduceL2', [f32], { axes: [-1], keepdims: 1 }), this.f32(1e-12)]);
    const unit = g.op('Div', [f32, norm]);
    const scaled = logitScale === 1 ? unit : g.op('Mul', [unit, this.f32(logitScale)]);
    if (!clipInput) return g.op('Identity', [scaled], {}, 'embedding');
    // reduce_list: [N·S, out] → [N, S, out] → mean over S (N and S from the input's own shape).
    const ns = g.op('Shape', [clipInput], { start: 0, end: 2 });
    const shape = g.op('Concat', [ns, this.i64([out])], { axis: 0 });
    return g.op('ReduceMean', [g.op('Reshape', [scaled, shape])], { axes: [1], keepdims: 0 }, 'embedding');
  }
}
