/** A dense tensor as preprocessing produces it and onnxruntime consumes it (C order, little-endian). */
export interface FloatTensor {
  readonly dtype: 'float32';
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

export interface IntTensor {
  readonly dtype: 'int64';
  readonly dims: readonly number[];
  readonly data: BigInt64Array;
}

export type Tensor = FloatTensor | IntTensor;

export function floatTensor(data: Float32Array, dims: readonly number[]): FloatTensor {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length)
    throw new Error(`tensor size ${data.length} does not match dims [${dims.join(',')}]`);
  return { dtype: 'float32', dims, data };
}

/** Writes a tensor as raw little-endian bytes (x86/ARM are little-endian, so the buffer is the bytes). */
export function tensorBytes(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
