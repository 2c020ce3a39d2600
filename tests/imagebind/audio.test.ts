import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUDIO_PARAMS } from '../../app/pack.js';
import { preprocessAudio, waveformToClips } from '../../main/core/imagebind/audio.js';
import { clipTimepoints } from '../../main/core/imagebind/clip-sampler.js';
import { runFfmpeg } from '../../main/core/codecs/ffmpeg.js';
import { resample, resampleKernel, resampledLength } from '../../main/core/imagebind/resample.js';
import { FIXTURES_DIR, ORACLE_DIR, requireShared } from '../support/paths.js';

const P = DEFAULT_AUDIO_PARAMS;
const BINS = P.numMelBins;
const T = P.targetLength;
/** What zero padding becomes after normalisation. */
const PAD = Math.fround(Math.fround(0 - Math.fround(P.mean)) / Math.fround(P.std));
/** A silent frame: log(float32 epsilon), normalised. */
const SILENT = (Math.log(1.1920928955078125e-7) - P.mean) / P.std;

interface Diff {
  mean: number;
  p99: number;
  max: number;
}

function diff(a: Float32Array, b: Float32Array): Diff {
  expect(a.length).toBe(b.length);
  const d = Float64Array.from(a, (v, i) => Math.abs(v - b[i])).sort();
  const mean = d.reduce((s, v) => s + v, 0) / d.length;
  return { mean, p99: d[Math.floor(0.99 * (d.length - 1))], max: d[d.length - 1] };
}

/** Value at [clip, 0, bin, frame]. */
const at = (data: Float32Array, clip: number, bin: number, frame: number): number =>
  data[(clip * BINS + bin) * T + frame];

