// Size: ImageBind's video transform end to end (clip plan, decoding only the sampled frames, scaling, crops), each step typed by the last.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_VISION_PARAMS, type VisionParams } from '../../../app/pack.js';
import { channel0Output, float32View, wholeDecodeMaxBytes } from './audio.js';
import { clipTimepoints, type ClipWindow } from './clip-sampler.js';
import {
  countPackets,
  ffTime,
  inputPath,
  probeMedia,
  runFfmpeg,
  runFfmpegPipes,
  type AudioStreamInfo,
  type MediaProbe,
  type RunOptions,
  type VideoStreamInfo,
} from '../codecs/ffmpeg.js';
import { floatTensor, type FloatTensor } from './tensor.js';

/**
 * ImageBind's load_and_transform_video_data (imagebind/data.py) on ffmpeg:
 * ConstantClipsPerVideoSampler(2 s, 5 clips) over the decord duration (frames / avg fps) → per clip
 * the frames decord's get_clip would return, UniformTemporalSubsample(2) → /255 →
 * ShortSideScale(224) (torch bilinear, align_corners=False, no antialias) → CLIP normalisation →
 * SpatialCrop(224, 3) → [clips·crops, 3, frames, 224, 224], clip-major.
 *
 * Only the sampled frames are decoded and converted: ffmpeg's select filter keeps just them. A video
 * no longer than its clip windows laid end to end is read in one pass; a longer one gets one ffmpeg
 * per clip that seeks (input -ss) to just before the clip, so an hour-long video costs about what a
 * short one does. Deliberate differences from ImageBind+decord: frames are found by timestamp
 * (index/fps), the same frame for constant-rate video and the sensible one for variable-rate
 * video; and rotation metadata is applied (ffmpeg autorotate) so phone videos are upright, where
 * decord would hand the model sideways frames. Like decord, the sample aspect ratio is ignored.
 */

export interface VideoViews {
  /** [clips·crops, 3, framesPerClip, size, size] */
  tensor: FloatTensor;
  clips: ClipWindow[];
  /** Nominal time (index / fps, from the first frame) of each sampled frame, per clip. */
  frameTimesS: number[][];
  durationS: number;
  hasAudio: boolean;
  /** Channel 0 of the soundtrack asked for by `soundtrack`, when it came out of the frames' own run. */
  soundtrackSamples?: Float32Array;
}

export interface VideoDecodeOptions extends RunOptions {
  /** ffmpeg processes run at once (one per clip). Default 2. */
  concurrency?: number;
  /** A probeMedia result the caller already has, to save running ffprobe again. */
  probe?: MediaProbe;
  /**
   * A soundtrack to decode whole in the same ffmpeg run as the frames, where the frames are read
   * in one pass (a short video): one process start instead of two. Not on Windows, where ffmpeg
   * gets no pipe beyond stdout from Node reliably enough to count on (untested there).
   */
  soundtrack?: AudioStreamInfo;
}

interface ClipPlan {
  window: ClipWindow;
  /** Absolute frame indices of the sampled frames (may repeat in very short clips). */
  frames: number[];
}

