import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUDIO_PARAMS, DEFAULT_VISION_PARAMS } from '../../app/pack.js';
import { preprocessAudio } from '../../main/core/imagebind/audio.js';
import { probeMedia, runFfmpeg } from '../../main/core/codecs/ffmpeg.js';
import {
  cropOffset,
  preprocessVideo,
  shortSideScaleSize,
  uniformTemporalIndices,
  type VideoViews,
} from '../../main/core/imagebind/video.js';

const P = DEFAULT_VISION_PARAMS;
const S = P.size;

let dir: string;
const media = (name: string): string => path.join(dir, name);
const lavfi = (src: string): string[] => ['-f', 'lavfi', '-i', src];
const lossless = ['-c:v', 'libx264rgb', '-qp', '0'];
/** Frame N painted in one flat colour that spells N: R = N mod 16, G = N/16 mod 16, B = N/256 (×16). */
const indexed = (seconds: number, size = '64x48'): string =>
  `color=black:size=${size}:rate=30:duration=${seconds},format=gbrp,` +
  "geq=r='mod(N\\,16)*16':g='mod(floor(N/16)\\,16)*16':b='floor(N/256)*16'";

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bindery-video-'));
  const gradient = (size: string, axis: 'X/W' | 'Y/H'): string =>
    `color=black:size=${size}:rate=30:duration=3,format=gbrp,geq=r='${axis}*255':g=128:b=128`;
  const halves =
    'color=red:size=160x240:rate=30:duration=3[a];color=blue:size=160x240:rate=30:duration=3[b];[a][b]hstack';
  await Promise.all([
    runFfmpeg([
      ...lavfi('testsrc2=size=320x240:rate=30:duration=10'),
      '-c:v',
      'libx264',
      media('testsrc.mp4'),
    ]),
    runFfmpeg([...lavfi('testsrc2=size=320x240:rate=30:duration=1'), '-c:v', 'libx264', media('short.mp4')]),
    runFfmpeg([
      ...lavfi('testsrc2=size=160x120:rate=25:duration=3'), ...lavfi('sine=duration=3'),
      '-c:v', 'libx264', '-c:a', 'aac', media('with-audio.mp4'),
    ]), // prettier-ignore
    runFfmpeg([...lavfi(indexed(10)), ...lossless, media('index10.mp4')]),
    runFfmpeg([...lavfi(indexed(30)), ...lossless, media('index30.mp4')]),
    runFfmpeg([...lavfi(indexed(12)), '-c:v', 'ffv1', media('index12.mkv')]),
    // Matroska written to a pipe states neither a frame count nor a duration.
    runFfmpeg([...lavfi(indexed(12)), '-c:v', 'ffv1', '-f', 'matroska', 'pipe:1']).then((b) =>
      writeFileSync(media('piped.mkv'), b),
    ),
    runFfmpeg([
      ...lavfi(indexed(30)),
      ...lossless,
      '-movflags',
      '+faststart',
      media('index30-faststart.mp4'),
    ]),
    // Variable frame rate: 10 fps for 3 s, then 30 fps for 3 s (frames keep their 30 fps index colour).
    runFfmpeg([
      ...lavfi(indexed(6)), '-vf', "select='lt(t\\,3)*not(mod(n\\,3))+gte(t\\,3)'", '-vsync', 'vfr', ...lossless, media('vfr.mp4'),
    ]), // prettier-ignore
    runFfmpeg([...lavfi(gradient('320x240', 'X/W')), ...lossless, media('landscape.mp4')]),
    runFfmpeg([...lavfi(gradient('240x320', 'Y/H')), ...lossless, media('portrait.mp4')]),
    runFfmpeg(['-filter_complex', halves, ...lossless, media('halves.mp4')]),
    runFfmpeg([...lavfi('sine=duration=2'), media('sound-only.wav')]),
  ]);
  await Promise.all(
    [90, 270].map((deg) =>
      runFfmpeg([
        '-i',
        media('halves.mp4'),
        '-c',
        'copy',
        '-metadata:s:v',
        `rotate=${deg}`,
        media(`rotate${deg}.mp4`),
      ]),
    ),
  );
  // A download cut off half-way: the index (at the front) promises 900 frames, about half remain.
  truncateSync(media('index30-faststart.mp4'), Math.floor(statSync(media('index30-faststart.mp4')).size / 2));
  await runFfmpeg(['-i', media('testsrc.mp4'), '-c', 'copy', media('cut.mp4')]);
  truncateSync(media('cut.mp4'), Math.floor(statSync(media('cut.mp4')).size / 3));
  writeFileSync(
    media('garbage.mp4'),
    Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 3) % 256)),
  );
  writeFileSync(media('empty.mp4'), Buffer.alloc(0));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Offset of pixel (x, y) of channel c, frame t, in view v of a [V, 3, T, S, S] tensor. */
