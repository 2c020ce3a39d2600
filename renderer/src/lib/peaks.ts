/**
 * Waveform peaks: for library files they come from the engine (`waveform`), cached here so a tile
 * that scrolls back into view draws at once; for dropped audio they are computed in the page.
 */

const MAX_CACHED = 4000;
const cache = new Map<string, Promise<number[]>>();
let inFlight = 0;
const queue: (() => void)[] = [];
const MAX_IN_FLIGHT = 4;

/** Memoised, with at most four requests at a time so a fast scroll doesn't flood the engine. */
export function cachedPeaks(key: string, load: () => Promise<number[]>): Promise<number[]> {
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const p = new Promise<number[]>((resolve, reject) => {
    const run = () => {
      inFlight++;
      load()
        .then(resolve, reject)
        .finally(() => {
          inFlight--;
          queue.shift()?.();
        });
    };
    if (inFlight < MAX_IN_FLIGHT) run();
    else queue.push(run);
  });
  p.catch(() => cache.delete(key));
  cache.set(key, p);
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
  return p;
}

export function clearPeaksCache(): void {
  cache.clear();
}

/** Peak amplitudes (0…1) of a dropped audio file, or null where the page cannot decode it. */
export async function peaksFromFile(file: Blob, points = 64): Promise<number[] | null> {
  const Ctx =
    (globalThis as { AudioContext?: typeof AudioContext }).AudioContext ??
    (globalThis as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctx || file.size > 64 * 1024 * 1024) return null;
  let ctx: AudioContext | null = null;
  try {
    ctx = new Ctx();
    const audio = await ctx.decodeAudioData(await file.arrayBuffer());
    return peaksOf(audio.getChannelData(0), points);
  } catch {
    return null;
  } finally {
    void ctx?.close().catch(() => undefined);
  }
}

export function peaksOf(samples: Float32Array, points: number): number[] {
  const out = new Array<number>(points).fill(0);
  const per = Math.max(1, Math.floor(samples.length / points));
  for (let p = 0; p < points; p++) {
    let max = 0;
    const end = Math.min(samples.length, (p + 1) * per);
    for (let i = p * per; i < end; i++) max = Math.max(max, Math.abs(samples[i]));
    out[p] = max;
  }
  const top = Math.max(...out, 1e-6);
  return out.map((v) => Math.min(1, v / top));
}
