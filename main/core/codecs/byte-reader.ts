import { open, type FileHandle } from 'node:fs/promises';

/**
 * Reading an image input (a path or bytes) by offset, so a 60 MB camera RAW file is never loaded
 * whole to find its preview (raw-preview.ts).
 */

export interface ByteReader {
  readonly size: number;
  /** Up to `length` bytes from `offset` (fewer at the end of the data, none past it). */
  read(offset: number, length: number): Promise<Buffer>;
}

function bufferReader(buf: Buffer): ByteReader {
  return {
    size: buf.length,
    read: async (offset, length) =>
      buf.subarray(Math.max(0, offset), Math.max(0, Math.min(buf.length, offset + length))),
  };
}

function fileReader(handle: FileHandle, size: number): ByteReader {
  return {
    size,
    async read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      if (offset < 0 || n === 0) return Buffer.alloc(0);
      const buf = Buffer.alloc(n);
      const { bytesRead } = await handle.read(buf, 0, n, offset);
      return buf.subarray(0, bytesRead);
    },
  };
}

/** A view that starts at `base` (for TIFF structures embedded in other containers). */
export function offsetReader(r: ByteReader, base: number): ByteReader {
  return { size: Math.max(0, r.size - base), read: (offset, length) => r.read(base + offset, length) };
}

export async function withReader<T>(input: string | Buffer, fn: (r: ByteReader) => Promise<T>): Promise<T> {
  if (typeof input !== 'string') return fn(bufferReader(input));
  const handle = await open(input, 'r');
  try {
    return await fn(fileReader(handle, (await handle.stat()).size));
  } finally {
    await handle.close();
  }
}