const px = (v: number, c: number, t: number, x: number, y: number): number =>
  (((v * 3 + c) * P.videoFramesPerClip + t) * S + y) * S + x;

/** A channel's value back in 0–255 at (x, y). */
function level(views: VideoViews, v: number, c: number, t: number, x: number, y: number): number {
  return (views.tensor.data[px(v, c, t, x, y)] * P.std[c] + P.mean[c]) * 255;
}

/** The frame number spelled by an `indexed` frame's colour (centre pixel of the centre crop). */
function frameNumber(views: VideoViews, clip: number, t: number): number {
  const v = clip * 3 + 1;
  const [r, g, b] = [0, 1, 2].map((c) => Math.round(level(views, v, c, t, S / 2, S / 2) / 16));
  return r + 16 * g + 256 * b;
}

/** Mean of one channel over rows [y0, y1) of a view's first frame, in 0–255. */
function rowMean(views: VideoViews, v: number, c: number, y0: number, y1: number): number {
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = 0; x < S; x++) sum += level(views, v, c, 0, x, y);
  return sum / ((y1 - y0) * S);
}

describe('sampling helpers', () => {
  it('subsamples like torch.linspace(0, T−1, n).long()', () => {
    expect(uniformTemporalIndices(60, 2)).toEqual([0, 59]);
    expect(uniformTemporalIndices(1, 2)).toEqual([0, 0]);
    expect(uniformTemporalIndices(10, 4)).toEqual([0, 3, 6, 9]);
    expect(uniformTemporalIndices(7, 3)).toEqual([0, 3, 6]);
    expect(uniformTemporalIndices(5, 1)).toEqual([0]);
  });

  it('scales the short side to 224 and crops like ImageBind uniform_crop', () => {
    expect(shortSideScaleSize(320, 240, 224)).toEqual({ width: 298, height: 224 });
    expect(shortSideScaleSize(1080, 1920, 224)).toEqual({ width: 224, height: 398 });
    expect([0, 1, 2].map((i) => cropOffset(398, 224, 224, i))).toEqual([
      { x: 0, y: 0 },
      { x: 87, y: 0 },
      { x: 174, y: 0 },
    ]);
    expect([0, 1, 2].map((i) => cropOffset(224, 299, 224, i))).toEqual([
      { x: 0, y: 0 },
      { x: 0, y: 38 },
      { x: 0, y: 75 },
    ]);
    expect(cropOffset(224, 224, 224, 2)).toEqual({ x: 0, y: 0 });
  });
});