interface RgbFrame {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** torch.linspace(0, t − 1, n) in float32 (its two-sided formula), clamped and truncated by .long(). */
export function uniformTemporalIndices(t: number, n: number): number[] {
  if (t < 1 || n < 1) throw new Error(`cannot subsample ${n} of ${t} frames`);
  if (n === 1) return [0];
  const end = Math.fround(t - 1);
  const step = Math.fround(end / (n - 1));
  const half = Math.floor(n / 2);
  return Array.from({ length: n }, (_, i) => {
    const v = i < half ? Math.fround(step * i) : Math.fround(end - Math.fround(step * (n - i - 1)));
    return Math.trunc(Math.min(Math.max(v, 0), t - 1));
  });
}

/**
 * decord's frame count: the container's nb_frames, else duration × avg fps, else (no duration
 * either, e.g. Matroska written to a pipe) the packets counted by demuxing the file.
 */
async function frameCount(
  file: string,
  v: VideoStreamInfo,
  containerS: number,
  opts: RunOptions,
): Promise<number> {
  if (v.frames !== undefined) return v.frames;
  const seconds = v.durationS ?? containerS;
  if (seconds > 0) return Math.round(seconds * v.fps);
  return countPackets(file, v.streamIndex, opts);
}

/** Clip windows and frame indices as pytorchvideo's EncodedVideoDecord.get_clip + subsampling pick them. */
function planClips(fps: number, frames: number, p: VisionParams): { durationS: number; plans: ClipPlan[] } {
  if (!(frames >= 1)) throw new Error('video stream has no frames');
  const durationS = frames / fps;
  const plans = clipTimepoints(durationS, p.videoClipDurationS, p.videoClipsPerVideo).map((window) => {
    const first = Math.ceil(fps * window.startS);
    const end = Math.min(Math.ceil(fps * window.endS), frames);
    if (end <= first)
      throw new Error(`no frames in clip ${window.startS.toFixed(3)}–${window.endS.toFixed(3)} s`);
    return {
      window,
      frames: uniformTemporalIndices(end - first, p.videoFramesPerClip).map((i) => first + i),
    };
  });
  return { durationS, plans };
}

/** ImageBind's load_and_transform_video_data for any video ffmpeg can decode. */
export async function preprocessVideo(
  file: string,
  params: VisionParams = DEFAULT_VISION_PARAMS,
  opts: VideoDecodeOptions = {},
): Promise<VideoViews> {
  const probe = opts.probe ?? (await probeMedia(file, { signal: opts.signal }));
  const v = probe.video;
  if (!v) throw new Error('no video stream');
  if (!(v.fps > 0)) throw new Error('video stream has no frame rate');
  const frames = await frameCount(file, v, probe.durationS, opts);
  const { durationS, plans } = planClips(v.fps, frames, params);
  const decoded = await decodePlannedFrames(file, v, plans, durationS, params, opts);
  return {
    tensor: buildViews(plans, decoded.frames, params),
    clips: plans.map((c) => c.window),
    frameTimesS: plans.map((c) => c.frames.map((k) => k / v.fps)),
    durationS,
    hasAudio: probe.audio !== undefined,
    soundtrackSamples: decoded.soundtrack,
  };
}

// ---------------------------------------------------------------------------------------------
// Decoding.
// ---------------------------------------------------------------------------------------------

/**
 * Decodes every planned frame. A video no longer than its clip windows put end to end is decoded
 * in one pass (the windows cover it anyway, and each ffmpeg start costs ~0.1 s); a longer one gets
 * one seeking ffmpeg per clip, so only the windows (and their lead-in from a keyframe) are decoded.
 */
async function decodePlannedFrames(
  file: string,
  v: VideoStreamInfo,
  plans: ClipPlan[],
  durationS: number,
  p: VisionParams,
  opts: VideoDecodeOptions,
): Promise<{ frames: Map<number, RgbFrame>; soundtrack?: Float32Array }> {
  const unique = (ks: number[]): number[] => [...new Set(ks)].sort((a, b) => a - b);
  const onePass = durationS <= p.videoClipDurationS * p.videoClipsPerVideo * 1.5;
  const groups = onePass ? [unique(plans.flatMap((c) => c.frames))] : plans.map((c) => unique(c.frames));
  const sound = onePass && process.platform !== 'win32' ? opts.soundtrack : undefined;
  const decoded = new Map<number, RgbFrame>();
  const missing: number[] = [];
  let soundtrack: Float32Array | undefined;
  await mapLimit(groups, opts.concurrency ?? 2, async (wanted) => {
    const got = await decodeFrames(file, v, wanted, !onePass, opts, sound);
    if (got.soundtrack) soundtrack = got.soundtrack;
    wanted.forEach((k, i) => {
      if (got.frames[i]) decoded.set(k, got.frames[i]);
      else missing.push(k);
    });
  });
  if (missing.length > 0) {
    // The container over-stated the frame count (or the file is cut short): decord clamps to the
    // frames that exist, so the missing ones are the last frame there is.
    const last = await decodeLastFrame(file, v, frameTime(v, Math.min(...missing)), opts);
    for (const k of missing) decoded.set(k, last);
  }
  return { frames: decoded, soundtrack };
}

/**
 * One ffmpeg run that keeps the i-th output frame at the first frame whose time reaches frame
 * `wanted[i]`'s nominal time less half a frame: exactly frame k at a constant rate, the frame on
 * screen at that moment at a variable one. With `seek`, it first seeks (input -ss, accurate) to
 * half a frame before the first wanted frame. May return fewer frames if the stream ends first.
 * With `sound`, the same run also writes that stream's channel 0 whole to pipe:3.
 */
async function decodeFrames(
  file: string,
  v: VideoStreamInfo,
  wanted: number[],
  seek: boolean,
  opts: RunOptions,
  sound?: AudioStreamInfo,
): Promise<{ frames: RgbFrame[]; soundtrack?: Float32Array }> {
  const at = (k: number): number => frameTime(v, k) - 0.5 / v.fps;
  const from = seek ? Math.max(0, at(wanted[0])) : 0;
  // Timestamps count from the seek point; after a seek the first frame is the first wanted one.
  const terms = wanted.map((k, i) =>
    seek && i === 0 ? 'eq(selected_n\\,0)' : `eq(selected_n\\,${i})*gte(t\\,${(at(k) - from).toFixed(6)})`,
  );
  const args = [
    ...(from > 0 ? ['-ss', ffTime(from)] : []),
    '-i',
    inputPath(file),
    '-map',
    `0:${v.streamIndex}`,
    '-vf',
    `select=${terms.join('+')}`,
    // Passthrough: the default constant-rate output would duplicate frames to fill the gaps.
    // (-vsync rather than -fps_mode so that ffmpeg 4.x works too.)
    '-vsync',
    'passthrough',
    '-frames:v',
    String(wanted.length),
    '-c:v',
    'ppm',
    '-f',
    'image2pipe',
    'pipe:1',
  ];
  const runOpts = { ...opts, maxBytes: frameBudget(v, wanted.length) };
  if (!sound) return { frames: parsePpmStream(await runFfmpeg(args, runOpts)) };
  const soundCap = wholeDecodeMaxBytes(sound.durationS ?? 0, sound.sampleRate);
  const [frames, samples] = await runFfmpegPipes(
    [...args, ...channel0Output(sound, 'pipe:3')],
    [soundCap],
    runOpts,
  );
  return { frames: parsePpmStream(frames), soundtrack: float32View(samples) };
}

/** Nominal time of frame k on ffmpeg's input clock (what -ss counts). */
function frameTime(v: VideoStreamInfo, k: number): number {
  return v.startOffsetS + k / v.fps;
}

/**
 * The last frame the stream really has, which ends somewhere before `beforeS`: decode from a
 * little earlier to the end, letting the image2 muxer overwrite one file (-update) so memory stays
 * flat, and step further back when that stretch turns out to hold no frame at all.
 */
async function decodeLastFrame(
  file: string,
  v: VideoStreamInfo,
  beforeS: number,
  opts: RunOptions,
): Promise<RgbFrame> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'bindery-frame-'));
  const out = path.join(scratch, 'last.ppm');
  try {
    for (let back = 0.5; ; back *= 4) {
      const from = Math.max(0, beforeS - back);
      // prettier-ignore
      await runFfmpeg(
        ['-ss', ffTime(from), '-i', inputPath(file), '-map', `0:${v.streamIndex}`, '-vsync', 'passthrough',
          '-c:v', 'ppm', '-f', 'image2', '-update', '1', '-y', out],
        opts,
      );
      const frames = await readFile(out).then(parsePpmStream, () => []);
      if (frames.length > 0) return frames[0];
      if (from === 0) throw new Error('no decodable video frame');
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Output cap for n frames: the probed size with room for headers and a mid-stream size change. */
function frameBudget(v: VideoStreamInfo, n: number): number {
  return n * (v.width * v.height * 3 * 2 + 1024) + (1 << 20);
}

/** Splits concatenated binary PPMs (P6, maxval 255) as ffmpeg's ppm encoder writes them. */
function parsePpmStream(buf: Buffer): RgbFrame[] {
  const frames: RgbFrame[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const fields: string[] = [];
    while (fields.length < 4) {
      while (pos < buf.length && /\s/.test(String.fromCharCode(buf[pos]))) pos++;
      const begin = pos;
      while (pos < buf.length && !/\s/.test(String.fromCharCode(buf[pos]))) pos++;
      if (begin === pos) throw new Error('ffmpeg returned a truncated frame header');
      fields.push(buf.toString('latin1', begin, pos));
    }
    pos++; // the single whitespace byte after maxval
    const [magic, w, h, maxval] = [fields[0], Number(fields[1]), Number(fields[2]), Number(fields[3])];
    if (magic !== 'P6' || maxval !== 255 || !(w > 0 && h > 0))
      throw new Error('ffmpeg returned an unexpected frame format');
    const size = w * h * 3;
    if (pos + size > buf.length) throw new Error('ffmpeg returned a truncated frame');
    frames.push({ width: w, height: h, rgb: new Uint8Array(buf.buffer, buf.byteOffset + pos, size) });
    pos += size;
  }
  return frames;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

// ---------------------------------------------------------------------------------------------
// Pixels: /255 → ShortSideScale → normalise → SpatialCrop.
// ---------------------------------------------------------------------------------------------

/** Per-axis taps of torch's bilinear interpolate (align_corners=False, no antialias), in float32. */
interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
}

function bilinearTaps(inSize: number, outSize: number): Taps {
  const scale = Math.fround(inSize / outSize);
  const t: Taps = {
    i0: new Int32Array(outSize),
    i1: new Int32Array(outSize),
    w0: new Float32Array(outSize),
    w1: new Float32Array(outSize),
  };
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(Math.fround(Math.fround(scale * Math.fround(o + 0.5)) - 0.5), 0);
    const i = Math.min(Math.floor(src), inSize - 1);
    const lambda = Math.min(Math.max(Math.fround(src - i), 0), 1);
    t.i0[o] = i;
    t.i1[o] = i < inSize - 1 ? i + 1 : i;
    t.w1[o] = lambda;
    t.w0[o] = Math.fround(1 - lambda);
  }
  return t;
}

/**
 * pytorchvideo short_side_scale's output size: floor((long / short) · size), which can differ by one
 * from the still-image rule (image.ts shortSideSize: int(size · long / short)).
 */
export function shortSideScaleSize(
  width: number,
  height: number,
  size: number,
): { width: number; height: number } {
  return width < height
    ? { width: size, height: Math.floor((height / width) * size) }
    : { width: Math.floor((width / height) * size), height: size };
}

interface ScaledFrame {
  width: number;
  height: number;
  planes: Float32Array;
}

const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, b) => b / 255);

