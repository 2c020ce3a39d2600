import { DEFAULT_AUDIO_PARAMS, type AudioParams } from '../../../app/pack.js';
import { kaldiFbank } from './fbank.js';
import {
  ffTime,
  inputPath,
  probeMedia,
  runFfmpeg,
  type AudioStreamInfo,
  type MediaProbe,
  type RunOptions,
} from '../codecs/ffmpeg.js';
import { exactClipWindows, sampleRange, type ClipWindow } from './clip-sampler.js';
import { resample, resampleKernel, resampledLength } from './resample.js';
import { floatTensor, type FloatTensor } from './tensor.js';
import { readWavChannel0, readWavInfo, type WavInfo } from '../codecs/wav.js';

/**
 * ImageBind's load_and_transform_audio_data (imagebind/data.py), on ffmpeg (or, for plain WAV
 * files, a reader of our own that gives the same samples without starting a process):
 * decode channel 0 at the native rate → torchaudio-exact resample of the whole signal to 16 kHz →
 * ConstantClipsPerVideoSampler windows → per clip: subtract the mean, Kaldi fbank, transpose to
 * [bins, frames], zero-pad/cut to targetLength, normalise (x − mean)/std.
 */

export interface AudioClips {
  /** [clips, 1, numMelBins, targetLength] */
  tensor: FloatTensor;
  clips: ClipWindow[];
  durationS: number;
}

export interface AudioDecodeOptions extends RunOptions {
  /**
   * Files up to this long (seconds, by ffprobe) are decoded whole, exactly as ImageBind does. Longer
   * ones decode only each clip window plus the resampler's reach, so hours of audio cost the same
   * as a few seconds. Default 180.
   */
  fullDecodeMaxS?: number;
  /** A probeMedia result the caller already has, to save running ffprobe again. */
  probe?: MediaProbe;
  /**
   * Channel 0 of the probed stream, already decoded whole at its native rate by the caller's own
   * ffmpeg run (a short video's frames and soundtrack come out of one process; video.ts).
   */
  samples?: Float32Array;
}

export const AUDIO_FULL_DECODE_MAX_S = 180;

// ---------------------------------------------------------------------------------------------
// Mel clips.
// ---------------------------------------------------------------------------------------------

/**
 * waveform2melspec + Normalize for one clip → `[numMelBins · targetLength]`, row-major [bin][frame].
 * A clip shorter than one 25 ms window has no fbank frames; ImageBind would divide by zero there
 * (`abs(p) / n_frames`), Bindery instead returns pure padding, i.e. every value (0 − mean)/std,
 * so such a file still gets an (uninformative) embedding instead of an error.
 */
function melClip(clip: Float32Array, p: AudioParams): Float32Array {
  // ImageBind subtracts the clip mean first. Kaldi's remove_dc_offset then subtracts each frame's
  // own mean, which cancels any constant, so the result does not depend on this beyond rounding;
  // it is kept for fidelity. (The mean is over all channels in ImageBind; for the same reason
  // using channel 0's alone changes nothing.)
  let mean = 0;
  for (let i = 0; i < clip.length; i++) mean += clip[i];
  mean = clip.length > 0 ? mean / clip.length : 0;
  const centred = clip.map((v) => v - mean);
  const fb = kaldiFbank(centred, {
    sampleRate: p.sampleRate,
    numMelBins: p.numMelBins,
    frameLengthMs: p.frameLengthMs,
    frameShiftMs: p.frameShiftMs,
  });
  const frames = Math.min(fb.dims[0], p.targetLength);
  const bins = p.numMelBins;
  const T = p.targetLength;
  // Normalize runs in float32 after the zero padding, so padding becomes (0 − mean)/std too.
  const mean32 = Math.fround(p.mean);
  const std32 = Math.fround(p.std);
  const norm = (x: number): number => Math.fround(x - mean32) / std32;
  const out = new Float32Array(bins * T).fill(norm(0));
  for (let f = 0; f < frames; f++) {
    for (let b = 0; b < bins; b++) out[b * T + f] = norm(fb.data[f * bins + b]);
  }
  return out;
}

