/**
 * Depth and thermal preprocessing → float32 `[1, size, size]` (docs/preprocessing.md § Depth,
 * § Thermal).
 *
 * ImageBind's repository ships no loader for these modalities (its `data.py` covers vision, text
 * and audio only). Its depth tower was trained on SUN RGB-D depth converted to disparity, the
 * recipe of Omnivore (same authors); its thermal tower on LLVIP's 8-bit infrared frames. So:
 *
 * 1. decode the samples without colour management (values are measurements, not colours), with
 *    EXIF orientation applied, alpha dropped, 16-bit sources kept at 16 bits, an RGB source turned
 *    into luma with PIL's `convert('L')` weights (0.299, 0.587, 0.114), kept in float;
 * 2. depth: a metric depth map (16-bit, millimetres by default) becomes disparity,
 *    baseline × focal / depth, then Omnivore's DepthNorm (clamp to [0.01, 75], divide by 75);
 *    a disparity image is taken as is (its full range → [0, 1]);
 *    thermal: 8-bit by 1/255; a 16-bit radiometric frame is contrast-stretched between two
 *    percentiles and quantised to 8 bits, the range of the frames the model saw;
 * 3. short side → `size` with PIL's bicubic on a float ('F' mode) image, then centre crop, exactly
 *    the vision geometry (`image.ts`);
 * 4. `(x - mean) / std` with the pack's parameters.
 */
import {
  DepthParamsSchema,
  ThermalParamsSchema,
  type DepthParams,
  type ThermalParams,
} from '../../../app/pack.js';
import { decodeSamples, type ImageInput, type SampleImage } from '../codecs/image-decode.js';
import { centerCrop, shortSideSize } from './image.js';
import { resizeF32 } from './pil-resize.js';
import { floatTensor, type FloatTensor } from './tensor.js';

export const DEFAULT_DEPTH_PARAMS: DepthParams = DepthParamsSchema.parse({});
export const DEFAULT_THERMAL_PARAMS: ThermalParams = ThermalParamsSchema.parse({});

const LUMA = [0.299, 0.587, 0.114] as const;

/** Decoded samples → one channel of raw sample values (0…255 or 0…65535; luma for RGB). */
export function sampleValues(img: SampleImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const d = img.data;
  if (img.channels === 1) {
    for (let i = 0; i < n; i++) out[i] = d[i];
  } else {
    for (let i = 0, p = 0; i < n; i++, p += 3)
      out[i] = LUMA[0] * d[p] + LUMA[1] * d[p + 1] + LUMA[2] * d[p + 2];
  }
  return out;
}

const fullScale = (img: SampleImage) => (img.bitDepth === 16 ? 65535 : 255);

/** Depth or disparity samples → DepthNorm'd disparity in [0, 1]. */
export function depthToUnit(img: SampleImage, p: DepthParams): Float32Array {
  const v = sampleValues(img);
  const kind = p.input === 'auto' ? (img.bitDepth === 16 ? 'depth' : 'disparity') : p.input;
  if (kind === 'disparity') {
    const scale = 1 / fullScale(img);
    return v.map((x) => x * scale);
  }
  const bf = p.baselineM * p.focalPx;
  return v.map((x) => {
    const metres = x * p.depthUnitM;
    // 0 is "no measurement" in depth PNGs: no disparity, which DepthNorm clamps to its minimum.
    const disparity = metres > 0 ? bf / metres : 0;
    return Math.min(Math.max(disparity, p.minDisparity), p.maxDisparity) / p.maxDisparity;
  });
}

/** The value at percentile `q` (0…100) of integer samples, by the lower nearest rank. */
function percentile(hist: Uint32Array, count: number, q: number): number {
  const rank = Math.floor((q / 100) * (count - 1));
  let seen = 0;
  for (let v = 0; v < hist.length; v++) {
    seen += hist[v];
    if (seen > rank) return v;
  }
  return hist.length - 1;
}

/** Thermal samples → [0, 1]: 8-bit as is; 16-bit stretched between percentiles and quantised to 8 bits. */
export function thermalToUnit(img: SampleImage, p: ThermalParams): Float32Array {
  const v = sampleValues(img);
  if (img.bitDepth !== 16) return v.map((x) => x / 255);
  const hist = new Uint32Array(65536);
  for (const x of v) hist[Math.min(65535, Math.max(0, Math.round(x)))]++;
  const lo = percentile(hist, v.length, p.stretchPercentiles[0]);
  const hi = percentile(hist, v.length, p.stretchPercentiles[1]);
  const span = hi - lo;
  return v.map((x) => (span > 0 ? Math.round(Math.min(Math.max((x - lo) / span, 0), 1) * 255) / 255 : 0));
}

/** Short-side resize, centre crop and normalisation of a [0, 1] float map. */
export function transformSingleChannel(
  values: Float32Array,
  width: number,
  height: number,
  params: { size: number; mean: number; std: number },
): Float32Array {
  const resized = shortSideSize(width, height, params.size);
  const crop = centerCrop(resized.width, resized.height, params.size);
  const out = resizeF32(values, width, height, resized.width, resized.height, 'bicubic', crop);
  const mean = Math.fround(params.mean);
  const std = Math.fround(params.std);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] - mean) / std;
  return out;
}

async function decodeFor(input: ImageInput, size: number): Promise<SampleImage> {
  // As for RGB, libvips pre-shrinks only images far larger than the target, bounding memory.
  return decodeSamples(input, { preShrink: { above: 4 * size, to: 4 * size } });
}

/** A depth map (metric, 16-bit) or disparity image (8-bit) as PNG/TIFF/any decodable image → `[1, size, size]`. */
export async function preprocessDepth(
  input: ImageInput,
  params: DepthParams = DEFAULT_DEPTH_PARAMS,
): Promise<FloatTensor> {
  const img = await decodeFor(input, params.size);
  const values = transformSingleChannel(depthToUnit(img, params), img.width, img.height, params);
  return floatTensor(values, [1, params.size, params.size]);
}

/** A thermal frame, 8-bit or 16-bit radiometric, as any decodable image → `[1, size, size]`. */
export async function preprocessThermal(
  input: ImageInput,
  params: ThermalParams = DEFAULT_THERMAL_PARAMS,
): Promise<FloatTensor> {
  const img = await decodeFor(input, params.size);
  const values = transformSingleChannel(thermalToUnit(img, params), img.width, img.height, params);
  return floatTensor(values, [1, params.size, params.size]);
}
