import { open } from 'node:fs/promises';
import type { Checkpoint } from '../../main/core/packs/convert/checkpoint.js';
import { float32ToHalf } from '../../main/core/encoders/half.js';

/**
 * Writes a checkpoint's tensors as safetensors (for tests): optionally in F16/BF16, and with its
 * tensor list edited (`edit` may rename, reshape or drop names; a new or reshaped tensor is zeros).
 */
export async function writeSafetensors(
  file: string,
  ckpt: Checkpoint,
  dtype: 'F32' | 'F16' | 'BF16' = 'F32',
  edit?: (shapes: Map<string, number[]>) => void,
): Promise<void> {
  const shapes = new Map([...ckpt.tensors].map(([k, t]) => [k, [...t.shape]]));
  edit?.(shapes);
  const width = dtype === 'F32' ? 4 : 2;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, b) => a * b, 1) * width;
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const fh = await open(file, 'w');
  try {
    await fh.write(len);
    await fh.write(json);
    for (const [name, shape] of shapes) {
      const count = shape.reduce((a, b) => a * b, 1);
      const original = ckpt.tensors.get(name);
      const same = original && original.shape.join() === shape.join();
      const values = same ? await ckpt.read(name) : new Float32Array(count);
      await fh.write(encode(values, dtype));
    }
  } finally {
    await fh.close();
  }
}

function encode(values: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (dtype === 'F16') return new Uint8Array(float32ToHalf(values).buffer);
  // bfloat16: the top half of the float32 bits, rounded to nearest even.
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return new Uint8Array(out.buffer);
}
