import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { PackManifest } from '../../../app/pack.js';
import {
  convertCheckpoint,
  convertedBytes,
  inspectCheckpoint,
  type ConvertProgress,
  type TowerReport,
} from './convert/convert.js';
import type { Precision } from './convert/graphs.js';
import {
  checkDiskSpace,
  commit,
  finishInterruptedSwap,
  isAlive,
  lock,
  type InstalledPack,
  type ProgressReporter,
} from './staging.js';

/**
 * Installing a checkpoint (docs/architecture.md §11): the official ImageBind `.pth` (or a
 * safetensors copy) is validated, converted into a staging folder beside the packs, and swapped
 * into place like any pack (§4). Nothing is installed unless the whole conversion succeeded; a
 * failed or cancelled one leaves nothing behind, and a killed one is swept up by the next install.
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

const STAGING_PREFIX = 'convert-';

export async function installCheckpoint(
  file: string,
  opts: CheckpointInstallOptions,
  progress: ProgressReporter,
): Promise<CheckpointInstall> {
  const packsDir = path.resolve(opts.packsDir);
  const partial = path.join(packsDir, '.partial');
  await mkdir(partial, { recursive: true });
  await sweepAbandoned(partial);
  const { ckpt } = await inspectCheckpoint(file);
  const total = convertedBytes(ckpt, opts.precision);
  await ckpt.close();
  await checkDiskSpace(packsDir, total);
  const staging = path.join(partial, `${STAGING_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging);
  try {
    const conversion = await convertCheckpoint(file, {
      outDir: staging,
      precision: opts.precision,
      signal: opts.signal,
      onProgress: (p) => reportConversion(progress, p),
    });
    const manifest = withAcceptance(conversion.manifest, opts.licenceAcceptedAt);
    progress.emit(
      { phase: 'install', file: null, bytesDone: total, message: `installing ${manifest.id}` },
      true,
    );
    const unlock = await lock(path.join(partial, `${manifest.id}.lock`), manifest.id);
    try {
      await finishInterruptedSwap(packsDir, manifest.id);
      const json = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      return { ...(await commit(staging, packsDir, manifest.id, json)), towers: conversion.towers };
    } finally {
      await unlock();
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function reportConversion(progress: ProgressReporter, p: ConvertProgress): void {
  const done = p.finished;
  const message = done
    ? `converted the ${p.modality} encoder in ${done.seconds.toFixed(1)} s ` +
      `(${done.nodes} nodes, peak memory ${(done.peakRssBytes / 1e9).toFixed(2)} GB)`
    : `converting the ${p.modality} encoder`;
  progress.emit(
    {
      phase: 'convert',
      file: `${p.modality}.onnx`,
      bytesDone: p.bytesDone,
      bytesTotal: p.totalBytes,
      message,
    },
    Boolean(done),
  );
}

function withAcceptance(manifest: PackManifest, acceptedAt: string | undefined): PackManifest {
  if (!acceptedAt) return manifest;
  return { ...manifest, licence: { ...manifest.licence, acceptedAt } };
}

/** Staging folders of conversions whose process is gone (killed, crashed) hold gigabytes: removed. */
async function sweepAbandoned(partial: string): Promise<void> {
  for (const name of await readdir(partial)) {
    const pid = Number(/^convert-(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !isAlive(pid))
      await rm(path.join(partial, name), { recursive: true, force: true });
  }
}
