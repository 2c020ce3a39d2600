import type { InputKind } from '../../../app/modality.js';

/**
 * What a file dropped from the OS most likely is. The engine sniffs library files by content,
 * but a query term needs a modality up front, so we guess from the MIME type and extension and
 * let the user correct it on the chip when the guess is ambiguous (a PNG may be a photo, a depth
 * map or a thermal frame).
 */
export interface ModalityGuess {
  kind: Exclude<InputKind, 'text'> | null;
  /** Every modality this file could plausibly be queried as, best first. */
  candidates: Exclude<InputKind, 'text'>[];
}

const IMAGE_EXT = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'heic', 'heif', 'avif'];
const AUDIO_EXT = ['wav', 'mp3', 'flac', 'ogg', 'oga', 'opus', 'm4a', 'aac', 'aif', 'aiff', 'wma'];
const VIDEO_EXT = ['mp4', 'm4v', 'mov', 'mkv', 'webm', 'avi', 'mpg', 'mpeg', 'wmv', '3gp'];
const IMU_EXT = ['csv', 'tsv'];
/** Formats that can carry single-channel (depth or thermal) frames. */
const SINGLE_CHANNEL_EXT = ['png', 'tif', 'tiff', 'pgm', 'exr'];

export function extensionOf(name: string): string {
  const m = /\.([a-z0-9]+)$/i.exec(name);
  return m ? m[1].toLowerCase() : '';
}

export function guessModality(file: { name: string; type: string }): ModalityGuess {
  const ext = extensionOf(file.name);
  const mime = file.type.toLowerCase();
  const name = file.name.toLowerCase();
  if (IMU_EXT.includes(ext) || mime === 'text/csv' || mime === 'text/tab-separated-values') {
    return { kind: 'imu', candidates: ['imu'] };
  }
  if (ext === 'pgm' || ext === 'exr' || mime.startsWith('image/') || IMAGE_EXT.includes(ext)) {
    if (!SINGLE_CHANNEL_EXT.includes(ext)) return { kind: 'image', candidates: ['image'] };
    if (/depth|disparity|\bdisp\b|_d\b/.test(name))
      return { kind: 'depth', candidates: ['depth', 'thermal', 'image'] };
    if (/thermal|flir|\bir\b|infra/.test(name))
      return { kind: 'thermal', candidates: ['thermal', 'depth', 'image'] };
    return { kind: 'image', candidates: ['image', 'depth', 'thermal'] };
  }
  if (mime.startsWith('audio/') || AUDIO_EXT.includes(ext)) return { kind: 'audio', candidates: ['audio'] };
  if (mime.startsWith('video/') || VIDEO_EXT.includes(ext))
    return { kind: 'video', candidates: ['video', 'audio'] };
  return { kind: null, candidates: [] };
}

/** Restricts a guess to what the active pack can encode, keeping the order. */
export function supportedGuess(guess: ModalityGuess, inputKinds: readonly InputKind[]): ModalityGuess {
  const candidates = guess.candidates.filter((k) => inputKinds.includes(k));
  return { kind: candidates[0] ?? null, candidates };
}

export const KIND_LABEL: Record<InputKind | 'segment', string> = {
  text: 'Text',
  image: 'Image',
  audio: 'Audio',
  video: 'Video',
  depth: 'Depth',
  thermal: 'Thermal',
  imu: 'IMU',
  segment: 'Result',
};

/** The accept list for the file picker, from the kinds the active pack has. */
export function acceptFor(inputKinds: readonly InputKind[]): string {
  const parts: string[] = [];
  if (inputKinds.some((k) => k === 'image' || k === 'depth' || k === 'thermal'))
    parts.push('image/*', '.heic', '.pgm');
  if (inputKinds.includes('audio')) parts.push('audio/*');
  if (inputKinds.includes('video')) parts.push('video/*');
  if (inputKinds.includes('imu')) parts.push('.csv', '.tsv');
  return parts.join(',');
}
