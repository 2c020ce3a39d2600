import type { CaptureFacts, EncoderModality, MediaKind } from '../../../app/modality.js';
import { imageCapture, probeCapture } from '../codecs/capture.js';
import { readWavInfo } from '../codecs/wav.js';
import type { PackManifest } from '../../../app/pack.js';
import { DEFAULT_AUDIO_PARAMS, DEFAULT_VISION_PARAMS, type VisionParams } from '../../../app/pack.js';
import type { SegmentSpec } from '../../../app/modality.js';
import { preprocessAudio } from '../imagebind/audio.js';
import { probeMedia, type AudioStreamInfo, type MediaProbe } from '../codecs/ffmpeg.js';
import { preprocessImage } from '../imagebind/image.js';
import type { FloatTensor } from '../imagebind/tensor.js';
import { preprocessVideo } from '../imagebind/video.js';

/** Rows of one preprocessed tensor that together make one stored segment (e.g. the 3 crops of a clip). */
export interface SegmentGroup {
  segment: SegmentSpec;
  rows: number[];
}

/** What one file asks of one encoder: a batch of rows, how they group into segments, and an optional file-level mean. */
export interface EncodeWork {
  modality: EncoderModality;
  tensor: FloatTensor;
  groups: SegmentGroup[];
  fileLevel: SegmentSpec | null;
}

export interface Decoded {
  kind: MediaKind;
  durationS: number | null;
  works: EncodeWork[];
  /** When and where the bytes say the file was captured. */
  capture: CaptureFacts;
}

/**
 * Turns a file into encoder work with exactly ImageBind's preprocessing. A video is embedded by its
 * frames (5 clips × 3 crops) and its soundtrack (3 clips); an "mp4" without a picture is audio.
 */
export async function decodeFile(file: string, kind: MediaKind, pack: PackManifest): Promise<Decoded> {
  const enc = pack.encoders;
  if (kind === 'image') {
    if (!enc.vision) throw new Error('the active model pack has no vision encoder');
    const [t, capture] = await Promise.all([
      preprocessImage(file, enc.vision.preprocess),
      imageCapture(file),
    ]);
    return { kind, durationS: null, works: [photoWork(t)], capture };
  }
  // A plain WAV needs no ffprobe (it is read in-process, and has no date tags ffprobe would add).
  const probe = kind === 'video' || !(await isPlainWav(file)) ? await probeMedia(file) : undefined;
  if (probe?.video) return decodeVideo(file, pack, probe);
  if (probe && !probe.audio) throw new Error('no video or audio stream');
  if (!enc.audio) throw new Error('the active model pack has no audio encoder');
  const audio = await audioWork(file, pack, probe);
  return {
    kind: 'audio',
    durationS: audio.durationS,
    works: [audio.work],
    capture: probeCapture(probe, 'audio'),
  };
}

const isPlainWav = (file: string): Promise<boolean> =>
  readWavInfo(file).then(
    () => true,
    () => false,
  );

function photoWork(t: FloatTensor): EncodeWork {
  const tensor: FloatTensor = { ...t, dims: [1, ...t.dims] };
  return {
    modality: 'vision',
    tensor,
    groups: [{ segment: fileSegment('vision'), rows: [0] }],
    fileLevel: null,
  };
}

/**
 * A short video's frames and soundtrack come out of one ffmpeg run (video.ts reads such a video in
 * one pass); a longer one's soundtrack is decoded after its frames, by its own run. Throughput is
 * bound by the CPU ffmpeg's starts take (the pipeline decodes two files at once), so starts are
 * what to save, not latency within one file.
 */
async function decodeVideo(file: string, pack: PackManifest, probe: MediaProbe): Promise<Decoded> {
  const { vision, audio } = pack.encoders;
  const soundtrack = audio ? probe.audio : undefined;
  const frames = vision ? await framesWork(file, vision.preprocess, probe, soundtrack) : null;
  const sound = soundtrack ? await audioWork(file, pack, probe, frames?.soundtrackSamples) : null;
  const works = [frames, sound].flatMap((x) => (x ? [x.work] : []));
  const durationS = frames?.durationS ?? sound?.durationS ?? null;
  if (works.length === 0)
    throw new Error('the active model pack can embed neither the frames nor the soundtrack');
  return { kind: 'video', durationS, works, capture: probeCapture(probe, 'video') };
}

async function framesWork(
  file: string,
  params: VisionParams | undefined,
  probe: MediaProbe,
  soundtrack: AudioStreamInfo | undefined,
): Promise<{ work: EncodeWork; durationS: number; soundtrackSamples?: Float32Array }> {
  const v = await preprocessVideo(file, params ?? DEFAULT_VISION_PARAMS, { probe, soundtrack });
  const crops = v.tensor.dims[0] / v.clips.length;
  const groups = v.clips.map((c, i) => ({
    segment: clipSegment('vision', c.startS, c.endS),
    rows: Array.from({ length: crops }, (_, j) => i * crops + j),
  }));
  return {
    work: { modality: 'vision', tensor: v.tensor, groups, fileLevel: fileSegment('vision') },
    durationS: v.durationS,
    soundtrackSamples: v.soundtrackSamples,
  };
}

async function audioWork(
  file: string,
  pack: PackManifest,
  probe: MediaProbe | undefined,
  samples?: Float32Array,
): Promise<{ work: EncodeWork; durationS: number }> {
  const params = pack.encoders.audio?.preprocess ?? DEFAULT_AUDIO_PARAMS;
  const a = await preprocessAudio(file, params, { probe, samples });
  const groups = a.clips.map((c, i) => ({ segment: clipSegment('audio', c.startS, c.endS), rows: [i] }));
  return {
    work: { modality: 'audio', tensor: a.tensor, groups, fileLevel: fileSegment('audio') },
    durationS: a.durationS,
  };
}

function clipSegment(modality: EncoderModality, start: number, end: number): SegmentSpec {
  return { modality, level: 'clip', tStart: round3(start), tEnd: round3(end) };
}

function fileSegment(modality: EncoderModality): SegmentSpec {
  return { modality, level: 'file', tStart: 0, tEnd: 0 };
}

/** Millisecond precision keeps segment identity stable across float noise in clip times. */
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
