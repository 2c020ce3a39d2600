import type { FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import {
  bytesPerElement,
  CheckpointError,
  readAt,
  toFloat32,
  type Checkpoint,
  type TensorDtype,
  type TensorInfo,
} from './checkpoint.js';

/**
 * safetensors (huggingface.co/docs/safetensors): an 8-byte little-endian header length, a JSON
 * header mapping each tensor to its dtype, shape and [begin, end) byte range, then the data. No
 * code runs; the header is validated strictly (ranges inside the file, sizes that match shapes).
 */

const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const DTYPES: Record<string, TensorDtype> = { F32: 'F32', F16: 'F16', BF16: 'BF16', F64: 'F64' };

const EntrySchema = z
  .object({
    dtype: z.string(),
    shape: z.array(z.number().int().nonnegative()),
    data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
  })
  .strict();

interface Located extends TensorInfo {
  begin: number;
  end: number;
}

export async function readSafetensors(file: string, fh: FileHandle, size: number): Promise<Checkpoint> {
  const headerLen = Number((await readAt(fh, 0, 8)).readBigUInt64LE(0));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > size)
    throw new CheckpointError(`safetensors header of ${headerLen} bytes does not fit the file (truncated?)`);
  const header = parseHeader(await readAt(fh, 8, headerLen));
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, Located>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    tensors.set(name, locate(name, raw, size - dataStart));
  }
  return {
    file,
    format: 'safetensors',
    tensors,
    async read(name) {
      const t = tensors.get(name);
      if (!t) throw new CheckpointError(`${file}: no tensor named ${name}`);
      return toFloat32(await readAt(fh, dataStart + t.begin, t.end - t.begin), t.dtype);
    },
    close: () => fh.close(),
  };
}

function parseHeader(bytes: Buffer): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new CheckpointError(`safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CheckpointError('safetensors header is not a JSON object');
  return json as Record<string, unknown>;
}

function locate(name: string, raw: unknown, dataBytes: number): Located {
  const parsed = EntrySchema.safeParse(raw);
  if (!parsed.success) throw new CheckpointError(`safetensors entry ${name} is malformed`);
  const {
    dtype: rawDtype,
    shape,
    data_offsets: [begin, end],
  } = parsed.data;
  const dtype = DTYPES[rawDtype];
  if (!dtype) throw new CheckpointError(`tensor ${name} holds ${rawDtype}; model weights are floating point`);
  const expected = shape.reduce((a, b) => a * b, 1) * bytesPerElement(dtype);
  if (end < begin || end - begin !== expected)
    throw new CheckpointError(`tensor ${name}: its byte range does not match its shape [${shape.join(',')}]`);
  if (end > dataBytes)
    throw new CheckpointError(`tensor ${name} ends past the end of the file (truncated download?)`);
  return { name, dtype, shape, begin, end };
}
