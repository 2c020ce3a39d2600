import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelProgress } from '../../../app/api.js';
import type { PackFile, PackManifest } from '../../../app/pack.js';
import {
  cancelled,
  DEFAULT_FETCH_TIMEOUT_MS,
  InstallError,
  openOrigin,
  RangeNotSatisfiableError,
  type Body,
  type PackOrigin,
} from './download.js';
import { loadPack, MANIFEST_FILE, PackError, parseManifest, referencedFiles } from './pack.js';

/**
 * Installing a model pack (DESIGN.md §4): resumable, hash-checked and atomic.
 *
 *   <packsDir>/.partial/<id>@<version>/   files being downloaded; kept across interruptions
 *   <packsDir>/.replaced/<id>/            the previous install, only during the swap
 *   <packsDir>/<id>/                      the installed pack, complete or absent
 *
 * A rerun continues every partial file from its size on disk (HTTP Range). Nothing is moved into
 * place before every file has its manifest size and sha256.
 */

export { InstallError } from './download.js';

export interface InstallOptions {
  packsDir: string;
  onProgress?: (p: ModelProgress) => void;
  signal?: AbortSignal;
  /** How long a request may go without receiving anything. Default 30 s. */
  fetchTimeoutMs?: number;
}

export interface InstalledPack {
  dir: string;
  manifest: PackManifest;
}

/** Kept free beyond the pack itself, so an install never fills the disk to the last byte. */
export const DISK_MARGIN_BYTES = 64 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;

export async function installPack(source: string, opts: InstallOptions): Promise<InstalledPack> {
  const progress = new ProgressReporter(source, opts.onProgress);
  try {
    const installed = await install(source, opts, progress);
    progress.emit({ phase: 'done', message: `installed ${installed.manifest.id} in ${installed.dir}` }, true);
    return installed;
  } catch (e) {
    progress.emit({ phase: 'error', message: e instanceof Error ? e.message : String(e) }, true);
    throw e;
  }
}

async function install(
  source: string,
  opts: InstallOptions,
  progress: ProgressReporter,
): Promise<InstalledPack> {
  const origin = openOrigin(source, opts.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS);
  const manifestBytes = await origin.readManifest(opts.signal);
  const manifest = parseManifestBytes(manifestBytes, origin.label);
  const files = packFiles(manifest);
  const packsDir = path.resolve(opts.packsDir);
  const staging = path.join(
    packsDir,
    '.partial',
    `${manifest.id}@${manifest.version.replace(/[^\w.+-]/g, '_')}`,
  );
  await mkdir(staging, { recursive: true });
  const unlock = await lock(path.join(packsDir, '.partial', `${manifest.id}.lock`), manifest.id);
  try {
    await finishInterruptedSwap(packsDir, manifest.id);
    const have = await Promise.all(files.map((f) => sizeOf(path.join(staging, f.file))));
    const remaining = files.reduce((n, f, i) => n + Math.max(0, f.bytes - Math.min(have[i], f.bytes)), 0);
    await checkDiskSpace(packsDir, remaining);
    const transfer = new Transfer(origin, staging, files, progress, opts.signal);
    for (const f of files) await transfer.fetch(f);
    progress.emit({ phase: 'install', file: null, message: `installing ${manifest.id}` }, true);
    return await commit(staging, packsDir, manifest.id, manifestBytes);
  } finally {
    await unlock();
  }
}

// ---------------------------------------------------------------------------------------------
// The manifest

/** Parses pack.json bytes; schema problems are reported by pack.ts's one-line validator. */
function parseManifestBytes(bytes: Buffer, label: string): PackManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new PackError(`${label}: invalid JSON (${(e as Error).message})`);
  }
  return parseManifest(json, label);
}

