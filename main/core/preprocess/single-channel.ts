/**
 * Depth and thermal preprocessing → float32 `[1, size, size]`.
 *
 * ImageBind's repository ships no loader for these modalities (its `data.py` covers vision, text
 * and audio only). Its depth encoder was trained on disparity maps (SUN RGB-D, NYU-v2) and its
 * thermal encoder on 8-bit thermal frames (LLVIP), both as one-channel images put through the
 * same geometry as RGB. Bindery therefore does:
 *
 * 1. decode the samples without colour management (values are measurements, not colours), with
 *    EXIF orientation applied, alpha dropped, and 16-bit sources kept at 16 bits;
 * 2. scale to [0, 1]: 16-bit by 1/65535, 8-bit by 1/255 (ToTensor's convention, extended);
 * 3. an RGB source (a colourised export, say) becomes luma with ITU-R 601 weights
 *    (0.299, 0.587, 0.114), the weights of PIL's `convert('L')`, kept in float;
 * 4. short side → `size` with PIL's bicubic on a float ('F' mode) image, then centre crop, exactly
 *    the vision geometry (`image.ts`);
 * 5. `(x - mean) / std` with the pack's parameters (defaults 0 and 1, i.e. unchanged).
 *
 * A pack whose depth encoder expects another convention (metric depth, inverse depth in other
 * units) states it through `mean`/`std`; anything further belongs in the pack's exporter.
 */
import { SingleChannelParamsSchema, type SingleChannelParams } from '../../../app/pack.js';
import { decodeSamples, type ImageInput, type SampleImage } from './image-decode.js';
import { centerCrop, shortSideSize } from './image.js';
import { resizeF32 } from './pil-resize.js';
import { floatTensor, type FloatTensor } from './tensor.js';

export const DEFAULT_SINGLE_CHANNEL_PARAMS: SingleChannelParams = SingleChannelParamsSchema.parse({});

const LUMA = [0.299, 0.587, 0.114] as const;

/** Decoded samples → one float channel in [0, 1]. */
export function toUnitFloat(img: SampleImage): Float32Array {
  const scale = 1 / (img.bitDepth === 16 ? 65535 : 255);
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const d = img.data;
  if (img.channels === 1) {
    for (let i = 0; i < n; i++) out[i] = d[i] * scale;
  } else {
    for (let i = 0, p = 0; i < n; i++, p += 3)
      out[i] = (LUMA[0] * d[p] + LUMA[1] * d[p + 1] + LUMA[2] * d[p + 2]) * scale;
  }
  return out;
}

/** Short-side resize, centre crop and normalisation of a [0, 1] float map. */
export function transformSingleChannel(
  values: Float32Array,
  width: number,
  height: number,
  params: SingleChannelParams,
): Float32Array {
  const resized = shortSideSize(width, height, params.size);
  const crop = centerCrop(resized.width, resized.height, params.size);
  const out = resizeF32(values, width, height, resized.width, resized.height, 'bicubic', crop);
  const mean = Math.fround(params.mean);
  const std = Math.fround(params.std);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] - mean) / std;
  return out;
}

async function preprocessSingleChannel(input: ImageInput, params: SingleChannelParams): Promise<FloatTensor> {
  // As for RGB, libvips pre-shrinks only images far larger than the target, bounding memory.
  const img = await decodeSamples(input, { preShrink: { above: 4 * params.size, to: 4 * params.size } });
  const values = transformSingleChannel(toUnitFloat(img), img.width, img.height, params);
  return floatTensor(values, [1, params.size, params.size]);
}

/** A depth (disparity) map, 8- or 16-bit, as PNG/TIFF/any decodable image → `[1, size, size]`. */
export function preprocessDepth(
  input: ImageInput,
  params: SingleChannelParams = DEFAULT_SINGLE_CHANNEL_PARAMS,
): Promise<FloatTensor> {
  return preprocessSingleChannel(input, params);
}

/** A thermal frame, 8- or 16-bit (radiometric), as any decodable image → `[1, size, size]`. */
export function preprocessThermal(
  input: ImageInput,
  params: SingleChannelParams = DEFAULT_SINGLE_CHANNEL_PARAMS,
): Promise<FloatTensor> {
  return preprocessSingleChannel(input, params);
}
