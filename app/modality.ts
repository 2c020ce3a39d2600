/**
 * Modalities and media kinds. ImageBind has six encoder modalities; a person thinks in input kinds
 * (a photo, a video, a sound), and video is encoded by the vision tower, so the two lists differ.
 */

/** The encoders a model pack can contain (ImageBind's ModalityType names). */
export const ENCODER_MODALITIES = ['vision', 'text', 'audio', 'depth', 'thermal', 'imu'] as const;
export type EncoderModality = (typeof ENCODER_MODALITIES)[number];

/** What a query term or a dropped file can be. */
export const INPUT_KINDS = ['text', 'image', 'audio', 'video', 'depth', 'thermal', 'imu'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** What a library file can be once sniffed; only these are indexed. */
/** One stored segment of a content: a clip's time window, or the whole file (its mean). */
export interface SegmentSpec {
  modality: string;
  level: 'clip' | 'file';
  tStart: number;
  tEnd: number;
  crop?: string;
}

/** Where a file's date comes from: its own bytes (EXIF, the container, tags) or its mtime. */
export const DATE_SOURCES = ['exif', 'container', 'tags', 'mtime'] as const;
export type DateSource = (typeof DATE_SOURCES)[number];

/** When and where a file's bytes say it was captured (main/core/codecs/capture.ts); null when they do not say. */
export interface CaptureFacts {
  takenMs: number | null;
  source: Exclude<DateSource, 'mtime'> | null;
  lat: number | null;
  lon: number | null;
}

export const MEDIA_KINDS = ['image', 'audio', 'video'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** The encoder that embeds each input kind. */
export const ENCODER_FOR_INPUT: Readonly<Record<InputKind, EncoderModality>> = {
  text: 'text',
  image: 'vision',
  video: 'vision',
  audio: 'audio',
  depth: 'depth',
  thermal: 'thermal',
  imu: 'imu',
};

/** The encoders a library file of each kind needs: a video is embedded by its frames and its soundtrack. */
export const ENCODERS_FOR_MEDIA: Readonly<Record<MediaKind, readonly EncoderModality[]>> = {
  image: ['vision'],
  audio: ['audio'],
  video: ['vision', 'audio'],
};

/** Input kinds a pack can serve, given the encoders it has. */
export function inputKindsFor(encoders: readonly EncoderModality[]): InputKind[] {
  return INPUT_KINDS.filter((kind) => encoders.includes(ENCODER_FOR_INPUT[kind]));
}
