import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { mulberry32 } from '../../app/random.js';

/**
 * Seeded synthetic media for tests and benchmarks: real files in real formats, made with sharp,
 * a PCM WAV writer and ffmpeg's lavfi sources. Deterministic for a given seed.
 */

const run = promisify(execFile);

/** A JPEG (or PNG by extension) of coloured blocks, different for every seed. */
export async function writeImage(file: string, seed: number, width = 320, height = 240): Promise<void> {
  const rnd = mulberry32(seed);
  const data = Buffer.alloc(width * height * 3);
  const block = 16 + Math.floor(rnd() * 48);
  const palette = Array.from({ length: 12 }, () => [rnd() * 255, rnd() * 255, rnd() * 255]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = palette[(Math.floor(x / block) * 7 + Math.floor(y / block) * 3 + seed) % palette.length];
      data.set(
        c.map((v) => Math.round(v)),
        (y * width + x) * 3,
      );
    }
  }
  const img = sharp(data, { raw: { width, height, channels: 3 } });
  await (file.endsWith('.png') ? img.png() : img.jpeg({ quality: 90 })).toFile(file);
}

/** 16-bit PCM WAV bytes. `channels` interleaved from per-channel sample functions. */
export function wavBytes(sampleRate: number, channels: Float32Array[]): Buffer {
  const n = channels[0].length;
  const c = channels.length;
  const buf = Buffer.alloc(44 + n * c * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * c * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(c, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * c * 2, 28);
  buf.writeUInt16LE(c * 2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * c * 2, 40);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const v = Math.max(-1, Math.min(1, channels[ch][i]));
      buf.writeInt16LE(Math.round(v * 32767), 44 + (i * c + ch) * 2);
    }
  }
  return buf;
}

/** A mono WAV of a few seeded tones with a little noise, `seconds` long. */
export async function writeTone(file: string, seed: number, seconds = 3, sampleRate = 22050): Promise<void> {
  const rnd = mulberry32(seed);
  const freqs = [110 + rnd() * 880, 220 + rnd() * 1760, 55 + rnd() * 220];
  const s = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < s.length; i++) {
    const t = i / sampleRate;
    s[i] =
      (0.25 * freqs.reduce((acc, f, k) => acc + Math.sin(2 * Math.PI * f * t * (1 + k * 0.01 * t)), 0)) / 3 +
      0.01 * (rnd() - 0.5);
  }
  await writeFile(file, wavBytes(sampleRate, [s]));
}

/** An H.264 MP4 from ffmpeg's test sources, with a sine soundtrack unless `audio` is false. */
export async function writeVideo(file: string, seed: number, seconds = 3, audio = true): Promise<void> {
  const pattern = ['testsrc2', 'smptebars', 'rgbtestsrc', 'testsrc'][seed % 4];
  const args = [
    '-y',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `${pattern}=size=320x240:rate=15:duration=${seconds}`,
  ];
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=${200 + (seed % 9) * 90}:duration=${seconds}`);
  args.push('-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast');
  if (audio) args.push('-c:a', 'aac', '-shortest');
  await run('ffmpeg', [...args, file]);
}

/** A library folder of generated photos, recordings and videos; returns the file paths. */
export async function writeLibrary(
  dir: string,
  counts: { images?: number; audio?: number; videos?: number },
  seed = 1,
): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < (counts.images ?? 0); i++) files.push(path.join(dir, `photo-${seed}-${i}.jpg`));
  for (let i = 0; i < (counts.audio ?? 0); i++) files.push(path.join(dir, `sound-${seed}-${i}.wav`));
  for (let i = 0; i < (counts.videos ?? 0); i++) files.push(path.join(dir, `clip-${seed}-${i}.mp4`));
  await Promise.all(
    files.map((f, i) => {
      const s = seed * 100_003 + i;
      if (f.endsWith('.jpg')) return writeImage(f, s);
      if (f.endsWith('.wav')) return writeTone(f, s);
      return writeVideo(f, s);
    }),
  );
  return files;
}
