import { mkdir, open, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelProgress } from '../../../app/api.js';
import type { PackManifest } from '../../../app/pack.js';
import { InstallError } from './download.js';
import { loadPack, MANIFEST_FILE } from './pack.js';

/**
 * What every way of installing a pack shares (docs/architecture.md §4): a pack is
 * assembled in a staging folder under `<packsDir>/.partial/`, then swapped into `<packsDir>/<id>/`
 * atomically, one installer per id at a time, with progress events rate-limited.
 */

export interface InstalledPack {
  dir: string;
  manifest: PackManifest;
}

/** Kept free beyond the pack itself, so an install never fills the disk to the last byte. */
export const DISK_MARGIN_BYTES = 64 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;

export async function checkDiskSpace(dir: string, needed: number): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (needed + DISK_MARGIN_BYTES <= free) return;
  throw new InstallError(
    `not enough disk space in ${dir}: the pack needs ${formatBytes(needed)} more ` +
      `(plus ${formatBytes(DISK_MARGIN_BYTES)} to spare) but only ${formatBytes(free)} is free`,
  );
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  for (; n >= 1000 && i < units.length - 1; i++) n /= 1000;
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}

// ---------------------------------------------------------------------------------------------
// The atomic swap

/**
 * Moves the verified folder into place. A crash between the two renames leaves the old pack
 * complete in .replaced/ and the new one complete in .partial/; finishInterruptedSwap puts the
 * old one back before anything else touches that id.
 */
export async function commit(
  staging: string,
  packsDir: string,
  id: string,
  manifest: Buffer,
): Promise<InstalledPack> {
  await writeDurably(path.join(staging, MANIFEST_FILE), manifest);
  await loadPack(staging, { verifyHashes: false });
  const target = path.join(packsDir, id);
  const aside = path.join(packsDir, '.replaced', id);
  if (await exists(target)) {
    await mkdir(path.dirname(aside), { recursive: true });
    await rename(target, aside);
  }
  await rename(staging, target);
  await rm(aside, { recursive: true, force: true });
  const pack = await loadPack(target, { verifyHashes: false });
  return { dir: pack.dir, manifest: pack.manifest };
}

/** Completes or undoes a swap a crash interrupted: the installed id is never left empty. */
export async function finishInterruptedSwap(packsDir: string, id: string): Promise<void> {
  const aside = path.join(packsDir, '.replaced', id);
  if (!(await exists(aside))) return;
  const target = path.join(packsDir, id);
  if (await exists(target)) await rm(aside, { recursive: true, force: true });
  else await rename(aside, target);
}

export async function writeDurably(file: string, bytes: Buffer): Promise<void> {
  await writeFile(file, bytes);
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * One installer per pack id at a time (two would append to the same partial files). The lock
 * holds the owner's pid, so a lock left by a killed process is taken over.
 */
export async function lock(file: string, id: string): Promise<() => Promise<void>> {
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
    }
    const owner = Number(await readFile(file, 'utf8').catch(() => ''));
    if (owner && isAlive(owner))
      throw new InstallError(`${id} is already being installed (process ${owner})`);
    await rm(file, { force: true });
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// Progress

type ProgressUpdate = Partial<Omit<ModelProgress, 'source'>> & Pick<ModelProgress, 'phase'>;

/** At most ~10 events a second, except that a new phase or file is always reported. */
export class ProgressReporter {
  private last: ModelProgress | null = null;
  private lastAt = 0;
  /** Where the current phase's rate is measured from: bytes resumed from disk do not count. */
  private phaseStart: { phase: string; at: number; bytes: number } | null = null;

  constructor(
    private readonly source: string,
    private readonly listener?: (p: ModelProgress) => void,
  ) {}

  emit(update: ProgressUpdate, force = false): void {
    if (!this.listener) return;
    const now = Date.now();
    const bytesDone = update.bytesDone ?? this.last?.bytesDone ?? 0;
    const bytesTotal = update.bytesTotal === undefined ? (this.last?.bytesTotal ?? null) : update.bytesTotal;
    const p: ModelProgress = {
      source: this.source,
      file: update.file === undefined ? (this.last?.file ?? null) : update.file,
      bytesDone,
      bytesTotal,
      message: update.message ?? null,
      phase: update.phase,
      ...this.rate(update.phase, now, bytesDone, bytesTotal),
    };
    const changed = p.phase !== this.last?.phase || p.file !== this.last?.file;
    if (!force && !changed && now - this.lastAt < PROGRESS_INTERVAL_MS) return;
    this.last = p;
    this.lastAt = now;
    this.listener(p);
  }

  /** Bytes a second since the phase began, and the seconds left at that rate (after a second of data). */
  private rate(phase: string, now: number, done: number, total: number | null) {
    if (this.phaseStart?.phase !== phase) this.phaseStart = { phase, at: now, bytes: done };
    const secs = (now - this.phaseStart.at) / 1000;
    const moved = done - this.phaseStart.bytes;
    if (secs < 1 || moved <= 0) return { bytesPerSec: null, etaS: null };
    const bytesPerSec = moved / secs;
    return { bytesPerSec, etaS: total === null ? null : Math.max(0, (total - done) / bytesPerSec) };
  }
}
