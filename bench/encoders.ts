import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { EncoderModality } from '../app/modality.js';
import { loadPack } from '../main/core/packs/pack.js';
import { trimTokens } from '../main/core/encoders/feeds.js';
import { EncoderRuntime } from '../main/core/encoders/runtime.js';
import { packageRoot } from '../main/core/paths.js';
import type { Tensor } from '../main/core/imagebind/tensor.js';
import { ClipTokenizer, textTensor } from '../main/core/imagebind/text.js';
import { itemsPerSec, syntheticInput } from './models.js';

/**
 * Full-size encoders on this machine's CPU (issue 11): a converted ImageBind pack per precision
 * (fp32, int8; built locally by `models install` or models/converter-check, never committed)
 * against the official model in PyTorch (Debian's torch) on the same inputs, in the same run.
 * Set BINDERY_BENCH_PACKS (pack folders, comma-separated), and for PyTorch
 * BINDERY_BENCH_CHECKPOINT (the .pth) and BINDERY_BENCH_IMAGEBIND (an ImageBind checkout).
 */

export interface EncoderRate {
  modality: EncoderModality;
  batch: number;
  itemsPerSec: number;
}

export interface EncodersBench {
  threads: number;
  packs: { id: string; precision: string; rates: EncoderRate[] }[];
  torch: { version: string; rates: EncoderRate[] } | { skipped: string };
  /** Each pack's items/s over PyTorch's, per modality and batch. */
  vsTorch: Record<string, Record<string, number>>;
  /** A five-word text query, end to end through the text encoder: trimmed tokens against all 77. */
  textQueryMs: { trimmed: number; full77: number; tokens: number } | null;
}

const MODALITIES: EncoderModality[] = ['vision', 'audio', 'text'];

export async function benchEncoders(opts: { quick: boolean }): Promise<EncodersBench | { skipped: string }> {
  const packDirs = (process.env.BINDERY_BENCH_PACKS ?? '').split(',').filter(Boolean);
  if (packDirs.length === 0)
    return { skipped: 'set BINDERY_BENCH_PACKS to converted full-size packs (fp32, int8) to compare' };
  const batches = opts.quick ? [1, 8] : [1, 8, 32];
  const threads = Number(process.env.BINDERY_BENCH_THREADS ?? 0) || undefined;
  const packs: EncodersBench['packs'] = [];
  let textQueryMs: EncodersBench['textQueryMs'] = null;
  for (const dir of packDirs) {
    const pack = await loadPack(path.resolve(dir));
    const runtime = new EncoderRuntime(pack, { providers: ['cpu'], batchSize: 32, intraOpThreads: threads });
    try {
      const rates: EncoderRate[] = [];
      for (const m of MODALITIES.filter((x) => pack.encoders.includes(x)))
        for (const batch of batches)
          rates.push({
            modality: m,
            batch,
            itemsPerSec: round(await itemsPerSec(runtime, m, input(m, batch), true)),
          });
      packs.push({ id: pack.manifest.id, precision: pack.manifest.id.split('-').pop()!, rates });
      textQueryMs ??= await textQuery(runtime, pack.filePath(pack.manifest.tokenizer!.file));
    } finally {
      await runtime.close();
    }
  }
  const torch = runTorch(batches, threads);
  return { threads: threads ?? 0, packs, torch, vsTorch: ratios(packs, torch), textQueryMs };
}

/** The models bench's inputs, with text at its full 77 tokens (end of text last), as PyTorch runs it. */
function input(m: EncoderModality, batch: number): Tensor {
  if (m !== 'text') return syntheticInput(m, batch);
  const data = new BigInt64Array(batch * 77);
  for (let i = 0; i < data.length; i++) data[i] = BigInt(1 + ((i * 7919) % 49000));
  for (let b = 0; b < batch; b++) data[b * 77 + 76] = 49407n;
  return { dtype: 'int64', dims: [batch, 77], data };
}

async function textQuery(runtime: EncoderRuntime, vocab: string): Promise<EncodersBench['textQueryMs']> {
  const tok = await ClipTokenizer.load(vocab);
  const query = 'a dog playing in snow';
  const trimmed = trimTokens(textTensor(tok, [query]));
  const tokens = trimmed.dims[1];
  const full = input('text', 1);
  const time = async (t: Tensor) => {
    await runtime.embed('text', t);
    const runs = 5;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await runtime.embed('text', t);
    return round((performance.now() - t0) / runs);
  };
  return { trimmed: await time(trimmed), full77: await time(full), tokens };
}

function runTorch(batches: number[], threads: number | undefined): EncodersBench['torch'] {
  const checkpoint = process.env.BINDERY_BENCH_CHECKPOINT;
  const imagebind = process.env.BINDERY_BENCH_IMAGEBIND;
  if (!checkpoint || !imagebind || !existsSync(checkpoint))
    return { skipped: 'set BINDERY_BENCH_CHECKPOINT and BINDERY_BENCH_IMAGEBIND to compare with PyTorch' };
  const script = path.join(packageRoot(), 'bench', 'torch_encoders.py');
  // Debian's torch takes ~100 s per ViT-H image on this machine: BINDERY_BENCH_TORCH_BATCHES=1 keeps it to batch 1.
  const torchBatches = process.env.BINDERY_BENCH_TORCH_BATCHES?.split(',').map(Number) ?? batches;
  const args = [
    script,
    '--imagebind',
    imagebind,
    '--checkpoint',
    checkpoint,
    '--batches',
    torchBatches.join(','),
  ];
  args.push('--modalities', MODALITIES.join(','), '--min-seconds', '0');
  if (threads) args.push('--threads', String(threads));
  const python = pythonWithTorch();
  if (!python)
    return {
      skipped: 'no python3 with torch here (Debian: apt install python3-torch; or set BINDERY_PYTHON)',
    };
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 3_600_000 });
  if (r.status !== 0)
    return {
      skipped: `PyTorch run failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`,
    };
  const out = JSON.parse(r.stdout) as { torch: string; results: EncoderRate[] };
  return {
    version: out.torch,
    rates: out.results.map(({ modality, batch, itemsPerSec }) => ({ modality, batch, itemsPerSec })),
  };
}

/** $BINDERY_PYTHON, else the first python3 that imports torch (a pyenv shim may hide Debian's). */
function pythonWithTorch(): string | null {
  const candidates = [process.env.BINDERY_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean) as string[];
  return (
    candidates.find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ?? null
  );
}

function ratios(packs: EncodersBench['packs'], torch: EncodersBench['torch']): EncodersBench['vsTorch'] {
  if (!('rates' in torch)) return {};
  const out: EncodersBench['vsTorch'] = {};
  for (const p of packs) {
    out[p.precision] = {};
    for (const r of p.rates) {
      const t = torch.rates.find((x) => x.modality === r.modality && x.batch === r.batch);
      if (t) out[p.precision][`${r.modality}@${r.batch}`] = round(r.itemsPerSec / t.itemsPerSec);
    }
  }
  return out;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
