import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EncoderModality } from '../../../app/modality.js';
import type { Precision } from './convert/graphs.js';
import type { ProviderName } from '../encoders/providers.js';

/**
 * The packs Bindery can install by name (docs/architecture.md §4, "Catalogue"). Bindery ships no
 * weights and no non-commercial files: each entry says where the official files are — the
 * checkpoint the official code itself downloads, and the official repository's `.assets` the
 * self-test needs — and a mirror can stand in for those hosts.
 */

export interface CatalogueFile {
  /** Where the official code or repository has it. */
  url: string;
  /** Its path under a mirror: the original URL's path, so one mirror can stand in for both hosts. */
  mirrorPath: string;
}

export interface LicenceTerm {
  name: string;
  url: string;
  /** Where the publisher states it. */
  statedIn: string;
}

export interface CatalogueEntry {
  id: string;
  name: string;
  description: string;
  modalities: EncoderModality[];
  precision: Precision;
  checkpoint: CatalogueFile & { fileName: string; approxBytes: number };
  /** The converted pack on disk. */
  packBytes: number;
  selftestAssets: (CatalogueFile & { fileName: string })[];
  licence: { summary: string; terms: LicenceTerm[] };
  homepage: string;
}

const IMAGEBIND_CHECKPOINT = {
  url: 'https://dl.fbaipublicfiles.com/imagebind/imagebind_huge.pth',
  mirrorPath: 'imagebind/imagebind_huge.pth',
  fileName: 'imagebind_huge.pth',
  approxBytes: 4_800_000_000,
};

/** ImageBind's README example inputs (dog, car, bird), from the official repository. */
const IMAGEBIND_ASSETS = [
  'dog_image.jpg',
  'car_image.jpg',
  'bird_image.jpg',
  'dog_audio.wav',
  'car_audio.wav',
  'bird_audio.wav',
].map((fileName) => ({
  fileName,
  url: `https://raw.githubusercontent.com/facebookresearch/ImageBind/main/.assets/${fileName}`,
  mirrorPath: `facebookresearch/ImageBind/main/.assets/${fileName}`,
}));

export const IMAGEBIND_LICENCE = {
  summary: 'Non-commercial use only',
  terms: [
    {
      name: 'CC-BY-NC 4.0',
      url: 'https://creativecommons.org/licenses/by-nc/4.0/',
      statedIn: "ImageBind's README",
    },
    {
      name: 'CC BY-NC-SA 4.0',
      url: 'https://creativecommons.org/licenses/by-nc-sa/4.0/',
      statedIn: "ImageBind's model_card.md",
    },
  ],
};

const MODALITIES: EncoderModality[] = ['vision', 'text', 'audio', 'depth', 'thermal', 'imu'];

function imagebind(precision: Precision, packBytes: number, note: string): CatalogueEntry {
  return {
    id: `imagebind-huge-${precision}`,
    name: `ImageBind huge (${precision})`,
    description: `Meta AI's ImageBind: photos, videos, text, sounds, depth, thermal and IMU in one space. ${note}`,
    modalities: MODALITIES,
    precision,
    checkpoint: IMAGEBIND_CHECKPOINT,
    packBytes,
    selftestAssets: IMAGEBIND_ASSETS,
    licence: IMAGEBIND_LICENCE,
    homepage: 'https://github.com/facebookresearch/ImageBind',
  };
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  imagebind('fp16', 2_400_000_000, 'Half the size of fp32; for GPUs on CUDA, DirectML or CoreML.'),
  imagebind('fp32', 4_800_000_000, 'Full precision.'),
  imagebind(
    'int8',
    1_400_000_000,
    'For computers without a GPU: about 3× faster than fp32 on a CPU, at a quarter of its size (cosine ≥ 0.999 to fp32).',
  ),
  imagebind(
    'q8',
    1_300_000_000,
    'For computers with a GPU on WebGPU: 8-bit weights in blocks, about 2.4× faster than fp16 there (cosine 0.99993 to fp32).',
  ),
];

/**
 * The precision to recommend for the GPU provider that works here (null: none). WebGPU runs q8's
 * 8-bit products 2.4× faster than fp16 (bench/gpu/README.md); CUDA, DirectML and CoreML run fp16
 * (tensor cores; CoreML has no block-quantised kernel); a CPU runs int8 3× faster than fp32.
 */
export function recommendedPrecision(gpu: ProviderName | null): Precision {
  if (gpu === null || gpu === 'cpu') return 'int8';
  return gpu === 'webgpu' ? 'q8' : 'fp16';
}

export function catalogueEntry(id: string): CatalogueEntry | undefined {
  return CATALOGUE.find((e) => e.id === id);
}

/** The mirror in effect: $BINDERY_MODEL_MIRROR, else the catalogue's setting, else none. */
export function effectiveMirror(setting: string | null): string | null {
  const env = process.env.BINDERY_MODEL_MIRROR?.trim();
  return env || setting || null;
}

/** Where to fetch `file`: under the mirror when there is one, else from its official host. */
export function sourceUrl(file: CatalogueFile, mirror: string | null): string {
  if (!mirror) return file.url;
  return new URL(file.mirrorPath, mirror.endsWith('/') ? mirror : `${mirror}/`).href;
}

/** A mirror must be an http(s) URL; returns it normalised, or throws a one-line reason. */
export function checkMirror(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new Error(`a mirror must be an http(s) URL, not ${parsed.protocol}`);
  return parsed.href;
}

/**
 * A copy of the checkpoint already on this machine: where the official code downloads it
 * (`.checkpoints/imagebind_huge.pth` under the folder it ran in — here, the current folder or
 * home), torch hub's checkpoint cache, or Bindery's own kept download.
 */
export async function findLocalCheckpoint(
  entry: CatalogueEntry,
  downloadsDir: string,
): Promise<string | null> {
  const name = entry.checkpoint.fileName;
  const torchHome =
    process.env.TORCH_HOME ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'torch');
  const candidates = [
    path.join(downloadsDir, name),
    path.join(process.cwd(), '.checkpoints', name),
    path.join(os.homedir(), '.checkpoints', name),
    path.join(torchHome, 'hub', 'checkpoints', name),
  ];
  for (const file of candidates) {
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile() && info.size > 0) return file;
  }
  return null;
}
