import { z } from 'zod';
import { ENCODER_MODALITIES } from './modality.js';

/**
 * The model-pack manifest (`pack.json`). A pack is a folder with this file and its ONNX graphs.
 * Preprocessing parameters default to ImageBind's own (imagebind/data.py), so a pack only states
 * what differs.
 */

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lower-case hex digits');
const relFile = z
  .string()
  .min(1)
  .refine(
    (f) => !f.includes('..') && !f.startsWith('/') && !f.includes('\\'),
    'file must be a plain relative path',
  );

export { PRECISIONS, type Precision } from './precision.js';

export const PackFileSchema = z.object({ file: relFile, sha256, bytes: z.number().int().nonnegative() });
export type PackFile = z.infer<typeof PackFileSchema>;

export const TensorSpecSchema = z.object({
  name: z.string().min(1),
  dtype: z.enum(['float32', 'float16', 'int64']),
  /** Fixed sizes as numbers, dynamic axes as names ("N", "S"). */
  shape: z.array(z.union([z.number().int().positive(), z.string().min(1)])).min(1),
});
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

const rgb = z.tuple([z.number(), z.number(), z.number()]);

export const VisionParamsSchema = z.object({
  size: z.number().int().positive().default(224),
  mean: rgb.default([0.48145466, 0.4578275, 0.40821073]),
  std: rgb.default([0.26862954, 0.26130258, 0.27577711]),
  videoClipDurationS: z.number().positive().default(2),
  videoClipsPerVideo: z.number().int().positive().default(5),
  videoFramesPerClip: z.number().int().positive().default(2),
  videoSpatialCrops: z.union([z.literal(1), z.literal(3)]).default(3),
});
export const TextParamsSchema = z.object({
  contextLength: z.number().int().positive().default(77),
  sot: z.number().int().default(49406),
  eot: z.number().int().default(49407),
});
export const AudioParamsSchema = z.object({
  sampleRate: z.number().int().positive().default(16000),
  numMelBins: z.number().int().positive().default(128),
  targetLength: z.number().int().positive().default(204),
  clipDurationS: z.number().positive().default(2),
  clipsPerVideo: z.number().int().positive().default(3),
  frameLengthMs: z.number().positive().default(25),
  frameShiftMs: z.number().positive().default(10),
  mean: z.number().default(-4.268),
  std: z.number().positive().default(9.138),
});
/**
 * Depth (docs/preprocessing.md § Depth): metric depth maps become disparity and then Omnivore's
 * DepthNorm, the recipe ImageBind's depth tower descends from; disparity images are taken as is.
 */
export const DepthParamsSchema = z.object({
  size: z.number().int().positive().default(224),
  /** auto: a 16-bit image is metric depth, an 8-bit one is disparity. */
  input: z.enum(['auto', 'depth', 'disparity']).default('auto'),
  /** Metres per unit of a metric depth map (16-bit PNGs from Kinect, RealSense, phones: millimetres). */
  depthUnitM: z.number().positive().default(0.001),
  /** disparity = baselineM × focalPx / depth; the Kinect v1 / NYU Depth v2 calibration by default. */
  baselineM: z.number().positive().default(0.075),
  focalPx: z.number().positive().default(518.857),
  /** DepthNorm: disparity clamped to [minDisparity, maxDisparity], then divided by maxDisparity. */
  minDisparity: z.number().nonnegative().default(0.01),
  maxDisparity: z.number().positive().default(75),
  mean: z.number().default(0.0418),
  std: z.number().positive().default(0.0295),
});
/** Thermal (docs/preprocessing.md § Thermal): 8-bit frames as LLVIP's; 16-bit ones are stretched to them. */
export const ThermalParamsSchema = z.object({
  size: z.number().int().positive().default(224),
  /** 16-bit radiometric frames: these percentiles map to 0 and 255 before quantising to 8 bits. */
  stretchPercentiles: z
    .tuple([z.number().min(0).max(100), z.number().min(0).max(100)])
    .refine(([lo, hi]) => lo < hi, 'the low percentile must be below the high one')
    .default([1, 99]),
  mean: z.number().default(0),
  std: z.number().positive().default(1),
});
export const ImuParamsSchema = z.object({
  /** Samples per window and their rate: ImageBind's 2000 samples, 5 s at 400 Hz. */
  samples: z.number().int().positive().default(2000),
  rateHz: z.number().positive().default(400),
  /** A long recording is covered by up to this many windows, each embedded like an audio clip. */
  maxWindows: z.number().int().positive().max(64).default(8),
});

const encoderBase = {
  onnx: PackFileSchema,
  /** Extra weight files an ONNX graph references (models over 2 GB). */
  externalData: z.array(PackFileSchema).default([]),
  input: TensorSpecSchema,
  output: TensorSpecSchema,
  /** The scale ImageBind's postprocessor multiplies by (1 where none); Bindery re-normalises anyway. */
  logitScale: z.number().positive().default(1),
  /**
   * Bytes of the graph's largest intermediate tensor per clip (converted packs state it): the
   * runtime keeps each WebGPU run under that provider's 128 MiB buffer limit with it.
   */
  activationBytes: z.number().int().positive().optional(),
};

