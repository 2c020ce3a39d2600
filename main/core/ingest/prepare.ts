import { stat } from 'node:fs/promises';
import type { MediaKind } from '../../../app/modality.js';
import { contentByHash, isEmbedded } from '../catalogue/contents.js';
import type { QueuedJob } from '../catalogue/files.js';
import type { IngestPorts } from './ports.js';
import { decodeFile, type Decoded } from '../modalities/segments.js';
import { contentHash } from './hash.js';
import { errorText } from './scan.js';
import { sniffFile } from './sniff.js';

export type Prepared =
  | { job: QueuedJob; type: 'failed'; error: string; kind: MediaKind | null }
  | { job: QueuedJob; type: 'reuse'; contentId: number; kind: MediaKind }
  | { job: QueuedJob; type: 'new'; hash: string; size: number; decoded: Decoded };

/**
 * sniff → hash → decode for one queued file. Content already embedded by the writer pack is not
 * decoded again (a rename, a move, a copy). Any failure becomes a recorded reason, never a throw.
 */
export async function prepareJob(ports: IngestPorts, job: QueuedJob): Promise<Prepared> {
  let kind: MediaKind | null = null;
  try {
    const size = await regularFileSize(job.file.path);
    kind = (await sniffFile(job.file.path)).kind;
    const hash = await contentHash(job.file.path);
    const known = contentByHash(ports.db, hash);
    if (known && isEmbedded(ports.db, known.id, ports.writer.id)) {
      return { job, type: 'reuse', contentId: known.id, kind: known.kind };
    }
    const decoded = await decodeFile(job.file.path, kind, ports.writer.pack.manifest);
    return { job, type: 'new', hash, size, decoded };
  } catch (e) {
    return { job, type: 'failed', error: errorText(e), kind };
  }
}

/** Named pipes, sockets and devices would block or mislead a reader: refuse them up front. */
async function regularFileSize(file: string): Promise<number> {
  const s = await stat(file);
  if (!s.isFile()) throw new Error(`not a regular file (${describeSpecial(s)})`);
  if (s.size === 0) throw new Error('empty file (0 bytes)');
  return s.size;
}

function describeSpecial(s: Awaited<ReturnType<typeof stat>>): string {
  if (s.isFIFO()) return 'named pipe';
  if (s.isSocket()) return 'socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'device';
  if (s.isDirectory()) return 'directory';
  return 'special file';
}
