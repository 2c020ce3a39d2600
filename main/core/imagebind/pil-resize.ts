// Size: Pillow's filters and its two-pass resize, ported together so the arithmetic stays Pillow's.
/**
 * Pillow's resampling resize (libImaging/Resample.c, Pillow 9.4), ported so that Bindery's image
 * tensors match ImageBind's to the pixel. torchvision's `Resize` on a PIL image calls
 * `PIL.Image.resize(size, BICUBIC)`, which is a separable convolution with an antialiasing filter:
 *
 * - per output pixel, the filter is centred at `(i + 0.5) * scale` in input coordinates, and its
 *   support grows with the downscale factor (`support * max(scale, 1)`), so downscaling averages
 *   over every input pixel instead of point-sampling;
 * - the taps of each output pixel are normalised to sum to 1;
 * - 8-bit images use 22-bit fixed-point taps and round and clip to uint8 after each pass
 *   (horizontal first, then vertical), which is where a float implementation would drift by ±1;
 * - 32-bit float images ('F' mode) keep double taps and store float32 after each pass.
 *
 * Only the whole-image box (Pillow's default) is supported: that is what torchvision uses.
 */

export type PilFilter = 'bicubic' | 'bilinear';

/** Fixed-point fraction bits of 8-bit taps: 32 bits minus 8 for the value minus 2 for overshoot. */
const PRECISION_BITS = 32 - 8 - 2;

interface FilterDef {
  readonly fn: (x: number) => number;
  /** Half-width of the kernel at scale 1. */
  readonly support: number;
}

/** Keys' cubic convolution with a = -0.5, as in Pillow (and Wikipedia's bicubic convolution). */
function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

function bilinear(x: number): number {
  const t = Math.abs(x);
  return t < 1 ? 1 - t : 0;
}

const FILTERS: Readonly<Record<PilFilter, FilterDef>> = {
  bicubic: { fn: bicubic, support: 2 },
  bilinear: { fn: bilinear, support: 1 },
};

/** The taps of a 1-D resample: output pixel i reads `count[i]` inputs from `first[i]`. */
interface Taps {
  /** Stride between output pixels in `weights` (the largest possible tap count). */
  readonly ksize: number;
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float64Array;
}

/** Pillow's `precompute_coeffs` for the box [0, inSize]. */
function computeTaps(inSize: number, outSize: number, filter: FilterDef): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  const invScale = 1 / filterScale;
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // C's (int) cast truncates towards zero; Pillow relies on that for the +0.5 rounding.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    const base = i * ksize;
    let sum = 0;
    for (let x = 0; x < hi - lo; x++) {
      const w = filter.fn((x + lo - center + 0.5) * invScale);
      weights[base + x] = w;
      sum += w;
    }
    if (sum !== 0) for (let x = 0; x < hi - lo; x++) weights[base + x] /= sum;
    first[i] = lo;
    count[i] = hi - lo;
  }
  return { ksize, first, count, weights };
}

/** Pillow's `normalize_coeffs_8bpc`: round half away from zero into 22-bit fixed point. */
function fixedPointWeights(weights: Float64Array): Int32Array {
  const one = 1 << PRECISION_BITS;
  const out = new Int32Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    out[i] = Math.trunc(w < 0 ? -0.5 + w * one : 0.5 + w * one);
  }
  return out;
}

/** Pillow's `clip8`: drop the fraction bits (arithmetic shift, as C does on int) and clamp. */
function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

const HALF = 1 << (PRECISION_BITS - 1);

