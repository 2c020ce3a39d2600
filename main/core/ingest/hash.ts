import { createBLAKE3 } from 'hash-wasm';
import { open } from 'node:fs/promises';

/** Files up to this size are hashed whole; larger ones by sampled chunks plus their size. */
export const FULL_HASH_LIMIT = 64 * 1024 * 1024;
const SAMPLES = 16;
const SAMPLE_BYTES = 256 * 1024;
const READ_BYTES = 1024 * 1024;

/**
 * Content identity. BLAKE3 of the whole file ("b3:…"); for large videos, of 16 evenly spaced
 * 256 KiB chunks plus the size ("b3s:…"), which reads 4 MiB instead of gigabytes. Sampling can
 * only confuse two large files of identical size that differ solely between samples, which real
 * media (compressed streams, headers with durations) practically never do.
 */
export async function contentHash(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const hasher = await createBLAKE3();
    hasher.init();
    if (size <= FULL_HASH_LIMIT) {
      await feed(fh, hasher, 0, size);
      return `b3:${hasher.digest('hex')}`;
    }
    hasher.update(`size:${size};`);
    for (let i = 0; i < SAMPLES; i++) {
      const at = Math.floor(((size - SAMPLE_BYTES) * i) / (SAMPLES - 1));
      await feed(fh, hasher, at, SAMPLE_BYTES);
    }
    return `b3s:${hasher.digest('hex')}`;
  } finally {
    await fh.close();
  }
}

type FileHandle = Awaited<ReturnType<typeof open>>;

async function feed(
  fh: FileHandle,
  hasher: { update(d: Uint8Array): unknown },
  start: number,
  length: number,
) {
  const buf = Buffer.alloc(Math.min(READ_BYTES, Math.max(length, 1)));
  let pos = start;
  const end = start + length;
  while (pos < end) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
    if (bytesRead === 0) throw new Error('file shrank while being read (truncated or still being written)');
    hasher.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}
