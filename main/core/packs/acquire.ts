import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelProgress } from '../../../app/api.js';
import {
  catalogueEntry,
  findLocalCheckpoint,
  sourceUrl,
  CATALOGUE,
  type CatalogueEntry,
} from './installable.js';
import { ApiError } from '../../../app/errors.js';
import { downloadFile } from './fetch-file.js';
import type { Precision } from './convert/graphs.js';
import { installSource } from './install.js';
import { loadPack } from './pack.js';
import { hasReadmeTest, selfTestPack, type SelfTestResult } from './selftest.js';
import { checkDiskSpace, ProgressReporter, type InstalledPack } from './staging.js';

/**
 * Getting a model onto the machine, whatever the source names (docs/architecture.md §4):
 *
 *   catalogue id   → licence accepted? → a copy already on disk, or a resumable download →
 *                    conversion → self-test on ImageBind's example files → kept download removed
 *   checkpoint URL → the same, from that URL
 *   pack / file    → installPack (copy or download a pack, or convert a local checkpoint) → self-test
 *
 * Nothing is downloaded before the licence is accepted. The caller records the self-test and
 * activates the pack only when it passed.
 */

export interface AcquireRequest {
  source: string;
  precision?: Precision;
  acceptLicence: boolean;
  skipSelftest: boolean;
  keepCheckpoint: boolean;
}

export interface AcquireContext {
  packsDir: string;
  mirror: string | null;
  onProgress?: (p: ModelProgress) => void;
  signal?: AbortSignal;
}

export interface Acquired {
  installed: InstalledPack;
  /** null when skipped. */
  selftest: SelfTestResult | null;
}

const CHECKPOINT_URL = /^https?:\/\/.+\.(pth|pt|safetensors)(\?.*)?$/i;

export function downloadsDir(packsDir: string): string {
  return path.join(packsDir, '.downloads');
}

export async function acquireModel(req: AcquireRequest, ctx: AcquireContext): Promise<Acquired> {
  const progress = new ProgressReporter(req.source, ctx.onProgress);
  try {
    const entry = catalogueEntry(req.source);
    const download = entry ?? (CHECKPOINT_URL.test(req.source) ? urlEntry(req.source) : null);
    const fetched = download ? await fetchCheckpoint(download, req, ctx, progress) : null;
    const installed = await installSource(
      fetched?.file ?? req.source,
      {
        packsDir: ctx.packsDir,
        precision: req.precision ?? entry?.precision,
        licenceAcceptedAt: req.acceptLicence ? new Date().toISOString() : undefined,
        onProgress: ctx.onProgress,
        signal: ctx.signal,
      },
      progress,
    );
    const selftest = req.skipSelftest ? null : await selfTestInstalled(installed, ctx, progress);
    if (selftest?.ok && fetched?.downloaded && !req.keepCheckpoint) await removeDownload(fetched.file);
    progress.emit({ phase: 'done', message: doneMessage(installed, selftest) }, true);
    return { installed, selftest };
  } catch (e) {
    progress.emit({ phase: 'error', message: e instanceof Error ? e.message : String(e) }, true);
    throw e;
  }
}

/** A checkpoint URL that is not in the catalogue: fetched like ImageBind's, converted at `fp16` unless asked otherwise. */
function urlEntry(url: string): CatalogueEntry {
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'checkpoint.pth');
  const base = CATALOGUE[0];
  return { ...base, id: url, checkpoint: { ...base.checkpoint, url, mirrorPath: '', fileName: name } };
}

/** Downloading before the user accepted the licence is refused: a 403 over the API, exit 1 in the CLI. */
function licenceRefusal(entry: CatalogueEntry): ApiError {
  const terms = entry.licence.terms.map((t) => `${t.name} per ${t.statedIn}`).join(', ');
  return new ApiError(
    'forbidden',
    `${entry.name}: the weights are licensed for ${entry.licence.summary.toLowerCase()} (${terms}); ` +
      'accept the licence with --accept-licence to install. Nothing was downloaded.',
  );
}