/** One frame → normalised planes [3, h, w] at the short-side-scaled size, written into `floats(3·h·w)`. */
function scaleAndNormalise(
  f: RgbFrame,
  p: VisionParams,
  floats: (length: number) => Float32Array,
): ScaledFrame {
  const { width, height } = shortSideScaleSize(f.width, f.height, p.size);
  const xs = bilinearTaps(f.width, width);
  const ys = bilinearTaps(f.height, height);
  // Byte offsets of each output column's two source pixels within a source row.
  const x0 = xs.i0.map((i) => i * 3);
  const x1 = xs.i1.map((i) => i * 3);
  const planes = floats(3 * width * height);
  const rgb = f.rgb;
  const [w0, w1] = [xs.w0, xs.w1];
  // Plain indexed loops (no per-pixel destructuring): this runs for every pixel of every frame.
  for (let c = 0; c < 3; c++) {
    const mean = p.mean[c];
    const std = p.std[c];
    for (let y = 0; y < height; y++) {
      const r0 = ys.i0[y] * f.width * 3 + c;
      const r1 = ys.i1[y] * f.width * 3 + c;
      const wy0 = ys.w0[y];
      const wy1 = ys.w1[y];
      const row = (c * height + y) * width;
      for (let x = 0; x < width; x++) {
        const a = x0[x];
        const b = x1[x];
        const top = w0[x] * BYTE_TO_UNIT[rgb[r0 + a]] + w1[x] * BYTE_TO_UNIT[rgb[r0 + b]];
        const bottom = w0[x] * BYTE_TO_UNIT[rgb[r1 + a]] + w1[x] * BYTE_TO_UNIT[rgb[r1 + b]];
        planes[row + x] = (wy0 * top + wy1 * bottom - mean) / std;
      }
    }
  }
  return { width, height, planes };
}