/** Every file the manifest names, once each, each checked to stay inside the pack folder. */
function packFiles(m: PackManifest): PackFile[] {
  const byName = new Map<string, PackFile>();
  for (const { field, entry: f } of referencedFiles(m)) {
    checkFileName(field, f.file);
    const seen = byName.get(f.file);
    if (seen && (seen.sha256 !== f.sha256 || seen.bytes !== f.bytes)) {
      throw new PackError(
        `${field}.file: ${f.file} is listed twice with different contents`,
        `${field}.file`,
      );
    }
    byName.set(f.file, f);
  }
  return [...byName.values()];
}

/** The schema refuses `..` and absolute paths; this also catches what only path.resolve sees. */
function checkFileName(field: string, file: string): void {
  const root = path.resolve('/pack');
  const back = path.relative(root, path.resolve(root, file));
  const escapes = !back || back.startsWith('..') || path.isAbsolute(back);
  if (escapes || back === MANIFEST_FILE) {
    throw new PackError(
      `${field}.file: ${JSON.stringify(file)} is not a file inside the pack folder`,
      `${field}.file`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Downloading and verifying

class Transfer {
  private readonly total: number;
  /** Bytes of the files already verified in this run. */
  private doneBefore = 0;

  constructor(
    private readonly origin: PackOrigin,
    private readonly staging: string,
    files: PackFile[],
    private readonly progress: ProgressReporter,
    private readonly signal?: AbortSignal,
  ) {
    this.total = files.reduce((n, f) => n + f.bytes, 0);
  }

  /** Brings one file to its manifest size (resuming what is on disk), then checks its sha256. */
  async fetch(f: PackFile): Promise<void> {
    const dest = path.join(this.staging, f.file);
    await mkdir(path.dirname(dest), { recursive: true });
    let have = await sizeOf(dest);
    if (have > f.bytes) have = await restart(dest);
    if (have > 0) this.report('verify', f.file, have, `checking ${have} bytes downloaded before`, true);
    let hash = await hashPrefix(dest, have);
    if (have < f.bytes) {
      const body = await this.openBody(f, dest, have);
      if (body.from === 0 && have > 0) hash = createHash('sha256');
      await this.append(f, dest, body, hash);
    }
    await this.verify(f, dest, hash.digest('hex'));
    this.doneBefore += f.bytes;
  }

  private async openBody(f: PackFile, dest: string, have: number): Promise<Body> {
    this.throwIfCancelled();
    let body: Body;
    try {
      body = await this.origin.open(f.file, have, this.signal);
    } catch (e) {
      // 416: the source has fewer bytes than we already hold; start the file over.
      if (!(e instanceof RangeNotSatisfiableError)) throw e;
      body = await this.origin.open(f.file, await restart(dest), this.signal);
    }
    if (body.total !== null && body.total !== f.bytes) {
      await restart(dest);
      throw new InstallError(
        `${f.file}: the file at the source is ${body.total} bytes but pack.json says ${f.bytes}`,
      );
    }
    return body;
  }

  /** Writes the body at its offset (a server that ignored Range rewrites the file from 0). */
  private async append(f: PackFile, dest: string, body: Body, hash: Hash): Promise<void> {
    const fh = await open(dest, body.from === 0 ? 'w' : 'a');
    let pos = body.from;
    try {
      for await (const chunk of body.chunks) {
        this.throwIfCancelled(); // a local copy does not watch the signal itself
        if (pos + chunk.length > f.bytes)
          throw new OverrunError(`${f.file}: received more than ${f.bytes} bytes`);
        await fh.write(chunk);
        hash.update(chunk);
        pos += chunk.length;
        this.report('download', f.file, pos);
      }
      await fh.sync(); // the bytes a rerun resumes from must really be on disk
    } catch (e) {
      throw await this.failed(f, dest, pos, e);
    } finally {
      await fh.close();
    }
    if (pos < f.bytes) throw interrupted(f, pos, 'the transfer ended early');
  }

  /** What a failed transfer throws; bytes received so far stay for a resume unless they are wrong. */
  private async failed(f: PackFile, dest: string, pos: number, e: unknown): Promise<Error> {
    if (this.signal?.aborted) return cancelled(this.signal);
    if (!(e instanceof OverrunError)) return interrupted(f, pos, e instanceof Error ? e.message : String(e));
    await rm(dest, { force: true });
    return e;
  }

  private async verify(f: PackFile, dest: string, actual: string): Promise<void> {
    this.report('verify', f.file, f.bytes, `sha256 ${actual}`, true);
    if (actual === f.sha256) return;
    await rm(dest, { force: true });
    throw new InstallError(
      `${f.file}: sha256 mismatch (expected ${f.sha256}, got ${actual}); ${this.origin.corruptHint}`,
    );
  }

  private report(
    phase: ModelProgress['phase'],
    file: string,
    pos: number,
    message?: string,
    force = false,
  ): void {
    const p = {
      phase,
      file,
      bytesDone: this.doneBefore + pos,
      bytesTotal: this.total,
      message: message ?? null,
    };
    this.progress.emit(p, force);
  }

  private throwIfCancelled(): void {
    if (this.signal?.aborted) throw cancelled(this.signal);
  }
}

/** The source's file is longer than the manifest says: not the file the manifest describes. */
class OverrunError extends InstallError {}

function interrupted(f: PackFile, pos: number, why: string): InstallError {
  return new InstallError(
    `${f.file}: download interrupted at ${pos} of ${f.bytes} bytes (${why}); run the install again to resume`,
  );
}

/** Empties a partial file that cannot be resumed; returns its new size (0). */
async function restart(file: string): Promise<number> {
  await rm(file, { force: true });
  return 0;
}

/** The hash of the first `bytes` bytes already on disk, so a resumed file is hashed as a whole. */
async function hashPrefix(file: string, bytes: number): Promise<Hash> {
  const hash = createHash('sha256');
  if (bytes === 0) return hash;
  for await (const chunk of createReadStream(file, { start: 0, end: bytes - 1 }))
    hash.update(chunk as Buffer);
  return hash;
}

async function sizeOf(file: string): Promise<number> {
  const info = await stat(file).catch(() => undefined);
  return info?.isFile() ? info.size : 0;
}

async function checkDiskSpace(dir: string, needed: number): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (needed + DISK_MARGIN_BYTES <= free) return;
  throw new InstallError(
    `not enough disk space in ${dir}: the pack needs ${formatBytes(needed)} more ` +
      `(plus ${formatBytes(DISK_MARGIN_BYTES)} to spare) but only ${formatBytes(free)} is free`,
  );
}

function formatBytes(n: number): string {
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
async function commit(
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

async function writeDurably(file: string, bytes: Buffer): Promise<void> {
  await writeFile(file, bytes);
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * One installer per pack id at a time (two would append to the same partial files). The lock
 * holds the owner's pid, so a lock left by a killed process is taken over.
 */
async function lock(file: string, id: string): Promise<() => Promise<void>> {
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

function isAlive(pid: number): boolean {
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
class ProgressReporter {
  private last: ModelProgress | null = null;
  private lastAt = 0;

  constructor(
    private readonly source: string,
    private readonly listener?: (p: ModelProgress) => void,
  ) {}

  emit(update: ProgressUpdate, force = false): void {
    if (!this.listener) return;
    const p: ModelProgress = {
      source: this.source,
      file: update.file === undefined ? (this.last?.file ?? null) : update.file,
      bytesDone: update.bytesDone ?? this.last?.bytesDone ?? 0,
      bytesTotal: update.bytesTotal === undefined ? (this.last?.bytesTotal ?? null) : update.bytesTotal,
      message: update.message ?? null,
      phase: update.phase,
    };
    const now = Date.now();
    const changed = p.phase !== this.last?.phase || p.file !== this.last?.file;
    if (!force && !changed && now - this.lastAt < PROGRESS_INTERVAL_MS) return;
    this.last = p;
    this.lastAt = now;
    this.listener(p);
  }
}
