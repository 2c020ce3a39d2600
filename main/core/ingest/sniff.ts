import { fileTypeFromBuffer } from 'file-type';
import { open } from 'node:fs/promises';
import type { MediaKind } from '../../../app/modality.js';

export interface Sniffed {
  kind: MediaKind;
  mime: string;
}

/** Containers that hold audio-only or video streams alike; the decoder's probe settles which. */
const AMBIGUOUS: Record<string, MediaKind> = {
  'application/ogg': 'audio',
  'application/x-matroska': 'video',
  'application/mp4': 'video',
};

const HEAD_BYTES = 4100;

/**
 * The media kind from the file's content, never its name: a text file called photo.jpg is not a
 * photo. Throws a readable Error for empty or unsupported files.
 */
export async function sniffFile(file: string): Promise<Sniffed> {
  const head = await readHead(file, HEAD_BYTES);
  if (head.length === 0) throw new Error('empty file (0 bytes)');
  const type = await fileTypeFromBuffer(head);
  if (!type) throw new Error('unsupported file type (content not recognised as an image, audio or video)');
  const kind = kindOfMime(type.mime);
  if (!kind) throw new Error(`unsupported file type ${type.mime} (.${type.ext})`);
  return { kind, mime: type.mime };
}

export function kindOfMime(mime: string): MediaKind | undefined {
  if (AMBIGUOUS[mime]) return AMBIGUOUS[mime];
  const top = mime.split('/')[0];
  if (top === 'image' || top === 'audio' || top === 'video') return top;
  return undefined;
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
