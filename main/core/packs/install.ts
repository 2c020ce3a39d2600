import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelProgress } from '../../../app/api.js';
import type { PackFile, PackManifest } from '../../../app/pack.js';
import { sniffCheckpoint } from './convert/checkpoint.js';
import {
  DEFAULT_FETCH_TIMEOUT_MS,
  InstallError,
  openOrigin,
  type Body,
  type PackOrigin,
} from './download.js';
import { resumeFile } from './resume.js';
import type { Precision } from './convert/graphs.js';
import { installCheckpoint, type CheckpointInstall } from './install-checkpoint.js';
import { MANIFEST_FILE, PackError, parseManifest, referencedFiles } from './pack.js';
import {
  checkDiskSpace,
  commit,
  finishInterruptedSwap,
  lock,
  ProgressReporter,
  type InstalledPack,
} from './staging.js';

/**
 * Installing a model pack (docs/architecture.md §4): resumable, hash-checked and atomic.
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
  /** Checkpoints only: the precision of the converted graphs (default fp16). */
  precision?: Precision;
  /** Checkpoints only: when the user accepted the weights' licence, recorded in the pack. */
  licenceAcceptedAt?: string;
  onProgress?: (p: ModelProgress) => void;
  signal?: AbortSignal;
  /** How long a request may go without receiving anything. Default 30 s. */
  fetchTimeoutMs?: number;
}

export { DISK_MARGIN_BYTES, type InstalledPack } from './staging.js';

/**
 * Installs what `source` names: an http(s) URL or folder of a pack (downloaded or copied and
 * hash-checked), or a checkpoint file (`torch.save` .pth or .safetensors, converted in place).
 */
export async function installPack(
  source: string,
  opts: InstallOptions,
): Promise<InstalledPack | CheckpointInstall> {
  const progress = new ProgressReporter(source, opts.onProgress);
  try {
    const installed = await installSource(source, opts, progress);
    progress.emit({ phase: 'done', message: `installed ${installed.manifest.id} in ${installed.dir}` }, true);
    return installed;
  } catch (e) {
    progress.emit({ phase: 'error', message: e instanceof Error ? e.message : String(e) }, true);
    throw e;
  }
}

/** installPack's work, reporting to the caller's `progress`, which says when everything is done. */
export async function installSource(
  source: string,
  opts: InstallOptions,
  progress: ProgressReporter,
): Promise<InstalledPack | CheckpointInstall> {
  const checkpoint = await checkpointFile(source);
  return checkpoint
    ? await installCheckpoint(checkpoint, { ...opts, precision: opts.precision ?? 'fp16' }, progress)
    : await install(source, opts, progress);
}

/** The local file `source` names when it is a checkpoint rather than a pack (sniffed by content). */
async function checkpointFile(source: string): Promise<string | null> {
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(source) && !/^file:\/\//i.test(source)) return null;
  const file = path.resolve(/^file:\/\//i.test(source) ? fileURLToPath(source) : source);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile() || path.basename(file) === MANIFEST_FILE) return null;
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await fh.read(head, 0, 16, 0);
    if (sniffCheckpoint(head.subarray(0, bytesRead))) return file;
  } finally {
    await fh.close();
  }
  throw new InstallError(
    `${file}: not a model pack (folder or pack.json) nor a checkpoint (.pth saved by torch.save, or .safetensors)`,
  );
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
      await resumeFile({
        file: dest,
        name: f.file,
        have,
        expected: f.bytes,
        signal: this.signal,
        open: (from, signal) => this.origin.open(f.file, from, signal),
        accept: (body) => sameSize(f, dest, body),
        onRestart: () => (hash = createHash('sha256')),
        onChunk: (chunk, pos) => {
          hash.update(chunk);
          this.report('download', f.file, pos);
        },
      });
    }
    await this.verify(f, dest, hash.digest('hex'));
    this.doneBefore += f.bytes;
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
}

/** A source whose file is not the size pack.json states holds another file: start it over. */
async function sameSize(f: PackFile, dest: string, body: Body): Promise<void> {
  if (body.total === null || body.total === f.bytes) return;
  await restart(dest);
  throw new InstallError(
    `${f.file}: the file at the source is ${body.total} bytes but pack.json says ${f.bytes}`,
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
