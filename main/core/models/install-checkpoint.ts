import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { PackManifest } from '../../../app/pack.js';
import { bytesPerElement } from './checkpoint/checkpoint.js';
import { convertCheckpoint, inspectCheckpoint, type TowerReport } from './imagebind/convert.js';
import type { Precision } from './imagebind/graphs.js';
import {
  checkDiskSpace,
  commit,
  finishInterruptedSwap,
  lock,
  type InstalledPack,
  type ProgressReporter,
} from './staging.js';

/**
 * Installing a checkpoint (docs/architecture.md §11): the official ImageBind
 * `.pth` (or a safetensors copy) is validated, converted into a staging folder beside the packs,
 * and swapped into place like any pack. Nothing is installed unless the whole conversion
 * succeeded; a failed or cancelled one leaves no trace.
 */

export interface CheckpointInstallOptions {
  packsDir: string;
  precision: Precision;
  /** Recorded in the pack when the user accepted the weights' licence. */
  licenceAcceptedAt?: string;
  signal?: AbortSignal;
}

export interface CheckpointInstall extends InstalledPack {
  towers: TowerReport[];
}

export async function installCheckpoint(
  file: string,
  opts: CheckpointInstallOptions,
  progress: ProgressReporter,
): Promise<CheckpointInstall> {
  const packsDir = path.resolve(opts.packsDir);
  const staging = path.join(packsDir, '.partial', `convert-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  try {
    const total = await weightBytes(file, opts.precision);
    await checkDiskSpace(packsDir, total);
    const conversion = await convertCheckpoint(file, {
      outDir: staging,
      precision: opts.precision,
      signal: opts.signal,
      onProgress: (p) =>
        progress.emit(
          {
            phase: 'convert',
            file: `${p.modality}.onnx`,
            bytesDone: Math.round((total * p.done) / p.total),
            bytesTotal: total,
            message: `converting the ${p.modality} encoder (${p.done + 1} of ${p.total})`,
          },
          true,
        ),
    });
    const manifest = withAcceptance(conversion.manifest, opts.licenceAcceptedAt);
    progress.emit(
      { phase: 'install', file: null, bytesDone: total, message: `installing ${manifest.id}` },
      true,
    );
    const unlock = await lock(path.join(packsDir, '.partial', `${manifest.id}.lock`), manifest.id);
    try {
      await finishInterruptedSwap(packsDir, manifest.id);
      const installed = await commit(
        staging,
        packsDir,
        manifest.id,
        Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`),
      );
      return { ...installed, towers: conversion.towers };
    } finally {
      await unlock();
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function withAcceptance(manifest: PackManifest, acceptedAt: string | undefined): PackManifest {
  if (!acceptedAt) return manifest;
  return { ...manifest, licence: { ...manifest.licence, acceptedAt } };
}

/** Bytes of the converted weights (the pack's size, near enough): every tensor at the target precision. */
async function weightBytes(file: string, precision: Precision): Promise<number> {
  const { ckpt } = await inspectCheckpoint(file);
  try {
    const width = bytesPerElement(precision === 'fp16' ? 'F16' : 'F32');
    let n = 0;
    for (const t of ckpt.tensors.values()) n += t.shape.reduce((a, b) => a * b, 1) * width;
    return n;
  } finally {
    await ckpt.close();
  }
}