let dir: string;
const media = (name: string): string => path.join(dir, name);
const lavfi = (src: string): string[] => ['-f', 'lavfi', '-i', src];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bindery-audio-'));
  const tones = 'aevalsrc=0.4*sin(2*PI*440*t)+0.2*sin(2*PI*3000*t*(1+t/4)):s=44100:d=3';
  await runFfmpeg([...lavfi(tones), media('src.wav')]);
  await Promise.all([
    runFfmpeg(['-i', media('src.wav'), '-c:a', 'libmp3lame', '-b:a', '192k', media('src.mp3')]),
    runFfmpeg(['-i', media('src.wav'), '-c:a', 'flac', media('src.flac')]),
    runFfmpeg(['-i', media('src.wav'), '-c:a', 'libopus', '-b:a', '128k', media('src.ogg')]),
    runFfmpeg(['-i', media('src.wav'), '-c:a', 'aac', '-b:a', '192k', media('src.m4a')]),
    runFfmpeg([
      ...lavfi('testsrc2=size=160x120:rate=25:duration=3'),
      '-i',
      media('src.wav'),
      '-c:v',
      'libx264',
      '-c:a',
      'aac',
      '-b:a',
      '192k',
      media('video.mp4'),
    ]),
    // Channel 0 carries a 440 Hz tone, channel 1 something else entirely.
    runFfmpeg([
      ...lavfi('aevalsrc=0.5*sin(2*PI*440*t)|0.3*sin(2*PI*2500*t)+0.3*sin(2*PI*6000*t):s=44100:d=3'),
      media('stereo.wav'),
    ]),
    runFfmpeg([...lavfi('aevalsrc=0.5*sin(2*PI*440*t):s=44100:d=3'), media('left.wav')]),
    runFfmpeg([...lavfi('anullsrc=r=48000:cl=mono'), '-t', '3', media('silence.wav')]),
    runFfmpeg([...lavfi('aevalsrc=0.5*sin(2*PI*440*t):s=16000:d=0.01'), media('tiny.wav')]),
    runFfmpeg([...lavfi('aevalsrc=0.5*sin(2*PI*440*t):s=16000:d=1'), '-t', '0', media('nosamples.wav')]),
    runFfmpeg([...lavfi('aevalsrc=0.3*sin(2*PI*(200+40*t)*t):s=22050:d=40'), media('long.wav')]),
    runFfmpeg([
      ...lavfi('aevalsrc=0.3*sin(2*PI*(200+40*t)*t):s=44100:d=40'),
      '-c:a',
      'libmp3lame',
      '-b:a',
      '192k',
      media('long.mp3'),
    ]),
  ]);
  // A download cut off half-way (the MP4 index is at the end), noise with an audio name, nothing.
  await runFfmpeg(['-i', media('src.wav'), '-c:a', 'aac', media('cut.m4a')]);
  truncateSync(media('cut.m4a'), Math.floor(statSync(media('cut.m4a')).size / 2));
  writeFileSync(
    media('noise.mp3'),
    Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 256)),
  );
  writeFileSync(media('empty.wav'), Buffer.alloc(0));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ImageBind oracle', () => {
  it('reproduces load_and_transform_audio_data on dog_audio.wav', async () => {
    requireShared();
    const expected = JSON.parse(
      readFileSync(path.join(ORACLE_DIR, 'imagebind-preprocess', 'expected.json'), 'utf8'),
    );
    const buf = readFileSync(path.join(ORACLE_DIR, 'imagebind-preprocess', 'dog_audio.wav.f32'));
    const oracle = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    const started = performance.now();
    const got = await preprocessAudio(path.join(FIXTURES_DIR, 'dog_audio.wav'));
    const ms = performance.now() - started;
    expect(got.tensor.dims).toEqual([3, 1, 128, 204]);
    expect(got.durationS * 16000).toBe(expected.audio[0].resampled_num_samples);
    expect(got.clips.map((c) => [c.startS, c.endS])).toEqual(expected.audio[0].clip_timepoints_s);
    const d = diff(got.tensor.data, oracle);
    console.log(
      `audio oracle dog_audio.wav: mean |Δ| ${d.mean.toExponential(3)}, p99 ${d.p99.toExponential(3)}, max ${d.max.toExponential(3)} (first call ${ms.toFixed(0)} ms)`,
    );
    expect(d.mean).toBeLessThanOrEqual(0.01);
    expect(d.p99).toBeLessThanOrEqual(0.15);
    // The values expected.json spells out, for a readable failure if the tensor file moves.
    expected.audio[0].frames_0_to_4_clip0_bins_0_to_127.forEach((row: number[], f: number) =>
      row.forEach((v, b) => expect(at(got.tensor.data, 0, b, f)).toBeCloseTo(v, 3)),
    );
  });

  it('is fast once warm', async () => {
    const file = path.join(FIXTURES_DIR, 'dog_audio.wav');
    await preprocessAudio(file);
    const runs = 5;
    const started = performance.now();
    for (let i = 0; i < runs; i++) await preprocessAudio(file);
    const ms = (performance.now() - started) / runs;
    console.log(
      `audio throughput: ${ms.toFixed(1)} ms per file (dog_audio.wav, 2.6 s stereo 44.1 kHz, probe + decode + resample + 3 clips)`,
    );
    expect(ms).toBeLessThan(5000);
  });
});

describe('clipTimepoints (ConstantClipsPerVideoSampler)', () => {
  it('spreads clip starts evenly over duration − clip', () => {
    expect(clipTimepoints(10, 2, 3)).toEqual([
      { startS: 0, endS: 2 },
      { startS: 4, endS: 6 },
      { startS: 8, endS: 10 },
    ]);
    expect(clipTimepoints(10, 2, 5).map((c) => c.startS)).toEqual([0, 2, 4, 6, 8]);
  });

  it('repeats the only possible window when the input is shorter than a clip', () => {
    expect(clipTimepoints(1, 2, 3)).toEqual([
      { startS: 0, endS: 2 },
      { startS: 0, endS: 2 },
      { startS: 0, endS: 2 },
    ]);
    expect(clipTimepoints(7.3, 2, 1)).toEqual([{ startS: 0, endS: 2 }]);
  });

  it("gives Python's float(Fraction) values, not a naive double computation", () => {
    // Values from pytorchvideo itself; (25.157/3)*3 in doubles is 25.157000000000004.
    expect(clipTimepoints(27.157, 2, 4)).toEqual([
      { startS: 0, endS: 2 },
      { startS: 8.385666666666667, endS: 10.385666666666667 },
      { startS: 16.771333333333335, endS: 18.771333333333335 },
      { startS: 25.157, endS: 27.157 },
    ]);
    expect(clipTimepoints(123.456789, 0.1, 7)[3]).toEqual({ startS: 61.6783945, endS: 61.778394500000005 });
  });
});