/** A window of the output, so a centre crop costs only the pixels it keeps. */
export interface OutputRegion {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Horizontal 8-bit pass over `rows` rows: output columns [x0, x0 + outW) of the full resize.
 * Specialised for 1 and 3 channels because this loop is most of the preprocessing time.
 */
function horizontal8(
  src: Uint8Array,
  w: number,
  rows: number,
  ch: number,
  taps: Taps,
  x0: number,
  outW: number,
): Uint8Array {
  const dst = new Uint8Array(outW * rows * ch);
  const k = fixedPointWeights(taps.weights);
  const { first, count, ksize } = taps;
  for (let y = 0; y < rows; y++) {
    const line = y * w * ch;
    let q = y * outW * ch;
    for (let xx = x0; xx < x0 + outW; xx++) {
      const kb = xx * ksize;
      const n = count[xx];
      let p = line + first[xx] * ch;
      if (ch === 3) {
        let r = HALF,
          g = HALF,
          b = HALF;
        for (let t = 0; t < n; t++, p += 3) {
          const wt = k[kb + t];
          r += src[p] * wt;
          g += src[p + 1] * wt;
          b += src[p + 2] * wt;
        }
        dst[q++] = clip8(r);
        dst[q++] = clip8(g);
        dst[q++] = clip8(b);
      } else {
        for (let c = 0; c < ch; c++) {
          let acc = HALF;
          for (let t = 0, pc = p + c; t < n; t++, pc += ch) acc += src[pc] * k[kb + t];
          dst[q++] = clip8(acc);
        }
      }
    }
  }
  return dst;
}

/**
 * Vertical 8-bit pass: output rows [y0, y0 + outH). Every sample of a row is independent, so the
 * loop ignores channels and walks rows in memory order, as Pillow does.
 */
function vertical8(
  src: Uint8Array,
  rowLen: number,
  taps: Taps,
  rowShift: number,
  y0: number,
  outH: number,
): Uint8Array {
  const dst = new Uint8Array(rowLen * outH);
  const k = fixedPointWeights(taps.weights);
  const { first, count, ksize } = taps;
  for (let yy = y0; yy < y0 + outH; yy++) {
    const kb = yy * ksize;
    const n = count[yy];
    const base = (first[yy] - rowShift) * rowLen;
    const q = (yy - y0) * rowLen;
    for (let s = 0; s < rowLen; s++) {
      let acc = HALF;
      for (let t = 0, p = base + s; t < n; t++, p += rowLen) acc += src[p] * k[kb + t];
      dst[q + s] = clip8(acc);
    }
  }
  return dst;
}

/** Source rows that output rows [y0, y0 + outH) read, so the horizontal pass skips the others. */
function usedRows(vTaps: Taps, y0: number, outH: number): { from: number; to: number } {
  const last = y0 + outH - 1;
  return { from: vTaps.first[y0], to: vTaps.first[last] + vTaps.count[last] };
}

function checkSizes(
  length: number,
  w: number,
  h: number,
  channels: number,
  outW: number,
  outH: number,
): void {
  const ok = [w, h, channels, outW, outH].every((v) => Number.isInteger(v) && v > 0);
  if (!ok)
    throw new Error(`resize: sizes must be positive integers (got ${w}x${h}x${channels} → ${outW}x${outH})`);
  if (length !== w * h * channels)
    throw new Error(`resize: buffer holds ${length} samples, expected ${w}x${h}x${channels}`);
}

function checkRegion(r: OutputRegion, outW: number, outH: number): void {
  const ok = [r.left, r.top, r.width, r.height].every(Number.isInteger) && r.left >= 0 && r.top >= 0;
  if (!ok || r.width < 1 || r.height < 1 || r.left + r.width > outW || r.top + r.height > outH) {
    throw new Error(`resize: region ${r.width}x${r.height}+${r.left}+${r.top} is outside ${outW}x${outH}`);
  }
}

/** Copies a window out of interleaved pixels (the no-resize case). */
function cropU8(src: Uint8Array, w: number, ch: number, r: OutputRegion): Uint8Array {
  const out = new Uint8Array(r.width * r.height * ch);
  for (let y = 0; y < r.height; y++) {
    const from = ((r.top + y) * w + r.left) * ch;
    out.set(src.subarray(from, from + r.width * ch), y * r.width * ch);
  }
  return out;
}

/**
 * The passes Pillow runs: each only when its size changes, and the horizontal pass over only the
 * source rows the vertical pass will read (so a centre crop costs only the pixels it keeps).
 */
function planPasses(
  w: number,
  h: number,
  outW: number,
  outH: number,
  filter: PilFilter,
  region: OutputRegion,
) {
  checkRegion(region, outW, outH);
  const f = FILTERS[filter];
  const vTaps = outH !== h ? computeTaps(h, outH, f) : null;
  const hTaps = outW !== w ? computeTaps(w, outW, f) : null;
  const rows = vTaps
    ? usedRows(vTaps, region.top, region.height)
    : { from: region.top, to: region.top + region.height };
  return { vTaps, hTaps, rows };
}

/**
 * Resizes interleaved 8-bit pixels (`channels` samples per pixel) exactly as Pillow's
 * `Image.resize((outW, outH), filter)` does on an 'L', 'RGB' or 'RGBX' image. With `region`, only
 * that window of the result is computed and returned (what `resize(...).crop(...)` would give).
 */
export function resizeU8(
  src: Uint8Array,
  w: number,
  h: number,
  channels: number,
  outW: number,
  outH: number,
  filter: PilFilter = 'bicubic',
  region: OutputRegion = { left: 0, top: 0, width: outW, height: outH },
): Uint8Array {
  checkSizes(src.length, w, h, channels, outW, outH);
  const { vTaps, hTaps, rows } = planPasses(w, h, outW, outH, filter, region);
  const img = hTaps
    ? horizontal8(
        src.subarray(rows.from * w * channels, rows.to * w * channels),
        w,
        rows.to - rows.from,
        channels,
        hTaps,
        region.left,
        region.width,
      )
    : cropU8(src, w, channels, {
        left: region.left,
        top: rows.from,
        width: region.width,
        height: rows.to - rows.from,
      });
  return vTaps ? vertical8(img, region.width * channels, vTaps, rows.from, region.top, region.height) : img;
}

/** PIL-exact `resize((outW, outH), BICUBIC)` of interleaved 8-bit pixels. */
export function resizeBicubicU8(
  src: Uint8Array,
  w: number,
  h: number,
  channels: number,
  outW: number,
  outH: number,
  region?: OutputRegion,
): Uint8Array {
  return resizeU8(src, w, h, channels, outW, outH, 'bicubic', region);
}

/** PIL-exact `resize((outW, outH), BILINEAR)` of interleaved 8-bit pixels. */
export function resizeBilinearU8(
  src: Uint8Array,
  w: number,
  h: number,
  channels: number,
  outW: number,
  outH: number,
  region?: OutputRegion,
): Uint8Array {
  return resizeU8(src, w, h, channels, outW, outH, 'bilinear', region);
}

/** Horizontal pass of Pillow's `_32bpc` resampler: double taps and sums, float32 storage. */
function horizontalF32(
  src: Float32Array,
  w: number,
  rows: number,
  taps: Taps,
  x0: number,
  outW: number,
): Float32Array {
  const dst = new Float32Array(outW * rows);
  const { first, count, ksize, weights } = taps;
  for (let y = 0; y < rows; y++) {
    for (let xx = x0; xx < x0 + outW; xx++) {
      const kb = xx * ksize;
      let acc = 0;
      for (let t = 0, p = y * w + first[xx]; t < count[xx]; t++, p++) acc += src[p] * weights[kb + t];
      dst[y * outW + xx - x0] = acc;
    }
  }
  return dst;
}

/** Vertical pass of Pillow's `_32bpc` resampler. */
function verticalF32(
  src: Float32Array,
  w: number,
  taps: Taps,
  rowShift: number,
  y0: number,
  outH: number,
): Float32Array {
  const dst = new Float32Array(w * outH);
  const { first, count, ksize, weights } = taps;
  for (let yy = y0; yy < y0 + outH; yy++) {
    const kb = yy * ksize;
    const base = (first[yy] - rowShift) * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = 0, p = base + x; t < count[yy]; t++, p += w) acc += src[p] * weights[kb + t];
      dst[(yy - y0) * w + x] = acc;
    }
  }
  return dst;
}

