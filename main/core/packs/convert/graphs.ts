// Size: every tower's graph is built from the same block builders (attention, MLP, norms) and per-precision linear forms; split by tower, those shared pieces would scatter.
import type { EncoderModality } from '../../../../app/modality.js';
import type { Precision } from '../../../../app/pack.js';
import { CheckpointError, type Checkpoint } from './checkpoint.js';
import { float32ToHalf } from '../../encoders/half.js';
import {
  bytesOf,
  elemTypeCode,
  GraphBuilder,
  type Dim,
  type ElemType,
  type ModelHeader,
} from '../../encoders/onnx-builder.js';
import {
  IMU_CHANNELS,
  IMU_SAMPLES,
  IMU_WINDOW,
  MAX_LOGIT_SCALE,
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
 * postprocessor, so the pack's interface is the same either way. int8 graphs (for CPUs) are fp32
 * graphs whose trunk Linears (attention in/out projections, MLP) are dynamically quantised, as
 * onnxruntime's quantize_dynamic does: weights int8 per output column, symmetric; activations
 * quantised per call inside onnxruntime's DynamicQuantizeMatMul (u8 × s8 GEMM). Stems, attention
 * products, norms and heads stay float32. q8 graphs (for the WebGPU provider) are fp16 graphs whose
 * trunk Linears are MatMulNBits on 8-bit weights with a scale per 32 inputs (quantiseBlocks), with
 * fused attention (formFor) (docs/architecture.md §12).
 */

export type { Precision };

/**
 * How attention is written: `onnx`, standard operators only (every provider runs them); `fused`,
 * onnxruntime's MultiHeadAttention contrib operator where ImageBind's attention is plain (no extra
 * key/value, no mask: the vision tower), which GPU providers run as one kernel.
 */
export type AttentionForm = 'onnx' | 'fused';

/**
 * Operator forms for one graph. `residual`: the residual stream and LayerNorms in float32 (the
 * default; exact enough for any provider) or in the compute type (all-fp16 graphs).
 */
export interface GraphForm {
  attention: AttentionForm;
  residual: 'float32' | 'compute';
  /**
   * How trunk Linears are written in fp16/fp32 graphs: `dense`, MatMul on float weights; `blocks8`,
   * onnxruntime's MatMulNBits on 8-bit weights with one scale per 32 inputs (quantiseBlocks), which
   * the WebGPU provider runs with integer dot products (DP4A) at accuracy level 4.
   */
  linears: 'dense' | 'blocks8';
}
const DEFAULT_FORM: GraphForm = { attention: 'onnx', residual: 'float32', linears: 'dense' };

/**
 * The operator forms each precision is built with (docs/architecture.md §12). fp16, fp32 and int8
 * keep standard attention, which every provider runs (CoreML and the CPU have no fused kernel);
 * q8 is built for the WebGPU provider: fused attention and block-quantised Linears, 2.4× fp16's
 * images/s on an H100 (bench/gpu/README.md).
 */
export function formFor(precision: Precision): GraphForm {
  return precision === 'q8' ? { attention: 'fused', residual: 'float32', linears: 'blocks8' } : DEFAULT_FORM;
}

/** The element type a precision's matrix products compute in. */
export function computeType(precision: Precision): 'float16' | 'float32' {
  return precision === 'fp16' || precision === 'q8' ? 'float16' : 'float32';
}

/** Inputs per scale in a `blocks8` weight: MatMulNBits' block size (a multiple of 32 for DP4A). */
export const NBITS_BLOCK = 32;

export interface TowerGraph {
  builder: GraphBuilder;
  header: ModelHeader;
  input: { name: string; dtype: 'float32' | 'int64'; shape: Dim[] };
  output: { name: string; dtype: 'float32'; shape: Dim[] };
  /** The postprocessor's scale (1 for vision), recorded in pack.json. */
  logitScale: number;
  /** Bytes of the largest intermediate tensor per clip, recorded in pack.json (activationBytes). */
  activationBytes: number;
}

const INPUTS: Record<EncoderModality, { dtype: 'float32' | 'int64'; shape: Dim[] }> = {
  vision: { dtype: 'float32', shape: ['N', 'S', 3, 2, 224, 224] },
  // Tokens up to the last end-of-text are enough (the text trunk is causal): a dynamic length T ≤ 77.
  text: { dtype: 'int64', shape: ['N', 'T'] },
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
  form: Partial<GraphForm> = {},
): Promise<TowerGraph> {
  const g = new GraphBuilder();
  const t = new Tower(g, ckpt, modality, dims.towers[modality], precision, {
    ...formFor(precision),
    ...form,
  });
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
  return {
    builder: g,
    header,
    input,
    output,
    logitScale,
    activationBytes: activationBytes(dims, modality, precision),
  };
}

/**
 * The largest intermediate tensor of one clip: the MLP's hidden layer (tokens × 4·width) or the
 * attention scores (heads × tokens²), in the compute type. The runtime sizes WebGPU runs by it.
 */
function activationBytes(dims: ImageBindDims, modality: EncoderModality, precision: Precision): number {
  const { width, heads } = dims.towers[modality];
  const L = TOWERS[modality].tokens;
  return L * Math.max(4 * width, heads * L) * (computeType(precision) === 'float16' ? 2 : 4);
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

/** Row-major [rows, cols] → [cols, rows]: nn.Linear's [out, in] weight as MatMul's [in, out]. */
function transposed(v: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c];
  return out;
}

/** The weights an int8 graph quantises: each trunk block's attention projections and MLP. */
export function isTrunkLinear(name: string): boolean {
  return /\.blocks\.\d+\.(attn\.in_proj_weight|attn\.out_proj\.weight|mlp\.fc[12]\.weight)$/.test(name);
}

/**
 * Symmetric per-column int8: scale[c] = max|w[·, c]| / 127 (1 for an all-zero column) and
 * q = round(w / scale), so q ∈ [−127, 127] and zero is exact, as onnxruntime's quantiser does it.
 */
export function quantiseColumns(
  w: Float32Array,
  rows: number,
  cols: number,
): { q: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) scale[c] = Math.max(scale[c], Math.abs(w[r * cols + c]));
  for (let c = 0; c < cols; c++) scale[c] = scale[c] > 0 ? scale[c] / 127 : 1;
  const q = new Int8Array(w.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++)
      q[r * cols + c] = Math.max(-127, Math.min(127, Math.round(w[r * cols + c] / scale[c])));
  return { q, scale };
}

