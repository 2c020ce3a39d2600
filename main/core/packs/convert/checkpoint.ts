import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { readTorchZip } from './torch-zip.js';
import { readSafetensors } from './safetensors.js';
import { halfToFloat32 } from '../../encoders/half.js';

/**
 * Reading model checkpoints without Python (docs/architecture.md §11).
 *
 * Two formats: PyTorch's `torch.save` archive (a zip holding `data.pkl` and one raw entry per
 * storage) and safetensors (a JSON header, then raw tensors). Both are opened by reading only
 * their index — the pickle or the header — and each tensor is read from disk when it is asked for,
 * so converting a 4.5 GB checkpoint never holds more than one tensor of it in memory.
 */

export type TensorDtype = 'F32' | 'F16' | 'BF16' | 'F64';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: TensorDtype;
  readonly shape: readonly number[];
}

export interface Checkpoint {
  readonly file: string;
  readonly format: 'pytorch' | 'safetensors';
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** The tensor's values as float32, in row-major order (strided views are gathered). */
  read(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

/** A checkpoint that cannot be read: the message says which file and what is wrong. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** Recognises the format by content (never by extension) and opens the checkpoint's index. */
export async function openCheckpoint(file: string): Promise<Checkpoint> {
  const abs = path.resolve(file);
  const info = await stat(abs).catch((e: NodeJS.ErrnoException) => {
    throw new CheckpointError(`${abs}: ${e.code === 'ENOENT' ? 'not found' : e.message}`);
  });
  if (!info.isFile()) throw new CheckpointError(`${abs}: not a regular file`);
  const fh = await open(abs, 'r');
  try {
    const head = await readAt(fh, 0, Math.min(16, info.size));
    const format = sniffCheckpoint(head);
    if (format === 'zip') return await readTorchZip(abs, fh, info.size);
    if (format === 'safetensors') return await readSafetensors(abs, fh, info.size);
    throw new CheckpointError(`${abs}: ${describeUnknown(head)}`);
  } catch (e) {
    await fh.close();
    throw new CheckpointError(`${abs}: ${(e as Error).message}`);
  }
}

/** What the first bytes say the file is; exported so installers can tell a checkpoint from a pack. */
export function sniffCheckpoint(head: Uint8Array): 'zip' | 'safetensors' | 'legacy-pickle' | null {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04)
    return 'zip';
  if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5) return 'legacy-pickle';
  if (head.length >= 9) {
    const headerLen = Buffer.from(head).readBigUInt64LE(0);
    if (headerLen > 1n && headerLen < 1n << 32n && head[8] === 0x7b /* { */) return 'safetensors';
  }
  return null;
}

function describeUnknown(head: Uint8Array): string {
  if (sniffCheckpoint(head) === 'legacy-pickle') {
    return (
      'a checkpoint in the legacy format of torch < 1.6, which Bindery does not read; re-save it ' +
      'with torch.save(torch.load(path), new_path) on any recent torch'
    );
  }
  if (head.length === 0) return 'empty file, not a checkpoint';
  return 'neither a PyTorch checkpoint (torch.save zip) nor a safetensors file';
}

export async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new CheckpointError(`file ends at byte ${position + done}: truncated`);
    done += bytesRead;
  }
  return buf;
}

const BYTES: Record<TensorDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

export function bytesPerElement(dtype: TensorDtype): number {
  return BYTES[dtype];
}

/** Raw little-endian elements of `dtype` → float32. */
export function toFloat32(raw: Buffer, dtype: TensorDtype): Float32Array {
  const n = raw.length / BYTES[dtype];
  const aligned = raw.byteOffset % BYTES[dtype] === 0 ? raw : Buffer.from(raw);
  switch (dtype) {
    case 'F32':
      return new Float32Array(aligned.buffer, aligned.byteOffset, n).slice();
    case 'F64':
      return Float32Array.from(new Float64Array(aligned.buffer, aligned.byteOffset, n));
    case 'F16':
      return halfToFloat32(new Uint16Array(aligned.buffer, aligned.byteOffset, n));
    case 'BF16': {
      const bits = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = bits[i] << 16;
      return new Float32Array(out.buffer);
    }
  }
}
