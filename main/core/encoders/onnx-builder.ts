// Size: the graph builder's node helpers over one protobuf model.
import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';

/**
 * Bindery's own ONNX graph builder (docs/architecture.md §12). It builds the test pack's
 * tiny graphs and the ImageBind graphs converted from a checkpoint.
 *
 * Weights can be given as bytes or as a loader that is called only while the file is written, so
 * a multi-GB model is streamed to disk one tensor at a time and never sits in memory whole. The
 * protobuf is laid out by hand around the initializers (everything else is encoded by onnx-proto),
 * in the field order protobufjs itself uses, so a graph written in one piece or streamed is the
 * same bytes. Weights go inline or into one external-data file beside the graph, which ONNX
 * needs past the 2 GB protobuf limit.
 */

const { onnx } = onnxProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

export const OPSET = 17;
/** IR version 8 is the one that goes with opset 17 (ONNX 1.12). */
export const IR_VERSION = 8;

export const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

export type Dim = number | string;

/** Smaller tensors (shapes, scalars) stay inline even when a model has external data, as onnx's own tools do. */
const EXTERNAL_MIN_BYTES = 1024;
export type AttrValue = number | number[] | { float: number } | { tensor: ITensorProto };
export type ElemType = 'float32' | 'float16' | 'int64' | 'bool' | 'int8' | 'uint8';

const ELEM: Record<ElemType, number> = {
  float32: DT.FLOAT,
  float16: DT.FLOAT16,
  int64: DT.INT64,
  bool: DT.BOOL,
  int8: DT.INT8,
  uint8: DT.UINT8,
};

export function elemTypeCode(t: ElemType): number {
  return ELEM[t];
}

/** Weight bytes now, or a loader called once while the model is written. */
export type WeightSource = Uint8Array | { byteLength: number; load: () => Promise<Uint8Array> };

interface Initializer {
  name: string;
  dims: number[];
  dataType: number;
  source: WeightSource;
}

export interface ModelHeader {
  graphName: string;
  doc: string;
  producer: string;
  inputs: { name: string; elemType: ElemType; shape: readonly Dim[] }[];
  outputs: { name: string; elemType: ElemType; shape: readonly Dim[] }[];
  metadata: Record<string, string>;
}

export interface WriteOptions {
  /** Weights go to this file beside the model (ONNX external data). */
  externalData?: string;
  /** Checked before each weight is loaded. */
  signal?: AbortSignal;
  /** Called after each weight is written, with its size. */
  onWeight?: (bytes: number) => void;
}

export interface WrittenFile {
  file: string;
  bytes: number;
  sha256: string;
}

function attribute(name: string, value: AttrValue): IAttributeProto {
  if (Array.isArray(value)) return { name, type: AT.INTS, ints: value };
  if (typeof value === 'object' && 'tensor' in value) return { name, type: AT.TENSOR, t: value.tensor };
  if (typeof value === 'object') return { name, type: AT.FLOAT, f: value.float };
  return { name, type: AT.INT, i: value };
}

function valueInfo(name: string, elemType: ElemType, shape: readonly Dim[]): IValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: ELEM[elemType], shape: { dim } } } };
}

export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}