/** ImageBind's uniform_crop offsets: 0/1/2 = left/centre/right, or top/centre/bottom when taller than wide. */
export function cropOffset(
  width: number,
  height: number,
  size: number,
  spatialIdx: number,
): { x: number; y: number } {
  let y = Math.ceil((height - size) / 2);
  let x = Math.ceil((width - size) / 2);
  if (height > width) {
    if (spatialIdx === 0) y = 0;
    else if (spatialIdx === 2) y = height - size;
  } else {
    if (spatialIdx === 0) x = 0;
    else if (spatialIdx === 2) x = width - size;
  }
  return { x, y };
}

/**
 * Scales each distinct frame once, into one reused buffer, and copies its crops to every view
 * position that samples it (clips of a short video share frames).
 */
function buildViews(plans: ClipPlan[], decoded: Map<number, RgbFrame>, p: VisionParams): FloatTensor {
  const S = p.size;
  const T = p.videoFramesPerClip;
  const spatial = p.videoSpatialCrops === 3 ? [0, 1, 2] : [1];
  const data = new Float32Array(plans.length * spatial.length * 3 * T * S * S);
  const uses = new Map<number, { clip: number; t: number }[]>();
  plans.forEach((plan, clip) =>
    plan.frames.forEach((k, t) => uses.set(k, [...(uses.get(k) ?? []), { clip, t }])),
  );
  let scratch = new Float32Array(0);
  for (const [k, at] of uses) {
    const img = scaleAndNormalise(decoded.get(k) as RgbFrame, p, (n) =>
      scratch.length >= n ? scratch.subarray(0, n) : (scratch = new Float32Array(n)),
    );
    for (const { clip, t } of at) {
      spatial.forEach((idx, j) => {
        const view = clip * spatial.length + j;
        copyCrop(img, cropOffset(img.width, img.height, S, idx), S, T, data, (view * 3 * T + t) * S * S);
      });
    }
  }
  return floatTensor(data, [plans.length * spatial.length, 3, T, S, S]);
}

/** Copies an S×S crop of each channel into a view laid out [3, T, S, S] (`at`: channel 0, frame t). */
function copyCrop(
  img: ScaledFrame,
  off: { x: number; y: number },
  S: number,
  T: number,
  out: Float32Array,
  at: number,
): void {
  const planes = img.planes;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < S; y++) {
      const src = (c * img.height + off.y + y) * img.width + off.x;
      const dst = at + c * T * S * S + y * S;
      for (let x = 0; x < S; x++) out[dst + x] = planes[src + x];
    }
  }
}
