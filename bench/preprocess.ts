import path from 'node:path';
import { preprocessAudio } from '../main/core/imagebind/audio.js';
import { preprocessImage } from '../main/core/imagebind/image.js';
import { ClipTokenizer } from '../main/core/imagebind/text.js';
import { preprocessVideo } from '../main/core/imagebind/video.js';
import { round } from './ingest.js';

export interface PreprocessBenchEntry {
  modality: string;
  items: number;
  itemsPerSec: number;
}

/** Preprocessing throughput per modality on real inputs (fixtures when present, else generated). */
export async function benchPreprocess(
  inputs: { image: string; audio: string; video: string; vocab: string },
  opts: { quick: boolean },
): Promise<PreprocessBenchEntry[]> {
  const reps = opts.quick ? 5 : 20;
  const tok = await ClipTokenizer.load(inputs.vocab);
  const sentences = Array.from(
    { length: 2000 },
    (_, i) => `a photo of ${i} dogs playing on the beach at sunset`,
  );
  return [
    await time('text', sentences.length, async () => void sentences.forEach((s) => tok.tokenize(s))),
    await time('image', reps, () => preprocessImage(inputs.image)),
    await time('audio', reps, () => preprocessAudio(inputs.audio)),
    await time('video', Math.max(2, Math.round(reps / 3)), () => preprocessVideo(inputs.video)),
  ];
}

async function time(
  modality: string,
  items: number,
  fn: () => Promise<unknown>,
): Promise<PreprocessBenchEntry> {
  await fn(); // warm-up: first calls load codecs and JIT
  const n = modality === 'text' ? 1 : items;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const secs = (performance.now() - t0) / 1000;
  return { modality, items, itemsPerSec: round((modality === 'text' ? items : n) / secs) };
}

export function fixture(dir: string, name: string): string {
  return path.join(dir, name);
}
