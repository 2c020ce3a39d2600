import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import {
  cancelled,
  DEFAULT_FETCH_TIMEOUT_MS,
  InstallError,
  openUrl,
  RangeNotSatisfiableError,
  type Body,
} from './download.js';

/**
 * One large file fetched over HTTP, resumable across runs and restarts (docs/architecture.md §4):
 * the bytes go to `<dest>.partial` beside a small `<dest>.partial.json` naming the URL and the size
 * the server stated, so a rerun continues with a Range request from the bytes on disk, and a
 * partial file from another URL, or from a file that changed size at the source, starts over.
 * The file appears under `dest` only once complete.
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

/** The server sent more than it announced: not the file it described. */
class OverrunError extends InstallError {}

interface PartialMeta {
  url: string;
  total: number | null;
}

export async function downloadFile(d: FileDownload): Promise<{ bytes: number }> {
  const done = await stat(d.dest).catch(() => undefined);
  if (done?.isFile()) return { bytes: done.size };
  const partial = `${d.dest}.partial`;
  const metaFile = `${partial}.json`;
  let have = await resumableBytes(partial, metaFile, d.url);
  const body = await openBody(d, have, partial);
  if (body.from === 0 && have > 0) have = await startOver(partial);
  await writeFile(metaFile, JSON.stringify({ url: d.url, total: body.total } satisfies PartialMeta));
  await d.beforeWrite?.(body.total === null ? 0 : body.total - have, body.total);
  const bytes = await append(d, partial, body);
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
  return startOver(partial);
}

async function startOver(partial: string): Promise<number> {
  await rm(partial, { force: true });
  return 0;
}

async function openBody(d: FileDownload, have: number, partial: string): Promise<Body> {
  const timeout = d.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const url = new URL(d.url);
  try {
    return await openUrl(url, have, timeout, d.signal);
  } catch (e) {
    // 416: the source holds fewer bytes than we do — not the file we started; fetch it again.
    if (!(e instanceof RangeNotSatisfiableError)) throw e;
    return openUrl(url, await startOver(partial), timeout, d.signal);
  }
}

/** Writes the body at its offset; returns the final size. Too many bytes is an error, too few an interruption. */
async function append(d: FileDownload, partial: string, body: Body): Promise<number> {
  const fh = await open(partial, body.from === 0 ? 'w' : 'a');
  let pos = body.from;
  try {
    for await (const chunk of body.chunks) {
      if (d.signal?.aborted) throw cancelled(d.signal);
      if (body.total !== null && pos + chunk.length > body.total) {
        await fh.close();
        await startOver(partial);
        throw new OverrunError(`${d.url}: the server sent more than the ${body.total} bytes it announced`);
      }
      await fh.write(chunk);
      pos += chunk.length;
      d.onProgress?.(pos, body.total);
    }
    await fh.sync(); // what a rerun resumes from must really be on disk
  } catch (e) {
    if (d.signal?.aborted) throw cancelled(d.signal);
    if (e instanceof OverrunError) throw e;
    throw interrupted(d.url, pos, body.total, e instanceof Error ? e.message : String(e));
  } finally {
    await fh.close().catch(() => undefined);
  }
  if (body.total !== null && pos < body.total)
    throw interrupted(d.url, pos, body.total, 'the transfer ended early');
  return pos;
}

function interrupted(url: string, pos: number, total: number | null, why: string): InstallError {
  const of = total === null ? '' : ` of ${total}`;
  return new InstallError(
    `${url}: download interrupted at ${pos}${of} bytes (${why}); run the install again to resume`,
  );
}