export const EncodersSchema = z.object({
  vision: z.object({ ...encoderBase, preprocess: VisionParamsSchema.prefault({}) }).optional(),
  text: z.object({ ...encoderBase, preprocess: TextParamsSchema.prefault({}) }).optional(),
  audio: z.object({ ...encoderBase, preprocess: AudioParamsSchema.prefault({}) }).optional(),
  depth: z.object({ ...encoderBase, preprocess: DepthParamsSchema.prefault({}) }).optional(),
  thermal: z.object({ ...encoderBase, preprocess: ThermalParamsSchema.prefault({}) }).optional(),
  imu: z.object({ ...encoderBase, preprocess: ImuParamsSchema.prefault({}) }).optional(),
});

/**
 * How to tell a strong match from a weak one with this pack's scores (docs/architecture.md §6).
 * Raw cosines mean different things per pair of modalities and per library, so a real pack
 * calibrates each query against a background: its scores with a random sample of the library.
 * A result is strong when it stands further above the sample's median (in robust standard
 * deviations) than the best of the library's unrelated items would by chance, plus `margin`.
 * `none`: the pack cannot tell (random weights), and `reason` says so.
 */
export const MatchSignalSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('none'), reason: z.string().min(1) }).strict(),
  z
    .object({
      method: z.literal('background'),
      margin: z.number().min(0).max(10).default(1),
      sample: z.number().int().min(64).max(65536).default(2048),
    })
    .strict(),
]);
export type MatchSignal = z.infer<typeof MatchSignalSchema>;

export const PackManifestSchema = z.object({
  format: z.literal(1),
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'id: lower-case letters, digits, dot, dash, underscore'),
  name: z.string().min(1),
  version: z.string().min(1),
  description: z.string().default(''),
  licence: z.object({
    name: z.string().min(1),
    url: z.string().optional(),
    text: z.string().optional(),
    /** "Non-commercial use only", shown beside the name. */
    summary: z.string().optional(),
    /** Every licence the publisher states, where they state it (ImageBind states two). */
    terms: z.array(z.object({ name: z.string(), url: z.string(), statedIn: z.string() })).optional(),
    /** When the user accepted these terms (ISO 8601), for weights that need acceptance. */
    acceptedAt: z.string().optional(),
  }),
  /** A plumbing fixture with random weights: results carry no meaning and the UI says so. */
  testPack: z.boolean().default(false),
  /** Default: none for a test pack, a background calibration otherwise (matchSignalOf). */
  matchSignal: MatchSignalSchema.optional(),
  embeddingDim: z.number().int().positive(),
  tokenizer: PackFileSchema.optional(),
  encoders: EncodersSchema.refine((e) => Object.keys(e).length > 0, 'a pack needs at least one encoder'),
  sources: z.object({ urls: z.array(z.string().url()).default([]) }).default({ urls: [] }),
  /**
   * What the self-test must reproduce on ImageBind's example files (rows and columns dog, car,
   * bird): softmax matrices per pair of modalities. Default: ImageBind's README (packs of other
   * weights, e.g. fine-tuned ones, state their own).
   */
  selftest: z
    .object({
      expected: z.record(
        z.enum(['Vision×Text', 'Audio×Text', 'Vision×Audio']),
        z.array(z.array(z.number()).length(3)).length(3),
      ),
    })
    .optional(),
});
export type PackManifest = z.infer<typeof PackManifestSchema>;

export const TEST_PACK_SIGNAL: MatchSignal = {
  method: 'none',
  reason: 'the test pack has random weights: no score means a good match',
};

/** The one rule for a pack's match signal, stated or by default. */
export function matchSignalOf(manifest: Pick<PackManifest, 'matchSignal' | 'testPack'>): MatchSignal {
  if (manifest.matchSignal) return manifest.matchSignal;
  return manifest.testPack ? TEST_PACK_SIGNAL : MatchSignalSchema.parse({ method: 'background' });
}

/** How a pack's licence is shown: every stated licence and the summary ("CC-BY-NC 4.0 / CC BY-NC-SA 4.0 — non-commercial use only"). */
export function licenceLabel(licence: PackManifest['licence']): string {
  const names = licence.terms?.length ? licence.terms.map((t) => t.name).join(' / ') : licence.name;
  return licence.summary ? `${names} — ${licence.summary.toLowerCase()}` : names;
}
export type EncoderSpec = NonNullable<PackManifest['encoders'][(typeof ENCODER_MODALITIES)[number]]>;
export type VisionParams = z.infer<typeof VisionParamsSchema>;
export type TextParams = z.infer<typeof TextParamsSchema>;
export type AudioParams = z.infer<typeof AudioParamsSchema>;
export type DepthParams = z.infer<typeof DepthParamsSchema>;
export type ThermalParams = z.infer<typeof ThermalParamsSchema>;
export type ImuParams = z.infer<typeof ImuParamsSchema>;

export const DEFAULT_VISION_PARAMS: VisionParams = VisionParamsSchema.parse({});
export const DEFAULT_TEXT_PARAMS: TextParams = TextParamsSchema.parse({});
export const DEFAULT_AUDIO_PARAMS: AudioParams = AudioParamsSchema.parse({});
