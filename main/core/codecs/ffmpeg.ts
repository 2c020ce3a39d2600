// Size: the one place Bindery talks to ffmpeg and ffprobe: locating, supervising and probing.
import { accessSync, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { spawnTied } from './tied-spawn.js';

/**
 * The one place Bindery talks to ffmpeg/ffprobe (docs/architecture.md §5: real decoders, system or bundled,
 * with an override). Every failure (missing binary, corrupt/truncated/unsupported input, a hang, a
 * runaway output) surfaces as an ordinary rejected Error with a one-line message, so ingest can
 * record it against the file and move on.
 */

export type MediaTool = 'ffmpeg' | 'ffprobe';

const ENV_OVERRIDE: Record<MediaTool, string> = { ffmpeg: 'BINDERY_FFMPEG', ffprobe: 'BINDERY_FFPROBE' };
const located = new Map<string, string>();

/** Absolute path of ffmpeg/ffprobe: `$BINDERY_FFMPEG` / `$BINDERY_FFPROBE` when set, else the first on PATH. */
export function locateBinary(tool: MediaTool): string {
  const override = process.env[ENV_OVERRIDE[tool]];
  const key = `${tool}\0${override ?? ''}\0${process.env.PATH ?? ''}`;
  const cached = located.get(key);
  if (cached) return cached;
  const found = override ? checkOverride(tool, override) : searchPath(tool);
  located.set(key, found);
  return found;
}

function checkOverride(tool: MediaTool, file: string): string {
  if (!isExecutable(file)) {
    throw new Error(`${ENV_OVERRIDE[tool]} points to ${file}, which is not an executable file`);
  }
  return file;
}

function searchPath(tool: MediaTool): string {
  const names = process.platform === 'win32' ? [`${tool}.exe`, tool] : [tool];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  throw new Error(`${tool} not found on PATH; install ffmpeg or set ${ENV_OVERRIDE[tool]} to its location`);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, process.platform === 'win32' ? fsConstants.F_OK : fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface RunOptions {
  /** Wall-clock limit; the child is SIGKILLed when it passes. Default 120 s. */
  timeoutMs?: number;
  /** Most stdout bytes accepted; the child is SIGKILLed beyond it. Default 512 MiB. */
  maxBytes?: number;
  /** Cancels the run (the child is SIGKILLed). */
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
/** stderr kept for error messages; ffmpeg can be chatty on damaged input even at -loglevel error. */
const STDERR_KEEP = 4096;

/** Runs ffmpeg with `-nostdin -hide_banner -loglevel error` and resolves with its stdout. */
export async function runFfmpeg(args: readonly string[], opts: RunOptions = {}): Promise<Buffer> {
  return (await runFfmpegPipes(args, [], opts))[0];
}

/**
 * ffmpeg with more outputs written to pipe:3, pipe:4, … (one per cap in `extraMaxBytes`): resolves
 * with [stdout, fd 3, …]. One process for several outputs saves a start (~0.1 s of CPU each).
 */
export function runFfmpegPipes(
  args: readonly string[],
  extraMaxBytes: readonly number[],
  opts: RunOptions = {},
): Promise<Buffer[]> {
  const caps = [opts.maxBytes ?? DEFAULT_MAX_BYTES, ...extraMaxBytes];
  return runTool('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', ...args], caps, opts);
}

/** Runs ffprobe with `-hide_banner -loglevel error` and resolves with its stdout. */
export async function runFfprobe(args: readonly string[], opts: RunOptions = {}): Promise<Buffer> {
  const caps = [opts.maxBytes ?? DEFAULT_MAX_BYTES];
  return (await runTool('ffprobe', ['-hide_banner', '-loglevel', 'error', ...args], caps, opts))[0];
}

/** Runs the tool; `caps` holds the most bytes accepted on stdout, then on each extra pipe (fd 3, …). */
function runTool(tool: MediaTool, args: string[], caps: number[], opts: RunOptions): Promise<Buffer[]> {
  let bin: string;
  try {
    bin = locateBinary(tool);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  return new Promise<Buffer[]>((resolve, reject) =>
    superviseChild(tool, bin, args, caps, opts, resolve, reject),
  );
}

/**
 * Spawns the child and settles exactly once, and only after 'close' (the process has exited and
 * been reaped, its pipes drained), so a killed ffmpeg never lingers as a zombie or an orphan.
 * Every output pipe is drained as it fills: ffmpeg blocks on a full pipe, so one unread output
 * would stall the others.
 */
function superviseChild(
  tool: MediaTool,
  bin: string,
  args: string[],
  caps: number[],
  opts: RunOptions,
  resolve: (b: Buffer[]) => void,
  reject: (e: Error) => void,
): void {
  let stderr = '';
  let failure: string | null = null;
  let spawnError: Error | null = null;
  const pipes = caps.slice(1).map(() => 'pipe' as const);
  const child = spawnTied(bin, args, { stdio: ['ignore', 'pipe', 'pipe', ...pipes], windowsHide: true });
  const kill = (why: string): void => {
    failure ??= why;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(
    () => kill(`timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`),
    opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  const onAbort = (): void => kill('cancelled');
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const streams = [child.stdio[1], ...child.stdio.slice(3)];
  const outputs = streams.map((stream, i) => {
    const out = { chunks: [] as Buffer[], bytes: 0 };
    stream?.on('data', (chunk: Buffer) => {
      if (failure) return;
      out.bytes += chunk.length;
      if (out.bytes > caps[i]) return kill(`output exceeded ${caps[i]} bytes`);
      out.chunks.push(chunk);
    });
    return out;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
  });
  child.on('error', (err) => {
    spawnError = err;
  });
  child.on('close', (code, sig) => {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (spawnError) return reject(new Error(`${tool} could not be started (${bin}): ${spawnError.message}`));
    if (failure) return reject(new Error(`${tool} ${failure}${stderrTail(stderr)}`));
    if (code !== 0) {
      const status = code === null ? `was killed by ${sig}` : `exited with code ${code}`;
      return reject(new Error(`${tool} ${status}${stderrTail(stderr)}`));
    }
    resolve(outputs.map((o) => Buffer.concat(o.chunks, o.bytes)));
  });
}

/** The last few stderr lines as one readable line (`: a | b`), or nothing. */
function stderrTail(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0) return '';
  const tail = lines.slice(-3).join(' | ');
  return `: ${tail.length > 300 ? `…${tail.slice(-300)}` : tail}`;
}

/**
 * The path to hand ffmpeg as an input: absolute, so that a name like `-x.mp4` is not read as an
 * option and `clip:1.mp4` is not read as a protocol.
 */
export function inputPath(file: string): string {
  return path.resolve(file);
}

/** Seconds as ffmpeg's `-ss`/`-t` parse them (microsecond resolution), never in exponent notation. */
export function ffTime(seconds: number): string {
  return Math.max(0, seconds).toFixed(6);
}

export interface AudioStreamInfo {
  sampleRate: number;
  channels: number;
  codec: string;
  /** Absolute stream index in the file (use as `-map 0:<index>`). */
  streamIndex: number;
  /** Seconds from the file's start_time (what `-ss` counts from) to this stream's first sample. */
  startOffsetS: number;
  durationS?: number;
}

export interface VideoStreamInfo {
  width: number;
  height: number;
  /** Average frame rate (what decord calls avg_fps), falling back to r_frame_rate. */
  fps: number;
  /** Degrees the stored picture must turn clockwise to display upright (0, 90, 180 or 270). */
  rotation: number;
  codec: string;
  /** Frame count from the container (nb_frames), when it states one. */
  frames?: number;
  streamIndex: number;
  /** Seconds from the file's start_time (what `-ss` counts from) to this stream's first frame. */
  startOffsetS: number;
  durationS?: number;
}

export interface MediaProbe {
  durationS: number;
  formatName: string;
  /** The container's tags, then its streams' (keys lower-cased): dates, locations (codecs/capture.ts). */
  tags: Record<string, string>;
  audio?: AudioStreamInfo;
  video?: VideoStreamInfo;
}

// ffprobe prints numbers as strings and omits what it does not know, so everything is optional.
const numStr = z.union([z.string(), z.number()]).optional();
const StreamSchema = z.object({
  index: z.number().int(),
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  sample_rate: numStr,
  channels: z.number().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  avg_frame_rate: z.string().optional(),
  r_frame_rate: z.string().optional(),
  nb_frames: numStr,
  start_time: numStr,
  duration: numStr,
  disposition: z.record(z.string(), z.number()).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  side_data_list: z.array(z.object({ rotation: z.number().optional() }).passthrough()).optional(),
});
type ProbeStream = z.infer<typeof StreamSchema>;
const ProbeSchema = z.object({
  streams: z.array(StreamSchema).default([]),
  format: z
    .object({
      format_name: z.string().optional(),
      duration: numStr,
      start_time: numStr,
      tags: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});

/** Tags of the container first, then of each stream, keys lower-cased (MP4, Matroska and ID3 differ in case). */
function mergedTags(parsed: z.infer<typeof ProbeSchema>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tags of [parsed.format?.tags, ...parsed.streams.map((s) => s.tags)])
    for (const [k, v] of Object.entries(tags ?? {})) out[k.toLowerCase()] ??= v;
  return out;
}

/** Reads container and stream facts with ffprobe. Rejects when the file is not media ffmpeg can read. */
export async function probeMedia(file: string, opts: RunOptions = {}): Promise<MediaProbe> {
  const out = await runFfprobe(['-print_format', 'json', '-show_format', '-show_streams', inputPath(file)], {
    timeoutMs: opts.timeoutMs ?? 30_000,
    maxBytes: opts.maxBytes ?? 8 * 1024 * 1024,
    signal: opts.signal,
  });
  let parsed: z.infer<typeof ProbeSchema>;
  try {
    parsed = ProbeSchema.parse(JSON.parse(out.toString('utf8')));
  } catch {
    throw new Error('ffprobe returned output that is not the expected JSON');
  }
  const formatStart = num(parsed.format?.start_time) ?? 0;
  const audioStream = parsed.streams.find((s) => s.codec_type === 'audio' && (num(s.sample_rate) ?? 0) > 0);
  // Cover art in MP3/M4A/FLAC is a one-picture "video" stream; it is not a video.
  const videoStream = parsed.streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = audioStream ? audioInfo(audioStream, formatStart) : undefined;
  const video = videoStream ? videoInfo(videoStream, formatStart) : undefined;
  if (!audio && !video) throw new Error('no audio or video stream that ffmpeg can decode');
  const durationS = num(parsed.format?.duration) ?? Math.max(video?.durationS ?? 0, audio?.durationS ?? 0);
  return {
    durationS,
    formatName: parsed.format?.format_name ?? 'unknown',
    tags: mergedTags(parsed),
    audio,
    video,
  };
}

function audioInfo(s: ProbeStream, formatStart: number): AudioStreamInfo {
  return {
    sampleRate: num(s.sample_rate) ?? 0,
    channels: s.channels ?? 0,
    codec: s.codec_name ?? 'unknown',
    streamIndex: s.index,
    startOffsetS: Math.max(0, (num(s.start_time) ?? formatStart) - formatStart),
    durationS: num(s.duration) ?? clockDuration(s.tags?.DURATION),
  };
}

function videoInfo(s: ProbeStream, formatStart: number): VideoStreamInfo {
  const fps = rate(s.avg_frame_rate) ?? rate(s.r_frame_rate) ?? 0;
  const frames = num(s.nb_frames);
  return {
    width: s.width ?? 0,
    height: s.height ?? 0,
    fps,
    rotation: clockwiseRotation(s),
    codec: s.codec_name ?? 'unknown',
    frames: frames !== undefined && frames > 0 ? Math.round(frames) : undefined,
    streamIndex: s.index,
    startOffsetS: Math.max(0, (num(s.start_time) ?? formatStart) - formatStart),
    durationS: num(s.duration) ?? clockDuration(s.tags?.DURATION),
  };
}

/** Matroska/WebM keep a stream's length only as a "DURATION" tag, "HH:MM:SS.fffffffff". */
function clockDuration(tag: string | undefined): number | undefined {
  const m = tag ? /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(tag.trim()) : null;
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : undefined;
}

/**
 * Counts a stream's packets (one per frame for video) by demuxing the whole file without decoding:
 * the fallback for containers that state neither a frame count nor a duration.
 */
export async function countPackets(
  file: string,
  streamIndex: number,
  opts: RunOptions = {},
): Promise<number> {
  const out = await runFfprobe(
    [
      '-select_streams',
      String(streamIndex),
      '-count_packets',
      '-show_entries',
      'stream=nb_read_packets',
      '-of',
      'csv=p=0',
      inputPath(file),
    ],
    { timeoutMs: opts.timeoutMs ?? 120_000, maxBytes: 4096, signal: opts.signal },
  );
  const n = Number(out.toString('utf8').trim());
  if (!Number.isFinite(n)) throw new Error('ffprobe could not count the frames');
  return n;
}

/**
 * ffprobe ≥ 5 reports the display matrix's angle counter-clockwise; older builds expose the
 * legacy `rotate` tag, which is clockwise. Both are normalised to clockwise 0/90/180/270.
 */
function clockwiseRotation(s: ProbeStream): number {
  const matrix = s.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation;
  const deg = matrix !== undefined ? -matrix : Number(s.tags?.rotate ?? 0);
  if (!Number.isFinite(deg)) return 0;
  return (((Math.round(deg / 90) * 90) % 360) + 360) % 360;
}

function num(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** "30000/1001" → 29.97…; "0/0" and junk → undefined. */
function rate(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const [a, b] = v.split('/').map(Number);
  const r = b === undefined ? a : a / b;
  return Number.isFinite(r) && r > 0 ? r : undefined;
}
