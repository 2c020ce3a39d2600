import { open, rm } from 'node:fs/promises';
import { cancelled, InstallError, RangeNotSatisfiableError, type Body } from './download.js';

/**
 * The one resumable transfer behind every download (docs/architecture.md §4): a pack's files and
 * a checkpoint alike. The bytes on disk are continued from their size with a Range request; a
 * source that ignores Range (200) or has fewer bytes than we hold (416) restarts the file from 0;
 * more bytes than expected is the wrong file and deletes it; anything else that stops the
 * transfer keeps the bytes for the next run.
 */
export interface ResumeJob {
  /** Where the bytes go. */
  file: string;
  /** How messages name it. */
  name: string;
  /** Bytes already in `file` that the caller has judged resumable. */
  have: number;
  /** The size the caller expects, when it knows better than the source (a pack.json). */
  expected?: number;
  open: (from: number, signal?: AbortSignal) => Promise<Body>;
  signal?: AbortSignal;
  /** Sees the opened source before a byte is written (size checks, disk space); throws to stop. */
  accept?: (body: Body, have: number) => Promise<void>;
  /** The bytes on disk are being discarded (a hash over them must start over). */
  onRestart?: () => void;
  onChunk?: (chunk: Uint8Array, pos: number) => void;
}

/** The source sent more than it announced or than was expected: not the file we want. */
class OverrunError extends InstallError {}

/** Brings `job.file` to its full size; returns that size. */
export async function resumeFile(job: ResumeJob): Promise<number> {
  const body = await openFrom(job);
  if (body.from === 0 && job.have > 0) job.onRestart?.();
  await job.accept?.(body, body.from);
  return append(job, body, job.expected ?? body.total);
}

async function openFrom(job: ResumeJob): Promise<Body> {
  if (job.signal?.aborted) throw cancelled(job.signal);
  try {
    return await job.open(job.have, job.signal);
  } catch (e) {
    if (!(e instanceof RangeNotSatisfiableError)) throw e;
    return job.open(0, job.signal);
  }
}

/** Writes the body at its offset (from 0 truncates); too many bytes is an error, too few an interruption. */
async function append(job: ResumeJob, body: Body, limit: number | null): Promise<number> {
  const fh = await open(job.file, body.from === 0 ? 'w' : 'a');
  let pos = body.from;
  try {
    for await (const chunk of body.chunks) {
      if (job.signal?.aborted) throw cancelled(job.signal); // a local copy does not watch the signal itself
      if (limit !== null && pos + chunk.length > limit)
        throw new OverrunError(`${job.name}: the source sent more than the ${limit} bytes expected`);
      await fh.write(chunk);
      pos += chunk.length;
      job.onChunk?.(chunk, pos);
    }
    await fh.sync(); // what a rerun resumes from must really be on disk
  } catch (e) {
    await fh.close().catch(() => undefined); // closed before a wrong file is deleted (Windows)
    throw await failed(job, pos, limit, e);
  } finally {
    await fh.close().catch(() => undefined);
  }
  if (limit !== null && pos < limit) throw interrupted(job.name, pos, limit, 'the transfer ended early');
  return pos;
}

/** What a failed transfer throws; bytes received so far stay for a resume unless they are wrong. */
async function failed(job: ResumeJob, pos: number, limit: number | null, e: unknown): Promise<Error> {
  if (job.signal?.aborted) return cancelled(job.signal);
  if (!(e instanceof OverrunError))
    return interrupted(job.name, pos, limit, e instanceof Error ? e.message : String(e));
  await rm(job.file, { force: true });
  return e;
}

function interrupted(name: string, pos: number, total: number | null, why: string): InstallError {
  const of = total === null ? '' : ` of ${total}`;
  return new InstallError(
    `${name}: download interrupted at ${pos}${of} bytes (${why}); run the install again to resume`,
  );
}