function stackClips(
  mels: Float32Array[],
  windows: ClipWindow[],
  durationS: number,
  p: AudioParams,
): AudioClips {
  const per = p.numMelBins * p.targetLength;
  const data = new Float32Array(mels.length * per);
  mels.forEach((m, i) => data.set(m, i * per));
  return {
    tensor: floatTensor(data, [mels.length, 1, p.numMelBins, p.targetLength]),
    clips: windows.map(({ startS, endS }) => ({ startS, endS })),
    durationS,
  };
}

/** The clips of a mono waveform already at `params.sampleRate` (pure; the heart of preprocessAudio). */
export function waveformToClips(
  wave16k: Float32Array,
  params: AudioParams = DEFAULT_AUDIO_PARAMS,
): AudioClips {
  // waveform.size(1) / sample_rate: a double division, as in Python.
  const durationS = wave16k.length / params.sampleRate;
  const windows = exactClipWindows(durationS, params.clipDurationS, params.clipsPerVideo);
  const mels = windows.map((w) => {
    const [a, b] = sampleRange(w, params.sampleRate, wave16k.length);
    return melClip(wave16k.subarray(a, Math.max(a, b)), params);
  });
  return stackClips(mels, windows, durationS, params);
}

// ---------------------------------------------------------------------------------------------
// Decoding.
// ---------------------------------------------------------------------------------------------

/** Decoded PCM bytes as floats (copied when the buffer is not 4-byte aligned). */
/** Float32 samples from an f32le buffer (copied only when the buffer is not 4-byte aligned). */
export function float32View(buf: Buffer): Float32Array {
  const n = Math.floor(buf.length / 4);
  if (buf.byteOffset % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset, n);
  const aligned = new Uint8Array(n * 4);
  aligned.set(buf.subarray(0, n * 4));
  return new Float32Array(aligned.buffer);
}

interface DecodeRange {
  startS: number;
  durationS: number;
}

/** Channel 0 of one audio stream at its native rate, read whole or by window. */
interface ChannelSource {
  sampleRate: number;
  /** The stream's length as its container states it (a decode may find a little more or less). */
  durationS: number;
  read(range: DecodeRange | null, maxSamples: number): Promise<Float32Array>;
}

/** ffmpeg for a stream the caller probed (a video's soundtrack); else a plain WAV file, else ffprobe + ffmpeg. */
async function openSource(file: string, opts: AudioDecodeOptions): Promise<ChannelSource> {
  if (!opts.probe) {
    const wav = await readWavInfo(file).catch(() => null);
    if (wav) return wavSource(file, wav);
  }
  const probe = opts.probe ?? (await probeMedia(file, { signal: opts.signal }));
  const audio = probe.audio;
  if (!audio) throw new Error('no audio stream');
  if (!(audio.sampleRate > 0)) throw new Error('audio stream has no sample rate');
  return {
    sampleRate: audio.sampleRate,
    durationS: audio.durationS ?? probe.durationS,
    read: (range, maxSamples) => decodeChannel0(file, audio, range, maxSamples, opts),
  };
}

function wavSource(file: string, wav: WavInfo): ChannelSource {
  const sr = wav.sampleRate;
  return {
    sampleRate: sr,
    durationS: wav.frames / sr,
    read: (range) =>
      range
        ? readWavChannel0(file, wav, Math.round(range.startS * sr), Math.round(range.durationS * sr))
        : readWavChannel0(file, wav),
  };
}

/**
 * Channel 0 of the first audio stream as float32 at its native rate. ImageBind does not downmix
 * (Kaldi fbank reads channel 0), so neither does this: pan keeps c0 bit-exactly.
 */
