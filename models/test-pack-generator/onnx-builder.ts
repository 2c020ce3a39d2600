import onnxProto from 'onnx-proto';
import { mulberry32 } from '../../app/random.js';
export { mulberry32 };

/**
 * A minimal, deterministic ONNX graph builder for the test pack. Everything here is pure: no
 * clock, no Math.random, no platform-dependent maths, so the same calls give the same bytes.
 */

const { onnx } = onnxProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

export const OPSET = 17;
/** IR version 8 is the one that goes with opset 17 (ONNX 1.12). */
export const IR_VERSION = 8;

const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

export type Dim = number | string;
export type AttrValue = number | number[] | { float: number };

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** FNV-1a over a string: gives each weight tensor its own seed, so editing one graph leaves the others byte-identical. */
export function seedFrom(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Uniform weights with the given standard deviation. Uniform rather than Gaussian because
 * Box-Muller needs log/cos, whose last bits are not guaranteed across JS engines; sqrt is exact.
 */
export function uniformWeights(seedText: string, count: number, std: number): Float32Array {
  const next = mulberry32(seedFrom(seedText));
  const half = Math.sqrt(3) * std;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * half;
  return out;
}

// ---------------------------------------------------------------------------------------------
// float16

/** float32 → IEEE half bits, round to nearest even (weights are stored as fp16 to keep the pack small). */
export function toHalfBits(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent.
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && half & 1) ? 1 : 0));
}

function halfBytes(values: Float32Array): Uint8Array {
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = toHalfBits(values[i]);
  return new Uint8Array(bits.buffer);
}

function bytesOf(view: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}

// ---------------------------------------------------------------------------------------------
// Graph builder

function attribute(name: string, value: AttrValue): IAttributeProto {
  if (Array.isArray(value)) return { name, type: AT.INTS, ints: value };
  if (typeof value === 'object') return { name, type: AT.FLOAT, f: value.float };
  return { name, type: AT.INT, i: value };
}

function valueInfo(name: string, elemType: number, shape: readonly Dim[]): IValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

export interface ExternalDataSink {
  /** File name, relative to the model file, that receives the weights. */
  readonly location: string;
  chunks: Uint8Array[];
  length: number;
}

export class GraphBuilder {
  private readonly nodes: INodeProto[] = [];
  private readonly initializers: ITensorProto[] = [];
  private counter = 0;

  /** `external`: store weight initialisers in a side file, as large real models must (> 2 GB protobuf limit). */
  constructor(
    private readonly prefix: string,
    private readonly external?: ExternalDataSink,
  ) {}

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.counter++}`;
    const attribute_ = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.nodes.push({
      opType,
      input: inputs,
      output: [out],
      name: `${opType}_${this.counter++}`,
      attribute: attribute_,
    });
    return out;
  }

  constI64(name: string, values: readonly number[]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: DT.INT64, rawData: bytesOf(data) });
    return name;
  }

  constF32(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push({ name, dims, dataType: DT.FLOAT, rawData: bytesOf(values) });
    return name;
  }

  /** Scalar float32 constant (0-d tensor). */
  scalar(name: string, value: number): string {
    this.initializers.push({
      name,
      dims: [],
      dataType: DT.FLOAT,
      rawData: bytesOf(new Float32Array([value])),
    });
    return name;
  }

  /** Random weights stored as float16 and cast to float32 in the graph (half the bytes on disk). */
  weightF16(name: string, dims: number[], std: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const raw = halfBytes(uniformWeights(`${this.prefix}/${name}`, count, std));
    this.initializers.push(this.placeData({ name: `${name}_f16`, dims, dataType: DT.FLOAT16 }, raw));
    return this.op('Cast', [`${name}_f16`], { to: DT.FLOAT }, name);
  }

  private placeData(tensor: ITensorProto, raw: Uint8Array): ITensorProto {
    const sink = this.external;
    if (!sink) return { ...tensor, rawData: raw };
    const offset = sink.length;
    sink.chunks.push(raw);
    sink.length += raw.length;
    const externalData = [
      { key: 'location', value: sink.location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.length) },
    ];
    return { ...tensor, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData };
  }

  /** Serialises the model. Protobuf encoding of the same message is byte-stable. */
  encode(opts: {
    graphName: string;
    doc: string;
    input: { name: string; dtype: 'float32' | 'int64'; shape: readonly Dim[] };
    output: { name: string; shape: readonly Dim[] };
    metadata: Record<string, string>;
  }): Uint8Array {
    const inType = opts.input.dtype === 'int64' ? DT.INT64 : DT.FLOAT;
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'bindery-test-pack-generator',
      producerVersion: '1',
      docString: opts.doc,
      graph: {
        name: opts.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo(opts.input.name, inType, opts.input.shape)],
        output: [valueInfo(opts.output.name, DT.FLOAT, opts.output.shape)],
      },
      metadataProps: Object.entries(opts.metadata).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