/** The checkpoint on disk: a copy found locally, or downloaded (resumably) into the downloads folder. */
async function fetchCheckpoint(
  entry: CatalogueEntry,
  req: AcquireRequest,
  ctx: AcquireContext,
  progress: ProgressReporter,
): Promise<{ file: string; downloaded: boolean }> {
  if (!req.acceptLicence) throw licenceRefusal(entry);
  const dir = downloadsDir(ctx.packsDir);
  const local = entry.checkpoint.mirrorPath ? await findLocalCheckpoint(entry, dir) : null;
  if (local && path.dirname(local) !== dir) {
    progress.emit(
      { phase: 'verify', file: local, message: `using the checkpoint already at ${local}` },
      true,
    );
    return { file: local, downloaded: false };
  }
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, entry.checkpoint.fileName);
  const url = entry.checkpoint.mirrorPath ? sourceUrl(entry.checkpoint, ctx.mirror) : entry.checkpoint.url;
  const converted = entry.precision === 'fp16' ? 0.5 : 1;
  await downloadFile({
    url,
    dest: file,
    signal: ctx.signal,
    onProgress: (done, total) =>
      progress.emit({
        phase: 'download',
        file: entry.checkpoint.fileName,
        bytesDone: done,
        bytesTotal: total,
      }),
    // Room for the rest of the download and for the pack converted from it.
    beforeWrite: (remaining, total) =>
      checkDiskSpace(
        ctx.packsDir,
        remaining + Math.ceil((total ?? entry.checkpoint.approxBytes) * converted),
      ),
  });
  return { file, downloaded: true };
}

/** ImageBind's example files for the README self-test, fetched once into the packs folder. */
async function selftestAssets(
  entry: CatalogueEntry,
  ctx: AcquireContext,
  progress: ProgressReporter,
): Promise<string> {
  const dir = path.join(ctx.packsDir, '.selftest', 'imagebind');
  await mkdir(dir, { recursive: true });
  for (const asset of entry.selftestAssets) {
    progress.emit({ phase: 'selftest', file: asset.fileName, message: `fetching ${asset.fileName}` });
    await downloadFile({
      url: sourceUrl(asset, ctx.mirror),
      dest: path.join(dir, asset.fileName),
      signal: ctx.signal,
    });
  }
  return dir;
}

/** The self-test of an installed pack, with ImageBind's example files fetched first when it needs them. */
export async function selfTestInstalled(
  installed: InstalledPack,
  ctx: AcquireContext,
  progress = new ProgressReporter(installed.manifest.id, ctx.onProgress),
): Promise<SelfTestResult> {
  const entry = CATALOGUE[0];
  if (installed.manifest.testPack)
    return { ok: false, detail: 'a test pack with random weights: not tested' };
  progress.emit(
    { phase: 'selftest', file: null, bytesDone: 0, bytesTotal: null, message: 'running the self-test' },
    true,
  );
  let assets: string | null = null;
  if (hasReadmeTest(await loadPack(installed.dir))) {
    try {
      assets = await selftestAssets(entry, ctx, progress);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return { ok: false, detail: `not run: ImageBind's example files could not be fetched (${why})` };
    }
  }
  const result = await selfTestPack(installed.dir, assets);
  progress.emit(
    {
      phase: 'selftest',
      file: null,
      message: `self-test ${result.ok ? 'passed' : 'failed'}: ${result.detail}`,
    },
    true,
  );
  return result;
}

async function removeDownload(file: string): Promise<void> {
  if ((await stat(file).catch(() => undefined))?.isFile()) await rm(file, { force: true });
}

function doneMessage(installed: InstalledPack, selftest: SelfTestResult | null): string {
  const id = installed.manifest.id;
  if (!selftest) return `installed ${id} (self-test skipped: unverified)`;
  return selftest.ok
    ? `installed ${id}, verified`
    : `installed ${id}, but its self-test failed: ${selftest.detail}`;
}
