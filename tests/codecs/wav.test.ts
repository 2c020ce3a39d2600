import { execFileSync } from 'node:child_process';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../main/core/codecs/ffmpeg.js';
import { parseWavHeader, readWavChannel0, readWavInfo } from '../../main/core/codecs/wav.js';
import { tempDir } from '../support/cli.js';

/**
 * The WAV reader must give exactly the samples ffmpeg gives (the path every other format takes,
 * checked against ImageBind's own tensors): channel 0, float32, bit for bit, for every sample
 * format and layout it accepts; and it must hand anything else back to ffmpeg.
 */

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('bindery-wav-'));
});
afterAll(async () => cleanup?.());

const ffmpeg = (...args: string[]) => execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);

/** A 1.3 s three-tone signal with noise, written by ffmpeg in the given codec and channel count. */
function writeWav(name: string, codec: string, channels: number, rate = 22050): string {
  const file = path.join(dir, name);
  ffmpeg(
    '-f',
    'lavfi',
    '-i',
    `aevalsrc=0.6*sin(440*2*PI*t)+0.3*sin(1234*2*PI*t+1)+0.05*(random(0)-0.5):s=${rate}:d=1.3`,
    '-af',
    `pan=${channels}c|${Array.from({ length: channels }, (_, c) => `c${c}=${1 / (c + 1)}*c0`).join('|')}`,
    '-c:a',
    codec,
    file,
  );
  return file;
}

async function viaFfmpeg(file: string): Promise<Float32Array> {
  const buf = await runFfmpeg([
    '-i',
    file,
    '-af',
    'pan=mono|c0=c0',
    '-f',
    'f32le',
    '-acodec',
    'pcm_f32le',
    'pipe:1',
  ]);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
}

describe('WAV reader', () => {
  it.each([
    ['pcm_u8', 1],
    ['pcm_s16le', 1],
    ['pcm_s16le', 2],
    ['pcm_s24le', 2],
    ['pcm_s32le', 1],
    ['pcm_f32le', 2],
    ['pcm_f64le', 1],
    ['pcm_s16le', 6], // written as WAVE_FORMAT_EXTENSIBLE
  ] as const)('reads %s with %i channel(s) exactly as ffmpeg decodes it', async (codec, channels) => {
    const file = writeWav(`${codec}-${channels}.wav`, codec, channels);
    const info = await readWavInfo(file);
    expect(info, codec).not.toBeNull();
    expect(info!.channels).toBe(channels);
    const ours = await readWavChannel0(file, info!);
    const theirs = await viaFfmpeg(file);
    expect(ours.length).toBe(theirs.length);
    expect(Buffer.from(ours.buffer).equals(Buffer.from(theirs.buffer))).toBe(true);
    // A window is the same samples as the whole file's slice.
    const part = await readWavChannel0(file, info!, 1000, 5000);
    expect(Array.from(part)).toEqual(Array.from(ours.subarray(1000, 6000)));
  });

  it('stops at the end of a truncated file and reads what it holds', async () => {
    const file = writeWav('cut.wav', 'pcm_s16le', 2);
    const full = (await readWavInfo(file))!;
    await truncate(file, full.dataOffset + 1001 * full.blockAlign + 1);
    const info = (await readWavInfo(file))!;
    expect(info.frames).toBe(1001);
    expect((await readWavChannel0(file, info)).length).toBe(1001);
  });

  it('hands everything else to ffmpeg', async () => {
    const mp3ish = path.join(dir, 'not.wav');
    await writeFile(mp3ish, Buffer.from('ID3\u0004\u0000\u0000 not a wav at all'));
    expect(await readWavInfo(mp3ish)).toBeNull();
    const adpcm = path.join(dir, 'adpcm.wav');
    ffmpeg('-f', 'lavfi', '-i', 'sine=d=0.5', '-c:a', 'adpcm_ms', adpcm);
    expect(await readWavInfo(adpcm)).toBeNull();
    const s16 = await readFile(writeWav('rf.wav', 'pcm_s16le', 1));
    const rf64 = Buffer.from(s16);
    rf64.write('RF64', 0, 'latin1');
    expect(parseWavHeader(rf64, rf64.length)).toBeNull();
    // A 65535-channel header cannot state its frame size in 16 bits: not ours either.
    const wide = Buffer.from(s16);
    wide.writeUInt16LE(65535, 22);
    expect(parseWavHeader(wide, wide.length)).toBeNull();
  });
});