describe('resample (torchaudio sinc_interp_hann)', () => {
  it('reduces the rates by their gcd and keeps ceil(n·new/orig) samples', () => {
    expect(resampleKernel(44100, 16000)).toMatchObject({ orig: 441, target: 160, width: 17 });
    expect(resampleKernel(48000, 16000)).toMatchObject({ orig: 3, target: 1, width: 19 });
    expect(resampledLength(115110, 44100, 16000)).toBe(41764);
    expect(resample(new Float32Array(115110), 44100, 16000).length).toBe(41764);
    expect(resample(new Float32Array(1000), 48000, 16000).length).toBe(334);
    expect(resample(new Float32Array(5), 8000, 16000).length).toBe(10);
  });

  it('leaves a signal already at the target rate alone', () => {
    const x = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i));
    expect(resample(x, 16000, 16000)).toEqual(x);
  });

  it('preserves a tone in the passband and removes one above the new Nyquist', () => {
    const tone = (f: number, sr: number): Float32Array =>
      Float32Array.from({ length: sr }, (_, i) => Math.sin((2 * Math.PI * f * i) / sr));
    for (const [sr, f] of [
      [44100, 1000],
      [48000, 3000],
      [8000, 440],
    ]) {
      const y = resample(tone(f, sr), sr, 16000);
      let worst = 0;
      for (let j = 200; j < y.length - 200; j++) {
        worst = Math.max(worst, Math.abs(y[j] - Math.sin((2 * Math.PI * f * j) / 16000)));
      }
      expect(worst).toBeLessThan(1e-3);
    }
    const y = resample(tone(12000, 44100), 44100, 16000);
    const rms = Math.sqrt(y.slice(200, -200).reduce((s, v) => s + v * v, 0) / (y.length - 400));
    expect(rms).toBeLessThan(0.01);
  });
});

describe('waveformToClips', () => {
  const tone = (seconds: number): Float32Array =>
    Float32Array.from(
      { length: Math.round(seconds * 16000) },
      (_, i) => 0.3 * Math.sin((2 * Math.PI * 700 * i) / 16000),
    );

  it('zero-pads a 2 s clip (198 frames) to 204 frames', () => {
    const { tensor, clips, durationS } = waveformToClips(tone(3), P);
    expect(tensor.dims).toEqual([3, 1, 128, 204]);
    expect(durationS).toBe(3);
    expect(clips[2]).toEqual({ startS: 1, endS: 3 });
    for (let b = 0; b < BINS; b += 17) {
      expect(at(tensor.data, 1, b, 197)).not.toBeCloseTo(PAD, 3);
      for (let f = 198; f < T; f++) expect(at(tensor.data, 1, b, f)).toBe(PAD);
    }
  });

  it('cuts to targetLength when there are more frames', () => {
    const full = waveformToClips(tone(4), { ...P, clipDurationS: 3 });
    const cut = waveformToClips(tone(4), { ...P, clipDurationS: 3, targetLength: 150 });
    expect(cut.tensor.dims).toEqual([3, 1, 128, 150]);
    for (let b = 0; b < BINS; b += 9) {
      for (let f = 0; f < 150; f += 7)
        expect(cut.tensor.data[(2 * BINS + b) * 150 + f]).toBe(at(full.tensor.data, 2, b, f));
    }
  });

  it('turns input shorter than one 25 ms window into pure padding instead of failing', () => {
    // ImageBind itself divides by zero here (abs(p) / n_frames); Bindery keeps the file indexable.
    for (const n of [0, 1, 399]) {
      const { tensor, durationS, clips } = waveformToClips(new Float32Array(n).fill(0.1), P);
      expect(tensor.dims).toEqual([3, 1, 128, 204]);
      expect(durationS).toBe(n / 16000);
      expect(clips).toEqual([
        { startS: 0, endS: 2 },
        { startS: 0, endS: 2 },
        { startS: 0, endS: 2 },
      ]);
      expect(tensor.data.every((v) => v === PAD)).toBe(true);
    }
    const one = waveformToClips(new Float32Array(400), P).tensor.data;
    expect(at(one, 0, 5, 0)).toBeCloseTo(SILENT, 5);
    expect(at(one, 0, 5, 1)).toBe(PAD);
  });

  it('floors silence at log(epsilon)', () => {
    const { tensor } = waveformToClips(new Float32Array(48000), P);
    expect(at(tensor.data, 0, 0, 0)).toBeCloseTo(SILENT, 5);
    expect(at(tensor.data, 2, 127, 197)).toBeCloseTo(SILENT, 5);
    expect(at(tensor.data, 2, 127, 198)).toBe(PAD);
  });
});

