import type { Tensor } from '../imagebind/tensor.js';

/**
 * From what preprocessing produces to what an encoder graph is fed (docs/architecture.md §4): the
 * rank and clip axis a graph declares, ImageBind's PadIm2Video repeat for still images, text cut
 * to its last end-of-text token, and each run's items gathered from the files' tensors with at
 * most one copy. Pure: runtime.ts owns sessions and providers.
 */

export type Dims = readonly (number | string)[];

/** True when `graph` has ImageBind's clip axis: a symbolic axis 1 on an input of rank ≥ 5. */
function hasClipAxis(graph: Dims): boolean {
  return graph.length >= 5 && typeof graph[1] === 'string';
}

/** Views per item when the caller passes [B,S,…] at the graph's full rank; 1 otherwise. */
export function clipsPerItem(dims: readonly number[], graph: Dims): number {
  return dims.length === graph.length && hasClipAxis(graph) ? dims[1] : 1;
}

/** An image [.., C, H, W] where the graph wants [.., C, T, H, W] with a fixed T (PadIm2Video). */
function missingTimeAxis(dims: readonly number[], graph: Dims): boolean {
  if (graph.length < 5 || dims.length >= graph.length || typeof graph.at(-3) !== 'number') return false;
  return dims.at(-3) === graph.at(-4) && dims.at(-2) === graph.at(-2) && dims.at(-1) === graph.at(-1);
}

/**
 * How a preprocessing tensor maps onto the graph's input: the dims to feed, and whether the image
 * frame must be repeated along a time axis first. Throws with both shapes when it cannot fit.
 */
export function planInput(
  modality: string,
  dims: readonly number[],
  graph: Dims,
): { dims: number[]; repeatFrames: number } {
  let out = [...dims];
  let repeatFrames = 1;
  if (missingTimeAxis(out, graph)) {
    repeatFrames = graph.at(-3) as number;
    out = [...out.slice(0, -2), repeatFrames, ...out.slice(-2)];
  }
  if (out.length === graph.length - 1 && hasClipAxis(graph)) out = [out[0], 1, ...out.slice(1)];
  const fits = out.length === graph.length && graph.every((g, i) => typeof g === 'string' || g === out[i]);
  if (!fits) {
    throw new Error(
      `${modality}: the encoder expects [${graph.join(',')}], got a tensor of [${dims.join(',')}]`,
    );
  }
  return { dims: out, repeatFrames };
}

/**
 * ImageBind's PadIm2Video(pad_type="repeat", ntimes=T): every [H,W] plane of `src` is repeated T
 * times consecutively into `out` from `at`, turning [.., C, H, W] into [.., C, T, H, W].
 */
function repeatPlanes(src: Float32Array, plane: number, times: number, out: Float32Array, at: number): void {
  const planes = src.length / plane;
  for (let p = 0; p < planes; p++) {
    const from = src.subarray(p * plane, (p + 1) * plane);
    for (let t = 0; t < times; t++) out.set(from, at + (p * times + t) * plane);
  }
}

/** Items along axis 0 of the parts put end to end; every part must have the same item shape. */
export function itemCount(parts: readonly Tensor[]): number {
  if (parts.length === 0) throw new Error('nothing to embed');
  const item = parts[0].dims.slice(1).join(',');
  for (const p of parts) {
    if (p.dtype !== parts[0].dtype || p.dims.slice(1).join(',') !== item)
      throw new Error(`cannot batch [${p.dims.join(',')}] ${p.dtype} with [${parts[0].dims.join(',')}]`);
  }
  return parts.reduce((n, p) => n + p.dims[0], 0);
}

/**
 * The graph's feed for items [start, end) of the parts put end to end: a view when they lie in one
 * part and need no PadIm2Video repeat, otherwise one copy into `floats(length)` that gathers and
 * repeats at once (an ingest batch of photos is copied once, not concatenated and then repeated).
 * Text is cut to its last end-of-text position (trimTokens) where the sequence axis is dynamic.
 */
export function feedChunk(
  modality: string,
  parts: readonly Tensor[],
  start: number,
  end: number,
  graph: Dims,
  floats: (length: number) => Float32Array,
): Tensor {
  const item = parts[0].dims.slice(1);
  const { dims, repeatFrames } = planInput(modality, [end - start, ...item], graph);
  const per = item.reduce((a, b) => a * b, 1);
  const slices = partSlices(parts, start, end);
  let chunk: Tensor;
  if (slices.length === 1 && repeatFrames === 1) {
    chunk = { ...slices[0], dims } as Tensor;
  } else if (parts[0].dtype === 'int64') {
    const data = new BigInt64Array((end - start) * per);
    let at = 0;
    for (const s of slices) {
      data.set(s.data as BigInt64Array, at);
      at += s.data.length;
    }
    chunk = { dtype: 'int64', dims, data };
  } else {
    const data = floats((end - start) * per * repeatFrames);
    const plane = (item.at(-1) ?? 1) * (item.at(-2) ?? 1);
    let at = 0;
    for (const s of slices) {
      const src = s.data as Float32Array;
      if (repeatFrames === 1) data.set(src, at);
      else repeatPlanes(src, plane, repeatFrames, data, at);
      at += src.length * repeatFrames;
    }
    chunk = { dtype: 'float32', dims, data };
  }
  return modality === 'text' && typeof graph[1] === 'string' ? trimTokens(chunk) : chunk;
}

/** Views (no copies) of the parts' items that fall in [start, end). */
function partSlices(parts: readonly Tensor[], start: number, end: number): Tensor[] {
  const out: Tensor[] = [];
  let first = 0;
  for (const p of parts) {
    const last = first + p.dims[0];
    const [a, b] = [Math.max(start, first), Math.min(end, last)];
    if (a < b) out.push(sliceItems(p, a - first, b - first));
    first = last;
  }
  return out;
}

/**
 * Token ids [B, 77] cut to [B, T], T the last end-of-text position in the batch plus one. ImageBind's
 * text trunk is causal and reads its output at the end-of-text token (the largest id, argmax), so
 * the padding after it never changes the result: a five-word query runs on 7 positions, not 77.
 */
export function trimTokens(t: Tensor): Tensor {
  if (t.dtype !== 'int64' || t.dims.length !== 2) return t;
  const [rows, width] = t.dims;
  let keep = 1;
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let i = 1; i < width; i++) if (t.data[r * width + i] > t.data[r * width + best]) best = i;
    keep = Math.max(keep, best + 1);
  }
  if (keep === width) return t;
  const data = new BigInt64Array(rows * keep);
  for (let r = 0; r < rows; r++) data.set(t.data.subarray(r * width, r * width + keep), r * keep);
  return { dtype: 'int64', dims: [rows, keep], data };
}

/** Items [start, end) along axis 0, as a view (no copy). */
function sliceItems(t: Tensor, start: number, end: number): Tensor {
  const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const dims = [end - start, ...t.dims.slice(1)];
  if (t.dtype === 'int64') return { dtype: 'int64', dims, data: t.data.subarray(start * per, end * per) };
  return { dtype: 'float32', dims, data: t.data.subarray(start * per, end * per) };
}
