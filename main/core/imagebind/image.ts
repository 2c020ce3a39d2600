/**
 * ImageBind's vision preprocessing (`imagebind/data.py: load_and_transform_vision_data`):
 *
 *   Resize(224, BICUBIC) → CenterCrop(224) → ToTensor() → Normalize(CLIP mean, CLIP std)
 *
 * - Resize: torchvision's rule for an int size (short side → size, long side
 *   `int(size * long / short)`), done with the PIL-exact resampler in `pil-resize.ts`.
 * - CenterCrop: torchvision's offsets, `int(round((h - size) / 2))` with Python's round-half-even.
 * - ToTensor and Normalize: float32 arithmetic in torch's order (`v / 255`, then `(x - mean) / std`),
 *   which for 8-bit input is a 256-entry table per channel.
 *
 * Decoding (EXIF orientation, alpha, colour, HEIC, RAW, bounded memory) is `image-decode.ts`.
 * The helpers are exported for video frames, which use the same geometry and normalisation.
 */
import { DEFAULT_VISION_PARAMS, type VisionParams } from '../../../app/pack.js';
import { decodeImage, type DecodeOptions, type ImageInput } from '../codecs/image-decode.js';
import { resizeU8, type PilFilter } from './pil-resize.js';
import { floatTensor, type FloatTensor } from './tensor.js';

export interface Size {
  width: number;
  height: number;
}

export interface Rect extends Size {
  left: number;
  top: number;
}

/** torchvision `Resize(size)` with an int: the short side becomes `size`, the long side is truncated. */
export function shortSideSize(width: number, height: number, size: number): Size {
  // Same operation order as Python's `int(size * long / short)`, so the float rounding agrees.
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { width: Math.trunc((size * width) / height), height: size };
}

/** Python 3's `round()`: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/** torchvision `CenterCrop`: the crop rectangle inside a `width`×`height` image. */
export function centerCrop(width: number, height: number, cropWidth: number, cropHeight = cropWidth): Rect {
  if (cropWidth > width || cropHeight > height) {
    throw new Error(`centre crop ${cropWidth}x${cropHeight} does not fit in ${width}x${height}`);
  }
  return {
    left: roundHalfEven((width - cropWidth) / 2),
    top: roundHalfEven((height - cropHeight) / 2),
    width: cropWidth,
    height: cropHeight,
  };
}

type Triple = readonly [number, number, number];

/** Per channel, `((v / 255) - mean) / std` in float32 for every 8-bit value, as torch computes it. */
export function normalizationTables(mean: Triple, std: Triple): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(Math.fround(v / 255) - m) / s);
    return table;
  });
}

/**
 * Crops interleaved 8-bit RGB and writes it normalised, channel-major (CHW), into `out` at
 * `offset` (so video code can fill one view of a larger batch tensor in place).
 */
export function normalizeToChw(
  rgb: Uint8Array,
  width: number,
  crop: Rect,
  tables: Float32Array[],
  out: Float32Array = new Float32Array(3 * crop.width * crop.height),
  offset = 0,
): Float32Array {
  const plane = crop.width * crop.height;
  for (let y = 0; y < crop.height; y++) {
    let p = ((crop.top + y) * width + crop.left) * 3;
    let q = offset + y * crop.width;
    for (let x = 0; x < crop.width; x++, p += 3, q++) {
      out[q] = tables[0][rgb[p]];
      out[q + plane] = tables[1][rgb[p + 1]];
      out[q + 2 * plane] = tables[2][rgb[p + 2]];
    }
  }
  return out;
}

const tableCache = new Map<string, Float32Array[]>();

function tablesFor(params: VisionParams): Float32Array[] {
  const key = [...params.mean, ...params.std].join(',');
  let tables = tableCache.get(key);
  if (!tables) tableCache.set(key, (tables = normalizationTables(params.mean, params.std)));
  return tables;
}

/**
 * Short-side resize, centre crop and normalisation of decoded RGB pixels: ImageBind's transform
 * minus decoding. Returns CHW float32 of `params.size`².
 */
export function transformRgb(
  img: { data: Uint8Array; width: number; height: number },
  params: VisionParams = DEFAULT_VISION_PARAMS,
  filter: PilFilter = 'bicubic',
): Float32Array {
  const resized = shortSideSize(img.width, img.height, params.size);
  const crop = centerCrop(resized.width, resized.height, params.size);
  // Only the crop window of the resize is computed; the pixels are the same as resize-then-crop.
  const pixels = resizeU8(img.data, img.width, img.height, 3, resized.width, resized.height, filter, crop);
  return normalizeToChw(
    pixels,
    crop.width,
    { left: 0, top: 0, width: crop.width, height: crop.height },
    tablesFor(params),
  );
}

export interface PreprocessImageOptions {
  alpha?: DecodeOptions['alpha'];
  icc?: DecodeOptions['icc'];
  /**
   * Let libvips shrink big images on load (default true): when the short side exceeds 4× the
   * target, it is first reduced to 2× the target. false decodes at full size, as PIL would.
   */
  preShrink?: boolean;
}

/** An image file or buffer → ImageBind's vision input, float32 `[3, size, size]`. */
export async function preprocessImage(
  input: ImageInput,
  params: VisionParams = DEFAULT_VISION_PARAMS,
  opts: PreprocessImageOptions = {},
): Promise<FloatTensor> {
  const preShrink = opts.preShrink === false ? undefined : { above: 4 * params.size, to: 4 * params.size };
  const img = await decodeImage(input, { preShrink, alpha: opts.alpha, icc: opts.icc });
  return floatTensor(transformRgb(img, params), [3, params.size, params.size]);
}