/**
 * nn.Linear's [out, in] weight as MatMulNBits wants it: each output row cut into blocks of
 * NBITS_BLOCK inputs (the last one padded with zeros), each with scale = max|w| / 127 (1 for an
 * all-zero block) and q = round(w / scale) + 128 as uint8, 128 being MatMulNBits' implied zero
 * point for 8 bits. Returns q as [out, blocks, NBITS_BLOCK] and the scales as [out · blocks].
 */
export function quantiseBlocks(w: Float32Array, inputs: number): { q: Uint8Array; scale: Float32Array } {
  const rows = w.length / inputs;
  const perRow = Math.ceil(inputs / NBITS_BLOCK);
  const scale = new Float32Array(rows * perRow);
  const q = new Uint8Array(rows * perRow * NBITS_BLOCK).fill(128);
  for (let r = 0; r < rows; r++)
    for (let b = 0; b < perRow; b++) {
      const from = r * inputs + b * NBITS_BLOCK;
      const to = r * inputs + Math.min(inputs, (b + 1) * NBITS_BLOCK);
      let max = 0;
      for (let i = from; i < to; i++) max = Math.max(max, Math.abs(w[i]));
      const s = max > 0 ? max / 127 : 1;
      scale[r * perRow + b] = s;
      const at = (r * perRow + b) * NBITS_BLOCK - from;
      for (let i = from; i < to; i++) q[at + i] = 128 + Math.max(-127, Math.min(127, Math.round(w[i] / s)));
    }
  return { q, scale };
}

/** Where a weight's element type comes from: the compute type (matrices) or the residual type (norms, positions). */
type WeightClass = 'compute' | 'residual';