function cropF32(src: Float32Array, w: number, r: OutputRegion): Float32Array {
  const out = new Float32Array(r.width * r.height);
  for (let y = 0; y < r.height; y++) {
    const from = (r.top + y) * w + r.left;
    out.set(src.subarray(from, from + r.width), y * r.width);
  }
  return out;
}

/**
 * Resizes a single-channel float image as Pillow does for mode 'F' (`Image.fromarray(f32)`), which
 * keeps full precision instead of rounding to 8 bits; `region` works as in {@link resizeU8}.
 */
export function resizeF32(
  src: Float32Array,
  w: number,
  h: number,
  outW: number,
  outH: number,
  filter: PilFilter = 'bicubic',
  region: OutputRegion = { left: 0, top: 0, width: outW, height: outH },
): Float32Array {
  checkSizes(src.length, w, h, 1, outW, outH);
  const { vTaps, hTaps, rows } = planPasses(w, h, outW, outH, filter, region);
  const img = hTaps
    ? horizontalF32(
        src.subarray(rows.from * w, rows.to * w),
        w,
        rows.to - rows.from,
        hTaps,
        region.left,
        region.width,
      )
    : cropF32(src, w, {
        left: region.left,
        top: rows.from,
        width: region.width,
        height: rows.to - rows.from,
      });
  return vTaps ? verticalF32(img, region.width, vTaps, rows.from, region.top, region.height) : img;
}