export class GraphBuilder {
  private readonly nodes: INodeProto[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly names = new Set<string>();
  /** Operator domains beyond the default one that nodes use (e.g. com.microsoft), with their versions. */
  private readonly domains = new Map<string, number>();
  private counter = 0;

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

  /** A node of another operator domain (onnxruntime's `com.microsoft` contrib ops); one output. */
  opIn(
    domain: string,
    version: number,
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
  ): string {
    this.domains.set(domain, version);
    const out = this.op(opType, inputs, attrs);
    this.nodes[this.nodes.length - 1].domain = domain;
    return out;
  }

  /** Adds a node with several outputs (Split, for instance) and returns their names. */
  opN(opType: string, inputs: string[], outputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const names = Array.from({ length: outputs }, () => `${opType.toLowerCase()}_${this.counter++}`);
    const attribute_ = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.nodes.push({
      opType,
      input: inputs,
      output: names,
      name: `${opType}_${this.counter++}`,
      attribute: attribute_,
    });
    return names;
  }

  /** A weight or constant tensor; its name is returned for use as an op input. */
  initializer(name: string, elemType: ElemType, dims: readonly number[], source: WeightSource): string {
    if (this.names.has(name)) throw new Error(`initializer ${name} is defined twice`);
    this.names.add(name);
    this.initializers.push({ name, dims: [...dims], dataType: ELEM[elemType], source });
    return name;
  }

  constI64(name: string, values: readonly number[]): string {
    return this.initializer(name, 'int64', [values.length], bytesOf(BigInt64Array.from(values.map(BigInt))));
  }

  constF32(name: string, dims: number[], values: Float32Array): string {
    return this.initializer(name, 'float32', dims, bytesOf(values));
  }

  /** Scalar float32 constant (0-d tensor). */
  scalar(name: string, value: number): string {
    return this.initializer(name, 'float32', [], bytesOf(new Float32Array([value])));
  }

  /** Total bytes of all weights: decides whether a model needs external data. */
  weightBytes(): number {
    return this.initializers.reduce((n, i) => n + byteLength(i.source), 0);
  }

  nodeCount(): number {
    return this.nodes.length;
  }

  /**
   * The whole model in memory (small graphs). With `externalData`, the weights go to a second
   * buffer, to be saved under that name beside the model.
   */
  encode(header: ModelHeader, externalData?: string): { model: Uint8Array; external?: Uint8Array } {
    const chunks: Uint8Array[] = [];
    const ext: Uint8Array[] = [];
    for (const seg of this.layout(header, externalData)) {
      if (seg instanceof Uint8Array) chunks.push(seg);
      else (seg.external ? ext : chunks).push(loaded(seg.init));
    }
    const model = concatBytes(chunks);
    return externalData ? { model, external: concatBytes(ext) } : { model };
  }

  /**
   * Streams the model to `<dir>/<file>` (and its weights to `<dir>/<externalData>` when given),
   * loading one weight at a time, hashing as it goes; each file appears under its name only once
   * complete.
   */
  async write(
    dir: string,
    file: string,
    header: ModelHeader,
    opts: WriteOptions = {},
  ): Promise<WrittenFile[]> {
    const { externalData, signal, onWeight } = opts;
    const model = await HashedFile.create(path.join(dir, file));
    const ext = externalData ? await HashedFile.create(path.join(dir, externalData)) : undefined;
    try {
      for (const seg of this.layout(header, externalData)) {
        if (seg instanceof Uint8Array) {
          await model.write(seg);
          continue;
        }
        signal?.throwIfAborted();
        const bytes = await load(seg.init);
        await (seg.external ? ext! : model).write(bytes);
        onWeight?.(bytes.length);
      }
      const written = [await model.commit(file)];
      if (ext) written.push(await ext.commit(externalData!));
      return written;
    } catch (e) {
      await model.abort();
      await ext?.abort();
      throw e;
    }
  }

  /**
   * The byte layout: literal protobuf pieces and the places where weight bytes go. Field order is
   * protobufjs's (by field number), so `encode` output equals onnx.ModelProto.encode's.
   */
  private layout(header: ModelHeader, externalData?: string): Segment[] {
    const before = onnx.ModelProto.encode({
      irVersion: IR_VERSION,
      producerName: header.producer,
      producerVersion: '1',
      docString: header.doc,
    }).finish();
    const graphHead = onnx.GraphProto.encode({ node: this.nodes, name: header.graphName }).finish();
    const graphTail = onnx.GraphProto.encode({
      input: header.inputs.map((i) => valueInfo(i.name, i.elemType, i.shape)),
      output: header.outputs.map((o) => valueInfo(o.name, o.elemType, o.shape)),
    }).finish();
    const after = onnx.ModelProto.encode({
      opsetImport: [
        { domain: '', version: OPSET },
        ...[...this.domains].map(([domain, version]) => ({ domain, version })),
      ],
      metadataProps: Object.entries(header.metadata).map(([key, value]) => ({ key, value })),
    }).finish();
    const inits: Segment[] = [];
    let graphLen = graphHead.length + graphTail.length;
    let extOffset = 0;
    for (const init of this.initializers) {
      const n = byteLength(init.source);
      const external = externalData !== undefined && n >= EXTERNAL_MIN_BYTES;
      const meta = onnx.TensorProto.encode({
        name: init.name,
        dims: init.dims,
        dataType: init.dataType,
        ...(external ? externalFields(externalData, extOffset, n) : {}),
      }).finish();
      const rawHead = external ? new Uint8Array(0) : concatBytes([tag(9), varint(n)]);
      const tensorLen = meta.length + rawHead.length + (external ? 0 : n);
      const head = concatBytes([tag(5), varint(tensorLen), meta, rawHead]);
      inits.push(head, { init, external });
      graphLen += head.length + (external ? 0 : n);
      extOffset += external ? n : 0;
    }
    return [before, tag(7), varint(graphLen), graphHead, ...inits, graphTail, after];
  }
}

type Segment = Uint8Array | { init: Initializer; external: boolean };

function externalFields(location: string, offset: number, length: number): Partial<ITensorProto> {
  return {
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ],
  };
}

function byteLength(s: WeightSource): number {
  return s instanceof Uint8Array ? s.length : s.byteLength;
}

function loaded(init: Initializer): Uint8Array {
  if (!(init.source instanceof Uint8Array))
    throw new Error(`initializer ${init.name} is streamed; write() the model instead of encode()`);
  return init.source;
}

async function load(init: Initializer): Promise<Uint8Array> {
  if (init.source instanceof Uint8Array) return init.source;
  const bytes = await init.source.load();
  if (bytes.length !== init.source.byteLength) {
    throw new Error(
      `initializer ${init.name}: loaded ${bytes.length} bytes, ${init.source.byteLength} declared`,
    );
  }
  return bytes;
}

/** A protobuf key for a length-delimited field. */
function tag(field: number): Uint8Array {
  return varint((field << 3) | 2);
}

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
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

/** A file written under a temporary name, hashed as it is written, renamed when complete. */
class HashedFile {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;

  private constructor(
    private readonly fh: FileHandle,
    private readonly tmp: string,
    private readonly dir: string,
  ) {}

  static async create(target: string): Promise<HashedFile> {
    const tmp = `${target}.partial`;
    return new HashedFile(await open(tmp, 'w'), tmp, path.dirname(target));
  }

  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done);
      done += bytesWritten;
    }
    this.hash.update(bytes);
    this.bytes += bytes.length;
  }

  async commit(name: string): Promise<WrittenFile> {
    await this.fh.sync();
    await this.fh.close();
    await rename(this.tmp, path.join(this.dir, name));
    return { file: name, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
  }
}