async function decodeChannel0(
  file: string,
  audio: AudioStreamInfo,
  range: DecodeRange | null,
  maxSamples: number,
  opts: RunOptions,
): Promise<Float32Array> {
  const seek = range ? ['-ss', ffTime(range.startS + audio.startOffsetS), '-t', ffTime(range.durationS)] : [];
  const buf = await runFfmpeg([...seek, '-i', inputPath(file), ...channel0Output(audio, 'pipe:1')], {
    ...opts,
    maxBytes: Math.ceil(maxSamples) * 4 + 65536,
  });
  return float32View(buf);
}

/** ffmpeg output options that write channel 0 of `audio` as float32 at its native rate to `target`. */
export function channel0Output(audio: AudioStreamInfo, target: string): string[] {
  // prettier-ignore
  return ['-map', `0:${audio.streamIndex}`, '-af', 'pan=mono|c0=c0', '-ar', String(audio.sampleRate),
    '-f', 'f32le', '-acodec', 'pcm_f32le', target];
}

/** Output cap for a whole-stream decode: twice the probed length (VBR and stream estimates run short), bounded below. */
export function wholeDecodeMaxBytes(
  durationS: number,
  sampleRate: number,
  fullMaxS = AUDIO_FULL_DECODE_MAX_S,
) {
  return Math.ceil(Math.max(durationS, fullMaxS) * 2 * sampleRate) * 4 + 65536;
}

/** ImageBind's audio preprocessing for any file ffmpeg can decode (audio files or a video's soundtrack). */
export async function preprocessAudio(
  file: string,
  params: AudioParams = DEFAULT_AUDIO_PARAMS,
  opts: AudioDecodeOptions = {},
): Promise<AudioClips> {
  const source = await openSource(file, opts);
  const fullMax = opts.fullDecodeMaxS ?? AUDIO_FULL_DECODE_MAX_S;
  if (source.durationS > fullMax && !opts.samples) return decodeWindows(source, params);
  const maxSamples = (wholeDecodeMaxBytes(source.durationS, source.sampleRate, fullMax) - 65536) / 4;
  const native = opts.samples ?? (await source.read(null, maxSamples));
  if (native.length === 0) throw new Error('audio stream decoded to no samples');
  return waveformToClips(resample(native, source.sampleRate, params.sampleRate), params);
}

/**
 * The long-file path: the same clips as a full decode, decoding only each window. The resampler's
 * output j depends on inputs near floor(j/target)·orig (gcd-reduced rates), so a chunk decoded
 * from a block boundary s0 = B·orig resamples to the full signal's outputs shifted by B·target.
 * Sample-exact for PCM/FLAC; for codecs whose seeking is not sample-exact, within a few samples.
 */
async function decodeWindows(source: ChannelSource, p: AudioParams): Promise<AudioClips> {
  const sr = source.sampleRate;
  const probedS = source.durationS;
  const k = resampleKernel(sr, p.sampleRate);
  const total = resampledLength(Math.round(probedS * sr), sr, p.sampleRate);
  const durationS = total / p.sampleRate;
  const windows = exactClipWindows(durationS, p.clipDurationS, p.clipsPerVideo);
  // Each side: the resampler's reach (width) plus 50 ms for codecs whose seek lands a little off.
  const marginBlocks = Math.ceil((0.05 * sr) / k.orig) + Math.ceil(k.width / k.orig) + 1;
  const mels: Float32Array[] = [];
  for (const w of windows) {
    const [a, b] = sampleRange(w, p.sampleRate, total);
    const firstBlock = Math.max(0, Math.floor(a / k.target) - marginBlocks);
    const lastBlock = Math.ceil(b / k.target) + marginBlocks;
    const s0 = firstBlock * k.orig;
    const len = (lastBlock - firstBlock) * k.orig;
    const chunk = await source.read({ startS: s0 / sr, durationS: len / sr }, len * 1.5);
    const out = resample(chunk, sr, p.sampleRate);
    const shift = firstBlock * k.target;
    const from = Math.min(a - shift, out.length);
    mels.push(melClip(out.subarray(from, Math.max(from, Math.min(b - shift, out.length))), p));
  }
  return stackClips(mels, windows, durationS, p);
}