class Tower {
  /** The element type matrix products compute in (float16 in fp16 graphs). */
  private readonly T: ElemType;
  /** The element type of the residual stream and its LayerNorms. */
  private readonly R: ElemType;
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
    private readonly precision: Precision,
    private readonly form: GraphForm,
  ) {
    this.T = computeType(precision);
    this.R = form.residual === 'compute' ? this.T : 'float32';
    this.d = dims.width;
    this.heads = dims.heads;
    this.hd = dims.width / dims.heads;
    this.L = TOWERS[modality].tokens;
  }

  // --- weights and constants --------------------------------------------------------------------

  private typeOf(cls: WeightClass): ElemType {
    return cls === 'compute' ? this.T : this.R;
  }

  private encode(values: Float32Array, type: ElemType): Uint8Array {
    return type === 'float16' ? bytesOf(float32ToHalf(values)) : bytesOf(values);
  }

  /**
   * A checkpoint tensor as a streamed initializer (once, however often it is used), in the compute
   * type or float32, optionally reshaped or rewritten on load.
   */
  private weight(
    name: string,
    opts: {
      cls?: WeightClass;
      dims?: number[];
      as?: string;
      transform?: (v: Float32Array) => Promise<Float32Array> | Float32Array;
    } = {},
  ): string {
    const id = opts.as ?? name;
    const known = this.consts.get(id);
    if (known) return known;
    this.consts.set(id, id);
    const type = this.typeOf(opts.cls ?? 'compute');
    const dims = opts.dims ?? [...this.ckpt.tensors.get(name)!.shape];
    const count = dims.reduce((a, b) => a * b, 1);
    return this.g.initializer(id, type, dims, {
      byteLength: count * (type === 'float16' ? 2 : 4),
      load: async () => {
        const v = checkFinite(name, await this.ckpt.read(name));
        return this.encode(opts.transform ? await opts.transform(v) : v, type);
      },
    });
  }

  /** nn.Linear's [out, in] weight, stored transposed as MatMul's [in, out]. */
  private matrix(name: string): string {
    const [out, inp] = this.ckpt.tensors.get(name)!.shape;
    return this.weight(name, {
      as: `${name}.T`,
      dims: [inp, out],
      transform: (v) => transposed(v, out, inp),
    });
  }

  /** A constant in the compute type, defined once per value. */
  private scalarT(value: number): string {
    const id = `s:${value}`;
    let name = this.consts.get(id);
    if (!name) {
      name = this.g.initializer(
        `c_s_${this.consts.size}`,
        this.T,
        [],
        this.encode(Float32Array.of(value), this.T),
      );
      this.consts.set(id, name);
    }
    return name;
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

  private cast(x: string, from: ElemType, to: ElemType): string {
    return from === to ? x : this.g.op('Cast', [x], { to: elemTypeCode(to) });
  }

  /** The residual type → the compute type (nothing when they are the same). */
  private toT(x: string): string {
    return this.cast(x, this.R, this.T);
  }

  /** The compute type → the residual type. */
  private toR(x: string): string {
    return this.cast(x, this.T, this.R);
  }

  /** LayerNorm on the residual stream, in its type. */
  private layerNorm(x: string, prefix: string, eps: number): string {
    const w = this.weight(`${prefix}.weight`, { cls: 'residual' });
    const b = this.weight(`${prefix}.bias`, { cls: 'residual' });
    return this.g.op('LayerNormalization', [x, w, b], { axis: -1, epsilon: { float: eps } });
  }

  /**
   * nn.Linear as MatMul (+ Add) in the compute type, on [.., in] → [.., out]; a trunk Linear of an
   * int8 graph (isTrunkLinear) as one DynamicQuantizeMatMul with the bias folded in.
   */
  private linear(x: string, weight: string, bias: string | null): string {
    if (this.precision === 'int8' && isTrunkLinear(weight)) {
      const { q, scale } = this.quantisedMatrix(weight);
      return this.g.opIn('com.microsoft', 1, 'DynamicQuantizeMatMul', [
        x,
        q,
        scale,
        '',
        bias ? this.weight(bias) : '',
      ]);
    }
    const y =
      this.form.linears === 'blocks8' && isTrunkLinear(weight)
        ? this.blockLinear(x, weight)
        : this.g.op('MatMul', [x, this.matrix(weight)]);
    return bias ? this.g.op('Add', [y, this.weight(bias)]) : y;
  }

  /** x · Wᵀ as one com.microsoft.MatMulNBits on the block-quantised weight (accuracy level 4: int8 products). */
  private blockLinear(x: string, name: string): string {
    const [out, inp] = this.ckpt.tensors.get(name)!.shape;
    let quantised: Promise<{ q: Uint8Array; scale: Float32Array }> | null = null;
    const quantise = () =>
      (quantised ??= this.ckpt.read(name).then((v) => quantiseBlocks(checkFinite(name, v), inp)));
    const blocks = Math.ceil(inp / NBITS_BLOCK);
    const q = this.g.initializer(`${name}.q8`, 'uint8', [out, blocks, NBITS_BLOCK], {
      byteLength: out * blocks * NBITS_BLOCK,
      load: async () => (await quantise()).q,
    });
    const scale = this.g.initializer(`${name}.q8scale`, this.T, [out * blocks], {
      byteLength: out * blocks * (this.T === 'float16' ? 2 : 4),
      load: async () => this.encode((await quantise()).scale, this.T),
    });
    return this.g.opIn('com.microsoft', 1, 'MatMulNBits', [x, q, scale], {
      K: inp,
      N: out,
      bits: 8,
      block_size: NBITS_BLOCK,
      accuracy_level: 4,
    });
  }

  /** nn.Linear's weight as MatMul's [in, out] int8 matrix and its per-column float32 scale. */
  private quantisedMatrix(name: string): { q: string; scale: string } {
    const [out, inp] = this.ckpt.tensors.get(name)!.shape;
    let quantised: Promise<{ q: Int8Array; scale: Float32Array }> | null = null;
    // Both initializers come from one read of the checkpoint tensor.
    const quantise = () =>
      (quantised ??= this.ckpt
        .read(name)
        .then((v) => quantiseColumns(transposed(checkFinite(name, v), out, inp), inp, out)));
    const q = this.g.initializer(`${name}.int8`, 'int8', [inp, out], {
      byteLength: inp * out,
      load: async () => {
        const { q: values } = await quantise();
        return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      },
    });
    const scale = this.g.initializer(`${name}.scale`, 'float32', [out], {
      byteLength: out * 4,
      load: async () => bytesOf((await quantise()).scale),
    });
    return { q, scale };
  }

  // --- the stems: input → [B, L, D] tokens, float32 ------------------------------------------------

  tokens(modality: EncoderModality, layout: TowerLayout): string {
    if (modality === 'text') return this.textTokens(layout);
    const patches = modality === 'imu' ? this.imuPatches(layout) : this.convPatches(modality, layout);
    const tokens = this.withClassToken(patches, layout);
    return layout.preNorm ? this.layerNorm(tokens, layout.preNorm, EPS_BLOCK) : tokens;
  }

  /** Conv patch embedding: [B, C, H, W] → [B, patches, D], then the stem's LayerNorm if it has one. */
  private convPatches(modality: EncoderModality, layout: TowerLayout): string {
    const g = this.g;
    let seq: string;
    if (modality === 'audio') {
      // Overlapping patches (kernel 16, stride 10): a real convolution.
      const x = g.op('Reshape', [this.cast(modality, 'float32', this.T), this.i64([-1, 1, 128, 204])]);
      const conv = g.op('Conv', [x, this.weight(layout.stem)], { kernel_shape: [16, 16], strides: [10, 10] });
      const flat = g.op('Reshape', [conv, this.i64([-1, this.d, this.L - 1])]);
      seq = g.op('Transpose', [flat], { perm: [0, 2, 1] });
    } else if (modality === 'vision') {
      // [N,S,3,2,224,224] → [N·S, 6, 224, 224]: the Conv3d (2,14,14) over two frames as 14×14 patches of 6 channels.
      seq = this.patchMatMul(
        g.op('Reshape', [this.cast(modality, 'float32', this.T), this.i64([-1, 6, 224, 224])]),
        layout,
        6,
        224,
        14,
      );
    } else {
      seq = this.patchMatMul(this.cast(modality, 'float32', this.T), layout, 1, 224, 16);
    }
    const r = this.toR(seq);
    return layout.stemNorm ? this.layerNorm(r, layout.stemNorm, EPS_STEM) : r;
  }

  /**
   * A convolution whose stride equals its kernel, as patches times a matrix: [B, C, S, S] →
   * [B, (S/k)², C·k·k] by Reshape and Transpose, then MatMul with the kernel read as [C·k·k, D].
   * The same sums as Conv; GPU providers run it as their fastest kernel (and onnxruntime 1.30's
   * WebGPU Conv gets 6-channel 14×14 kernels wrong).
   */
  private patchMatMul(x: string, layout: TowerLayout, c: number, size: number, k: number): string {
    const g = this.g;
    const n = size / k;
    const grid = g.op('Reshape', [x, this.i64([-1, c, n, k, n, k])]);
    const patches = g.op('Transpose', [grid], { perm: [0, 2, 4, 1, 3, 5] });
    const rows = g.op('Reshape', [patches, this.i64([-1, n * n, c * k * k])]);
    const kernel = this.weight(layout.stem, {
      as: `${layout.stem}.patches`,
      dims: [c * k * k, this.d],
      transform: (v) => transposed(v, this.d, c * k * k),
    });
    return g.op('MatMul', [rows, kernel]);
  }

  /** IMU: unfold(-1, 8, 8) + permute + reshape into 250 windows of 6×8, then Linear(48, D) and LayerNorm. */
  private imuPatches(layout: TowerLayout): string {
    const g = this.g;
    const windows = IMU_SAMPLES / IMU_WINDOW;
    const split = g.op('Reshape', [
      this.cast('imu', 'float32', this.T),
      this.i64([-1, IMU_CHANNELS, windows, IMU_WINDOW]),
    ]);
    const perm = g.op('Transpose', [split], { perm: [0, 2, 1, 3] });
    const flat = g.op('Reshape', [perm, this.i64([-1, windows, IMU_CHANNELS * IMU_WINDOW])]);
    return this.layerNorm(this.toR(this.linear(flat, layout.stem, null)), layout.stemNorm!, EPS_STEM);
  }

  /** cat(cls, patches) + pos, as Pad + one constant: row 0 of the constant is cls + pos[0]. */
  private withClassToken(patches: string, layout: TowerLayout): string {
    const padded = this.g.op('Pad', [patches, this.i64([0, 1, 0, 0, 0, 0])]);
    const posCls = this.weight(layout.pos, {
      cls: 'residual',
      as: `${layout.pos}+cls`,
      transform: async (pos) => {
        const cls = await this.ckpt.read(layout.cls!);
        for (let i = 0; i < cls.length; i++) pos[i] = Math.fround(pos[i] + cls[i]);
        return pos;
      },
    });
    return this.g.op('Add', [padded, posCls]);
  }

  /** Token embedding (Gather) + positional embedding (its first T rows). */
  private textTokens(layout: TowerLayout): string {
    const emb = this.toR(this.g.op('Gather', [this.weight(layout.stem), 'text'], { axis: 0 }));
    return this.g.op('Add', [emb, this.leading(this.weight(layout.pos, { cls: 'residual' }), [1])]);
  }

  /** The text length T, from the input's shape (text is the one tower whose length varies). */
  private textLength(): string {
    let name = this.consts.get('text-length');
    if (!name) {
      name = this.g.op('Shape', ['text'], { start: 1, end: 2 });
      this.consts.set('text-length', name);
    }
    return name;
  }

  /** The first T entries of `x` along each of `axes` (positions, the causal mask). */
  private leading(x: string, axes: number[]): string {
    const t = this.textLength();
    const ends =
      axes.length === 1
        ? t
        : this.g.op(
            'Concat',
            axes.map(() => t),
            { axis: 0 },
          );
    return this.g.op('Slice', [x, this.i64(axes.map(() => 0)), ends, this.i64(axes)]);
  }

  // --- the trunk -----------------------------------------------------------------------------------

  /**
   * BlockWithMasking: x + attn(norm_1(x)); x + mlp(norm_2(x)). The residual stream and the
   * norms stay in float32; attention and the MLP compute in the compute type.
   */
  block(x: string, prefix: string, layout: TowerLayout, modality: EncoderModality): string {
    const g = this.g;
    const h1 = this.toT(this.layerNorm(x, `${prefix}.norm_1`, EPS_BLOCK));
    const x1 = g.op('Add', [x, this.toR(this.attention(h1, prefix, layout.biasKv, modality))]);
    const h2 = this.toT(this.layerNorm(x1, `${prefix}.norm_2`, EPS_BLOCK));
    const fc1 = this.linear(h2, `${prefix}.mlp.fc1.weight`, `${prefix}.mlp.fc1.bias`);
    const m = this.linear(this.gelu(fc1), `${prefix}.mlp.fc2.weight`, `${prefix}.mlp.fc2.bias`);
    return g.op('Add', [x1, this.toR(m)]);
  }

  /** nn.GELU(): x · ½ · (1 + erf(x / √2)), in the form onnxruntime fuses into one Gelu kernel. */
  private gelu(x: string): string {
    const g = this.g;
    const erf = g.op('Erf', [g.op('Div', [x, this.scalarT(Math.SQRT2)])]);
    return g.op('Mul', [g.op('Mul', [x, g.op('Add', [erf, this.scalarT(1)])]), this.scalarT(0.5)]);
  }

  /** nn.MultiheadAttention(x, x, x) on [B, L, D] tokens, with ImageBind's causal mask for text. */
  private attention(x: string, prefix: string, biasKv: boolean, modality: EncoderModality): string {
    if (this.form.attention === 'fused' && !biasKv && modality !== 'text')
      return this.fusedAttention(x, prefix);
    const g = this.g;
    const qkv = this.linear(x, `${prefix}.attn.in_proj_weight`, `${prefix}.attn.in_proj_bias`);
    const [q, k, v] = g.opN('Split', [qkv, this.i64([this.d, this.d, this.d])], 3, { axis: 2 });
    const heads = (t: string, perm: number[]) =>
      g.op('Transpose', [g.op('Reshape', [t, this.i64([0, -1, this.heads, this.hd])])], { perm });
    const qs = g.op('Div', [heads(q, [0, 2, 1, 3]), this.scalarT(Math.sqrt(this.hd))]);
    let scores = g.op('MatMul', [qs, heads(k, [0, 2, 3, 1])]);
    if (modality === 'text') scores = g.op('Add', [scores, this.leading(this.weight(TEXT_MASK), [0, 1])]);
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
      this.i64([0, -1, this.d]),
    ]);
    return this.linear(merged, `${prefix}.attn.out_proj.weight`, `${prefix}.attn.out_proj.bias`);
  }

  /**
   * The same attention as one com.microsoft.MultiHeadAttention: q, k, v [B, L, D] from the
   * in-projection without its bias, which the operator adds itself; scaled by 1/√(head size).
   */
  private fusedAttention(x: string, prefix: string): string {
    const g = this.g;
    const qkv = this.linear(x, `${prefix}.attn.in_proj_weight`, null);
    const [q, k, v] = g.opN('Split', [qkv, this.i64([this.d, this.d, this.d])], 3, { axis: 2 });
    const bias = this.weight(`${prefix}.attn.in_proj_bias`);
    const out = g.opIn('com.microsoft', 1, 'MultiHeadAttention', [q, k, v, bias], { num_heads: this.heads });
    return this.linear(out, `${prefix}.attn.out_proj.weight`, `${prefix}.attn.out_proj.bias`);
  }

  // --- head and postprocessor ------------------------------------------------------------------------

  /** SelectElement(index=0): the class token of each item, [B, D]. */
  firstToken(x: string): string {
    const first = this.g.op('Slice', [x, this.i64([0]), this.i64([1]), this.i64([1])]);
    return this.g.op('Reshape', [first, this.i64([-1, this.d])]);
  }

  /** SelectEOSAndProject: the token at argmax(ids) (the EOT id is the largest), as onehot · tokens. */
  eotToken(x: string, modality: EncoderModality): string {
    const g = this.g;
    const eot = g.op('ArgMax', [modality], { axis: 1, keepdims: 1 });
    const positions = this.g.initializer(
      'c_positions',
      'int64',
      [1, this.L],
      bytesOf(BigInt64Array.from({ length: this.L }, (_, i) => BigInt(i))),
    );
    const onehot = g.op('Cast', [g.op('Equal', [eot, this.leading(positions, [1])])], {
      to: elemTypeCode(this.R),
    });
    const picked = g.op('MatMul', [g.op('Unsqueeze', [onehot, this.i64([1])]), x]);
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
    const projected = this.linear(
      this.toT(this.layerNorm(pooled, layout.headNorm, EPS_BLOCK)),
      layout.headProj,
      null,
    );
    const proj = this.cast(projected, this.T, 'float32');
    // torch.nn.functional.normalize: x / max(‖x‖₂, 1e-12).
    const norm = g.op('Max', [g.op('ReduceL2', [proj], { axes: [-1], keepdims: 1 }), this.f32(1e-12)]);
    const unit = g.op('Div', [proj, norm]);
    const scaled = logitScale === 1 ? unit : g.op('Mul', [unit, this.f32(logitScale)]);
    if (!clipInput) return g.op('Identity', [scaled], {}, 'embedding');
    // reduce_list: [N·S, out] → [N, S, out] → mean over S (N and S from the input's own shape).
    const ns = g.op('Shape', [clipInput], { start: 0, end: 2 });
    const shape = g.op('Concat', [ns, this.i64([out])], { axis: 0 });
    return g.op('ReduceMean', [g.op('Reshape', [scaled, shape])], { axes: [1], keepdims: 0 }, 'embedding');
  }
}
