import { open, type FileHandle } from 'node:fs/promises';

/**
 * Plain WAV files read without ffmpeg (docs/preprocessing.md, "Audio"): PCM (8-bit unsigned, 16-,
 * 24-, 32-bit signed) and IEEE float (32, 64 bit), in a RIFF container, including
 * WAVE_FORMAT_EXTENSIBLE with either subformat. Channel 0 comes out as float32 with exactly the
 * scaling ffmpeg (and torchaudio.load, which ImageBind calls) apply: int / 2^(bits−1), u8 as
 * (x − 128) / 128, doubles rounded to float. Starting an ffprobe and an ffmpeg process per
 * recording cost more than the rest of its preprocessing together; anything else (compressed
 * audio, RF64, odd layouts) returns null here and goes to ffmpeg.
 */

export interface WavInfo {
  encoding: 'int' | 'uint8' | 'float';
  bits: 8 | 16 | 24 | 32 | 64;
  channels: number;
  sampleRate: number;
  /** Byte offset of the first frame, and how many whole frames the file really holds. */
  dataOffset: number;
  frames: number;
  blockAlign: number;
}

const HEADER_SCAN_BYTES = 64 * 1024;
const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

/** The layout of a plain WAV file, or null when ffmpeg should decode it. */
export async function readWavInfo(file: string): Promise<WavInfo | null> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(size, HEADER_SCAN_BYTES));
    await fh.read(head, 0, head.length, 0);
    return parseWavHeader(head, size);
  } finally {
    await fh.close();
  }
}

/** Parses the RIFF chunks up to `data`; `fileSize` bounds a data chunk that claims more than exists. */
export function parseWavHeader(head: Buffer, fileSize: number): WavInfo | null {
  if (
    head.length < 12 ||
    head.toString('latin1', 0, 4) !== 'RIFF' ||
    head.toString('latin1', 8, 12) !== 'WAVE'
  )
    return null;
  let fmt: Omit<WavInfo, 'dataOffset' | 'frames'> | null = null;
  for (let at = 12; at + 8 <= head.length;) {
    const id = head.toString('latin1', at, at + 4);
    const len = head.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') fmt = parseFmt(head.subarray(body, Math.min(head.length, body + len)));
    else if (id === 'data') {
      if (!fmt) return null;
      const available = Math.max(0, fileSize - body);
      // A streamed file may state 0 or 0xFFFFFFFF: the data then runs to the end of the file.
      const declared = len === 0 || len === 0xffffffff ? available : Math.min(len, available);
      return { ...fmt, dataOffset: body, frames: Math.floor(declared / fmt.blockAlign) };
    }
    at = body + len + (len % 2);
  }
  return null;
}

function parseFmt(b: Buffer): Omit<WavInfo, 'dataOffset' | 'frames'> | null {
  if (b.length < 16) return null;
  let tag = b.readUInt16LE(0);
  const channels = b.readUInt16LE(2);
  const sampleRate = b.readUInt32LE(4);
  const blockAlign = b.readUInt16LE(12);
  const bits = b.readUInt16LE(14);
  if (tag === FORMAT_EXTENSIBLE) {
    if (b.length < 26) return null;
    tag = b.readUInt16LE(24); // the subformat GUID begins with the format tag
  }
  const encoding =
    tag === FORMAT_FLOAT && (bits === 32 || bits === 64)
      ? 'float'
      : tag === FORMAT_PCM && bits === 8
        ? 'uint8'
        : tag === FORMAT_PCM && (bits === 16 || bits === 24 || bits === 32)
          ? 'int'
          : null;
  if (!encoding || channels < 1 || sampleRate < 1 || blockAlign !== (channels * bits) / 8) return null;
  return { encoding, bits: bits as WavInfo['bits'], channels, sampleRate, blockAlign };
}

/** Channel 0 of frames [start, start + count) (clamped to the file) as float32. */
export async function readWavChannel0(
  file: string,
  info: WavInfo,
  start = 0,
  count = info.frames,
): Promise<Float32Array> {
  const first = Math.max(0, Math.min(Math.floor(start), info.frames));
  const n = Math.max(0, Math.min(Math.floor(count), info.frames - first));
  const fh = await open(file, 'r');
  try {
    return await readFrames(fh, info, first, n);
  } finally {
    await fh.close();
  }
}

/** Reads in blocks of frames, so a many-channel file never needs all channels in memory at once. */
async function readFrames(fh: FileHandle, info: WavInfo, first: number, n: number): Promise<Float32Array> {
  const out = new Float32Array(n);
  const framesPerRead = Math.max(1, Math.floor((4 * 1024 * 1024) / info.blockAlign));
  const buf = Buffer.alloc(Math.min(n, framesPerRead) * info.blockAlign);
  for (let done = 0; done < n;) {
    const frames = Math.min(framesPerRead, n - done);
    const { bytesRead } = await fh.read(
      buf,
      0,
      frames * info.blockAlign,
      info.dataOffset + (first + done) * info.blockAlign,
    );
    const got = Math.floor(bytesRead / info.blockAlign);
    for (let i = 0; i < got; i++) out[done + i] = sample(buf, i * info.blockAlign, info);
    if (got < frames) return out.subarray(0, done + got); // the file shrank while being read
    done += frames;
  }
  return out;
}

function sample(b: Buffer, at: number, info: WavInfo): number {
  switch (info.bits) {
    case 8:
      return (b[at] - 128) / 128;
    case 16:
      return b.readInt16LE(at) / 32768;
    case 24:
      return b.readIntLE(at, 3) / 8388608;
    case 32:
      // ffmpeg converts int32 to float first, then scales by 2^-31 (exact): the same as fround here.
      return info.encoding === 'float' ? b.readFloatLE(at) : Math.fround(b.readInt32LE(at)) / 2147483648;
    case 64:
      return b.readDoubleLE(at);
  }
}