describe('preprocessVideo', () => {
  it('turns a 10 s clip into 5 clips × 3 crops of 2 frames', async () => {
    const started = performance.now();
    const v = await preprocessVideo(media('testsrc.mp4'));
    const ms = performance.now() - started;
    expect(v.tensor.dims).toEqual([15, 3, 2, 224, 224]);
    expect(v.durationS).toBe(10);
    expect(v.hasAudio).toBe(false);
    expect(v.clips).toEqual([0, 2, 4, 6, 8].map((s) => ({ startS: s, endS: s + 2 })));
    // decord's get_clip takes frames ceil(30·start) … ceil(30·end) − 1; subsampling keeps both ends.
    v.frameTimesS.forEach((times, i) => {
      expect(times[0]).toBeCloseTo(2 * i, 9);
      expect(times[1]).toBeCloseTo(2 * i + 59 / 30, 9);
    });
    expect(v.tensor.data.every(Number.isFinite)).toBe(true);
    console.log(
      `video throughput: ${ms.toFixed(0)} ms for testsrc2 10 s 320x240 (probe + one decode pass + 15 views)`,
    );
  });

  it('decodes exactly the sampled frames, in one pass or seeking per clip', async () => {
    for (const name of ['index10.mp4', 'index30.mp4', 'index12.mkv', 'piped.mkv']) {
      const started = performance.now();
      const v = await preprocessVideo(media(name));
      const ms = performance.now() - started;
      v.frameTimesS.forEach((times, clip) =>
        times.forEach((s, t) =>
          expect(frameNumber(v, clip, t), `${name} clip ${clip}`).toBe(Math.round(s * 30)),
        ),
      );
      console.log(`video throughput: ${ms.toFixed(0)} ms for ${name} (${v.durationS} s)`);
    }
    const long = await preprocessVideo(media('index30.mp4'));
    expect(long.frameTimesS.map((t) => t.map((s) => Math.round(s * 30)))).toEqual([
      [0, 59],
      [210, 269],
      [420, 479],
      [630, 689],
      [840, 899],
    ]);
  });

  it('uses the last frame there is when a file ends before its index says', async () => {
    const v = await preprocessVideo(media('index30-faststart.mp4'));
    expect(v.durationS).toBe(30);
    const got = v.frameTimesS.map((times, clip) => times.map((_, t) => frameNumber(v, clip, t)));
    expect(got.slice(0, 2)).toEqual([
      [0, 59],
      [210, 269],
    ]);
    const last = Math.max(...got.flat());
    expect(last).toBeGreaterThan(300);
    expect(last).toBeLessThan(600);
    expect(got[4]).toEqual([last, last]);
  });

  it('copes with a variable frame rate', async () => {
    const v = await preprocessVideo(media('vfr.mp4'));
    expect(v.tensor.dims).toEqual([15, 3, 2, 224, 224]);
    // The nominal times come from the average rate; the frame shown then is within a frame or two.
    v.frameTimesS.forEach((times, clip) =>
      times.forEach((s, t) => expect(Math.abs(frameNumber(v, clip, t) / 30 - s)).toBeLessThanOrEqual(0.15)),
    );
  });

  it('crops left/centre/right from a landscape video', async () => {
    const v = await preprocessVideo(media('landscape.mp4'));
    const [left, centre, right] = [0, 1, 2].map((i) => rowMean(v, i, 0, 0, S));
    expect(left).toBeLessThan(centre);
    expect(centre).toBeLessThan(right);
    expect(level(v, 0, 0, 0, 0, 100)).toBeLessThan(5);
    expect(level(v, 2, 0, 0, S - 1, 100)).toBeGreaterThan(250);
  });

  it('crops top/centre/bottom from a portrait video', async () => {
    const v = await preprocessVideo(media('portrait.mp4'));
    expect(v.tensor.dims).toEqual([15, 3, 2, 224, 224]);
    const [top, centre, bottom] = [0, 1, 2].map((i) => rowMean(v, i, 0, 0, S));
    expect(top).toBeLessThan(centre);
    expect(centre).toBeLessThan(bottom);
    expect(rowMean(v, 0, 0, 0, 1)).toBeLessThan(5);
    expect(rowMean(v, 2, 0, S - 1, S)).toBeGreaterThan(250);
  });

  it('applies rotation metadata so the picture comes out upright', async () => {
    // halves.mp4 is 320x240, red on the left, blue on the right.
    for (const name of ['rotate90.mp4', 'rotate270.mp4']) {
      const rotation = (await probeMedia(media(name))).video?.rotation;
      const v = await preprocessVideo(media(name));
      // Turned a quarter, the frame is portrait: the three crops run top to bottom.
      const redTop = rowMean(v, 0, 0, 0, 40);
      const redBottom = rowMean(v, 2, 0, S - 40, S);
      // A clockwise quarter turn brings the left edge to the top; anticlockwise, the right edge.
      if (rotation === 90) {
        expect(redTop, name).toBeGreaterThan(200);
        expect(redBottom, name).toBeLessThan(50);
      } else {
        expect(rotation).toBe(270);
        expect(redTop, name).toBeLessThan(50);
        expect(redBottom, name).toBeGreaterThan(200);
      }
    }
  });

  it('handles a video shorter than one clip (clips overlap, frames repeat)', async () => {
    const v = await preprocessVideo(media('short.mp4'));
    expect(v.tensor.dims).toEqual([15, 3, 2, 224, 224]);
    expect(v.durationS).toBe(1);
    expect(v.clips).toEqual(Array.from({ length: 5 }, () => ({ startS: 0, endS: 2 })));
    expect(v.frameTimesS).toEqual(Array.from({ length: 5 }, () => [0, 29 / 30]));
    // Every clip is the same window, so clip 4's three views equal clip 0's.
    const clip = 3 * 3 * 2 * S * S;
    const [first, last] = [v.tensor.data.subarray(0, clip), v.tensor.data.subarray(4 * clip, 5 * clip)];
    expect(first.every((x, i) => x === last[i])).toBe(true);
  });

  it('reports whether there is a soundtrack', async () => {
    expect((await preprocessVideo(media('with-audio.mp4'))).hasAudio).toBe(true);
    expect((await preprocessVideo(media('short.mp4'))).hasAudio).toBe(false);
  });

  it.skipIf(process.platform === 'win32')(
    'decodes a short video’s soundtrack in the frames’ own run, sample for sample as its own run does',
    async () => {
      const probe = await probeMedia(media('with-audio.mp4'));
      const both = await preprocessVideo(media('with-audio.mp4'), P, { probe, soundtrack: probe.audio });
      const alone = await preprocessVideo(media('with-audio.mp4'), P, { probe });
      expect(both.tensor.data).toEqual(alone.tensor.data);
      expect(alone.soundtrackSamples).toBeUndefined();
      const samples = both.soundtrackSamples!;
      expect(samples.length).toBeGreaterThan(0.9 * (probe.audio!.durationS ?? 0) * probe.audio!.sampleRate);
      const viaAudio = await preprocessAudio(media('with-audio.mp4'), DEFAULT_AUDIO_PARAMS, { probe });
      const fromSamples = await preprocessAudio(media('with-audio.mp4'), DEFAULT_AUDIO_PARAMS, {
        probe,
        samples,
      });
      expect(fromSamples.tensor.data).toEqual(viaAudio.tensor.data);
      // A long video's frames are read clip by clip, so its soundtrack is left to its own run.
      const long = await probeMedia(media('index30.mp4'));
      const fake = { ...probe.audio!, streamIndex: 0 };
      expect(
        (await preprocessVideo(media('index30.mp4'), P, { probe: long, soundtrack: fake })).soundtrackSamples,
      ).toBeUndefined();
    },
  );

  it('rejects corrupt, truncated, empty and picture-less files with an Error', async () => {
    const started = Date.now();
    await expect(preprocessVideo(media('garbage.mp4'))).rejects.toThrow(Error);
    await expect(preprocessVideo(media('cut.mp4'))).rejects.toThrow(/moov atom not found|Invalid data/);
    await expect(preprocessVideo(media('empty.mp4'))).rejects.toThrow(Error);
    await expect(preprocessVideo(media('sound-only.wav'))).rejects.toThrow(/no video stream/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
