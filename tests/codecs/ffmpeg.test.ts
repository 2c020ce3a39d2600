import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { locateBinary, probeMedia, runFfmpeg, runFfprobe } from '../../main/core/codecs/ffmpeg.js';

let dir: string;
const media = (name: string): string => path.join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bindery-ffmpeg-'));
  await runFfmpeg([
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=22050:duration=1.5',
    '-ac',
    '2',
    media('tone.wav'),
  ]);
  await runFfmpeg([
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=2',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=2',
    '-c:v', 'libx264', '-c:a', 'aac', '-shortest', media('av.mp4'),
  ]); // prettier-ignore
  await runFfmpeg(['-i', media('av.mp4'), '-c', 'copy', '-metadata:s:v', 'rotate=90', media('rotated.mp4')]);
  // An MP3 with cover art: ffprobe lists the picture as a video stream, but it is not a video.
  await runFfmpeg([
    '-f', 'lavfi', '-i', 'sine=duration=1',
    '-f', 'lavfi', '-i', 'color=red:size=64x64:duration=1',
    '-map', '0:a', '-map', '1:v', '-frames:v', '1', '-c:v', 'mjpeg', '-disposition:v', 'attached_pic', media('cover.mp3'),
  ]); // prettier-ignore
  writeFileSync(media('garbage.mp4'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
  writeFileSync(media('empty.wav'), Buffer.alloc(0));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Children of this test process that are ffmpeg/ffprobe, zombies included (`<defunct>`). */
function mediaChildren(): string[] {
  if (process.platform !== 'linux') return []; // `ps --ppid` is procps-only
  const out = execFileSync('ps', ['-o', 'pid=,stat=,comm=', '--ppid', String(process.pid)], {
    encoding: 'utf8',
  });
  return out.split('\n').filter((l) => /ffmpeg|ffprobe/.test(l));
}

describe('locating the binaries', () => {
  const saved = process.env.BINDERY_FFMPEG;
  afterEach(() => {
    if (saved === undefined) delete process.env.BINDERY_FFMPEG;
    else process.env.BINDERY_FFMPEG = saved;
  });

  it('finds ffmpeg and ffprobe on PATH', () => {
    expect(path.isAbsolute(locateBinary('ffmpeg'))).toBe(true);
    expect(path.basename(locateBinary('ffprobe'))).toMatch(/^ffprobe/);
  });

  it('honours BINDERY_FFMPEG, and says clearly when it is wrong', async () => {
    process.env.BINDERY_FFMPEG = locateBinary('ffprobe');
    expect(locateBinary('ffmpeg')).toBe(process.env.BINDERY_FFMPEG);
    process.env.BINDERY_FFMPEG = path.join(dir, 'no-such-ffmpeg');
    expect(() => locateBinary('ffmpeg')).toThrow(/BINDERY_FFMPEG points to .*no-such-ffmpeg/);
    await expect(runFfmpeg(['-version'])).rejects.toThrow(/BINDERY_FFMPEG/);
  });

  it('explains a missing binary when nothing is on PATH', () => {
    const savedPath = process.env.PATH;
    process.env.PATH = dir;
    try {
      expect(() => locateBinary('ffprobe')).toThrow(/ffprobe not found on PATH.*BINDERY_FFPROBE/);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});

describe('runFfmpeg', () => {
  it('returns stdout as a Buffer', async () => {
    const out = await runFfmpeg([
      '-f',
      'lavfi',
      '-i',
      'sine=sample_rate=8000:duration=0.5',
      '-f',
      's16le',
      'pipe:1',
    ]);
    expect(out.length).toBe(8000 * 0.5 * 2);
  });

  it('kills a run that passes its time limit, and reaps it', async () => {
    const started = Date.now();
    // -re paces the input in real time, so this would take 30 s.
    const run = runFfmpeg(['-re', '-f', 'lavfi', '-i', 'sine=duration=30', '-f', 'f32le', 'pipe:1'], {
      timeoutMs: 400,
    });
    await expect(run).rejects.toThrow(/^ffmpeg timed out after 400 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(mediaChildren()).toEqual([]);
  });

  it('kills a run whose output passes maxBytes', async () => {
    const run = runFfmpeg(['-f', 'lavfi', '-i', 'sine=duration=600', '-f', 'f32le', 'pipe:1'], {
      maxBytes: 100_000,
    });
    await expect(run).rejects.toThrow(/output exceeded 100000 bytes/);
    expect(mediaChildren()).toEqual([]);
  });

  it('can be cancelled with an AbortSignal', async () => {
    const ac = new AbortController();
    const run = runFfmpeg(['-re', '-f', 'lavfi', '-i', 'sine=duration=30', '-f', 'f32le', 'pipe:1'], {
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 100);
    await expect(run).rejects.toThrow(/cancelled/);
  });

  it('turns a failure into a one-line Error carrying the end of stderr', async () => {
    const err = await runFfmpeg(['-i', media('missing.wav'), '-f', 'null', '-']).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^ffmpeg exited with code \d+: .*No such file or directory/);
    expect((err as Error).message).not.toContain('\n');
  });

  it('runs ffprobe the same way', async () => {
    const out = await runFfprobe([
      '-show_entries',
      'format=format_name',
      '-of',
      'csv=p=0',
      media('tone.wav'),
    ]);
    expect(out.toString().trim()).toBe('wav');
  });
});

describe('probeMedia', () => {
  it('describes an audio file', async () => {
    const p = await probeMedia(media('tone.wav'));
    expect(p.video).toBeUndefined();
    expect(p.audio).toMatchObject({ sampleRate: 22050, channels: 2, codec: 'pcm_s16le', streamIndex: 0 });
    expect(p.durationS).toBeCloseTo(1.5, 3);
  });

  it('describes a video with sound', async () => {
    const p = await probeMedia(media('av.mp4'));
    expect(p.video).toMatchObject({
      width: 320,
      height: 240,
      fps: 25,
      rotation: 0,
      codec: 'h264',
      frames: 50,
    });
    expect(p.audio).toMatchObject({ sampleRate: 48000, channels: 1, codec: 'aac' });
    expect(p.durationS).toBeGreaterThan(1.9);
  });

  it('reports rotation metadata as a clockwise quarter turn', async () => {
    const p = await probeMedia(media('rotated.mp4'));
    expect([90, 270]).toContain(p.video?.rotation);
    expect(p.video).toMatchObject({ width: 320, height: 240 });
  });

  it('does not mistake cover art for a video', async () => {
    const p = await probeMedia(media('cover.mp3'));
    expect(p.video).toBeUndefined();
    expect(p.audio?.codec).toBe('mp3');
  });

  it('rejects garbage and empty files with an Error', async () => {
    await expect(probeMedia(media('garbage.mp4'))).rejects.toThrow(/^ffprobe exited with code/);
    await expect(probeMedia(media('empty.wav'))).rejects.toThrow(Error);
    await expect(probeMedia(media('nope.wav'))).rejects.toThrow(/No such file/);
  });
});
