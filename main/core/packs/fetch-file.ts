import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { DEFAULT_FETCH_TIMEOUT_MS, openUrl } from './download.js';
import { resumeFile } from './resume.js';

/**
 * One large file fetched over HTTP, resumable across runs and restarts (docs/architecture.md §4):
 * the bytes go to `<dest>.partial` beside a small `<dest>.partial.json` naming the URL and the size
 * the server stated, so a rerun continues from the bytes on disk (resume.ts), and a partial file
 * from another URL, or from a file that changed size at the source, starts over. The file appears
 * under `dest` only once complete.
 */

export interface FileDownload {
  url: string;
  dest: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Bytes on disk so far, and the total when the server stated it. */
  onProgress?: (done: number, total: number | null) => void;
  /** Called once the size is known, with the bytes still to come; throws to stop (disk space). */
  beforeWrite?: (remaining: number, total: number | null) => Promise<void>;
}

interface PartialMeta {
  url: string;
  total: number | null;
}

export async function downloadFile(d: FileDownload): Promise<{ bytes: number }> {
  const done = await stat(d.dest).catch(() => undefined);
  if (done?.isFile()) return { bytes: done.size };
  const partial = `${d.dest}.partial`;
  const metaFile = `${partial}.json`;
  const url = new URL(d.url);
  const timeout = d.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  let total: number | null = null;
  const bytes = await resumeFile({
    file: partial,
    name: d.url,
    have: await resumableBytes(partial, metaFile, d.url),
    signal: d.signal,
    open: (from, signal) => openUrl(url, from, timeout, signal),
    accept: async (body, have) => {
      total = body.total;
      await writeFile(metaFile, JSON.stringify({ url: d.url, total: body.total } satisfies PartialMeta));
      await d.beforeWrite?.(body.total === null ? 0 : body.total - have, body.total);
    },
    onChunk: (_, pos) => d.onProgress?.(pos, total),
  });
  await rename(partial, d.dest);
  await rm(metaFile, { force: true });
  return { bytes };
}

/** Bytes already on disk from an earlier run of the same URL; 0 (after clearing) otherwise. */
async function resumableBytes(partial: string, metaFile: string, url: string): Promise<number> {
  const meta = await readFile(metaFile, 'utf8')
    .then((t) => JSON.parse(t) as PartialMeta)
    .catch(() => null);
  const size = (await stat(partial).catch(() => undefined))?.size ?? 0;
  if (meta?.url === url && size > 0 && (meta.total === null || size <= meta.total)) return size;
  await rm(partial, { force: true });
  return 0;
}