describe('preprocessAudio on real files', () => {
  it('uses channel 0 of a stereo file, as ImageBind does, and never a downmix', async () => {
    const stereo = await preprocessAudio(media('stereo.wav'));
    const left = await preprocessAudio(media('left.wav'));
    expect(stereo.tensor.data).toEqual(left.tensor.data);
    await runFfmpeg(['-i', media('stereo.wav'), '-ac', '1', media('downmix.wav')]);
    const downmix = await preprocessAudio(media('downmix.wav'));
    expect(diff(stereo.tensor.data, downmix.tensor.data).mean).toBeGreaterThan(0.05);
  });

  it('handles silence', async () => {
    const { tensor, durationS } = await preprocessAudio(media('silence.wav'));
    expect(durationS).toBe(3);
    expect(at(tensor.data, 1, 64, 100)).toBeCloseTo(SILENT, 5);
  });

  it('handles a 10 ms file', async () => {
    const { tensor, durationS } = await preprocessAudio(media('tiny.wav'));
    expect(durationS).toBe(0.01);
    expect(tensor.data.every((v) => v === PAD)).toBe(true);
  });

  it('decodes MP3, FLAC, Ogg/Opus, M4A/AAC and a video soundtrack alike', async () => {
    const wav = await preprocessAudio(media('src.wav'));
    expect(wav.durationS).toBe(3);
    const flac = await preprocessAudio(media('src.flac'));
    expect(flac.tensor.data).toEqual(wav.tensor.data);
    for (const name of ['src.mp3', 'src.ogg', 'src.m4a', 'video.mp4']) {
      const got = await preprocessAudio(media(name));
      expect(got.tensor.dims).toEqual([3, 1, 128, 204]);
      expect(Math.abs(got.durationS - 3)).toBeLessThan(0.06);
      // Lossy codecs drop inaudible detail, mostly in near-silent bins; the picture stays the same.
      const d = diff(got.tensor.data, wav.tensor.data);
      expect(d.mean, name).toBeLessThan(0.1);
    }
  });

  it('decodes only the clip windows of a long file, matching a full decode', async () => {
    // PCM seeks are sample-exact, so the windows are the full decode's to rounding.
    const wavFull = await preprocessAudio(media('long.wav'), P, { fullDecodeMaxS: 600 });
    const wavWindowed = await preprocessAudio(media('long.wav'), P, { fullDecodeMaxS: 10 });
    expect(wavWindowed.clips).toEqual(wavFull.clips);
    expect(wavWindowed.durationS).toBe(wavFull.durationS);
    expect(diff(wavWindowed.tensor.data, wavFull.tensor.data).max).toBeLessThan(1e-4);
    // MP3's probed duration includes encoder padding (~0.05 s), so its windows sit slightly later.
    const mp3Full = await preprocessAudio(media('long.mp3'), P, { fullDecodeMaxS: 600 });
    const mp3Windowed = await preprocessAudio(media('long.mp3'), P, { fullDecodeMaxS: 10 });
    mp3Windowed.clips.forEach((c, i) =>
      expect(Math.abs(c.startS - mp3Full.clips[i].startS)).toBeLessThan(0.06),
    );
    const d = diff(mp3Windowed.tensor.data, mp3Full.tensor.data);
    console.log(`long mp3, windowed vs full decode: mean |Δ| ${d.mean.toFixed(4)}`);
    expect(d.mean).toBeLessThan(0.1);
  });

  it('rejects truncated, corrupt, empty and sample-less files with an Error, promptly', async () => {
    const started = Date.now();
    await expect(preprocessAudio(media('cut.m4a'))).rejects.toThrow(/moov atom not found|Invalid data/);
    await expect(preprocessAudio(media('noise.mp3'))).rejects.toThrow(Error);
    await expect(preprocessAudio(media('empty.wav'))).rejects.toThrow(Error);
    await expect(preprocessAudio(media('nosamples.wav'))).rejects.toThrow(/no samples/);
    await expect(preprocessAudio(media('missing.wav'))).rejects.toThrow(/No such file/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
