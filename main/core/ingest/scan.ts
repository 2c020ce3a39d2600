import type { Dir } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SeenFile } from '../catalogue/files.js';
import type { ScanProblem, ScanSkip } from '../catalogue/roots.js';

/**
 * The paths a walk could not read (their files are kept, like an unplugged drive's) and those it
 * passes over on purpose, with why: in the shapes the catalogue records per root.
 */
export interface WalkReport {
  unreadable: ScanProblem[];
  skipped: ScanSkip[];
}

export const SKIP_REASONS = {
  symlink:
    'a symbolic link: links are not followed (no loops, nothing outside the folder); the file it points to is indexed where it lies in a library folder',
  hidden: 'hidden (its name starts with a dot)',
  junk: 'system or NAS clutter (thumbnail caches, recycle bins); the "index system files" setting includes it',
  notUtf8: 'its name is not valid UTF-8, so Bindery cannot index it: rename it',
} as const;

/**
 * Walks a folder depth-first, yielding every file that is not a folder (docs/architecture.md §7,
 * "What a scan passes over"). Symbolic links are not followed and hidden entries (".git", ".Trash",
 * dot-files) are not entered; both are listed as skipped, as are names that are not valid UTF-8
 * (a path Node cannot name as a string). Unreadable folders are reported, never fatal.
 */
export async function* walk(
  root: string,
  report: WalkReport,
  opts: WalkOptions = {},
): AsyncGenerator<SeenFile> {
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let handle: Dir;
    try {
      handle = await opendir(dir, { encoding: 'buffer' as BufferEncoding });
    } catch (e) {
      report.unreadable.push({ path: dir, error: errorText(e) });
      continue;
    }
    for await (const entry of handle) {
      const raw = entry.name as unknown as Buffer;
      const name = raw.toString('utf8');
      const full = path.join(dir, name);
      const skip = skipReason(raw, name, entry.isSymbolicLink(), opts.ignoreJunk ?? true);
      if (skip)
        report.skipped.push({
          path: skip === 'notUtf8' ? path.join(dir, escapeBytes(raw)) : full,
          reason: SKIP_REASONS[skip],
        });
      else if (entry.isDirectory()) stack.push(full);
      // Pipes, sockets and devices are listed so they are reported as failures rather than vanish.
      else {
        const seen = await statFile(full, report);
        if (seen) yield seen;
      }
    }
  }
}

export interface WalkOptions {
  /** Pass over JUNK_NAMES (default true). */
  ignoreJunk?: boolean;
}

/**
 * What operating systems and NAS boxes leave in photo folders: Windows' thumbnail caches and
 * recycle bins, Synology's @eaDir and #recycle, QNAP's .@__thumb. (macOS's `._*`, `.DS_Store`,
 * `.Trashes` and Linux's `.thumbnails` are hidden names, passed over as such.)
 */
export const JUNK_NAMES = new Set([
  'thumbs.db',
  'ehthumbs.db',
  'desktop.ini',
  '@eadir',
  '#recycle',
  '#snapshot',
  '$recycle.bin',
  'system volume information',
]);

type SkipKind = keyof typeof SKIP_REASONS;

function skipReason(raw: Buffer, name: string, isLink: boolean, ignoreJunk: boolean): SkipKind | null {
  if (!Buffer.from(name, 'utf8').equals(raw)) return 'notUtf8';
  return passedOver(name, ignoreJunk) ?? (isLink ? 'symlink' : null);
}

/** Why a walk or a watcher passes over an entry by its name alone; null when it does not. */
export function passedOver(name: string, ignoreJunk: boolean): 'hidden' | 'junk' | null {
  if (name.startsWith('.')) return 'hidden';
  return ignoreJunk && JUNK_NAMES.has(name.toLowerCase()) ? 'junk' : null;
}

/** A name's bytes as text a person can read: valid UTF-8 as it is, every other byte as \xNN. */
export function escapeBytes(raw: Buffer): string {
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const len = utf8Length(raw, i);
    if (len > 0) {
      out += raw.subarray(i, i + len).toString('utf8');
      i += len;
    } else out += `\\x${raw[i++].toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function utf8Length(b: Buffer, i: number): number {
  const lead = b[i];
  const len = lead < 0x80 ? 1 : lead >> 5 === 0x6 ? 2 : lead >> 4 === 0xe ? 3 : lead >> 3 === 0x1e ? 4 : 0;
  if (len === 0 || i + len > b.length) return 0;
  const seq = b.subarray(i, i + len);
  return Buffer.from(seq.toString('utf8'), 'utf8').equals(seq) ? len : 0;
}

async function statFile(full: string, report: WalkReport): Promise<SeenFile | undefined> {
  try {
    const s = await stat(full);
    return { path: full, size: s.size, mtimeMs: s.mtimeMs };
  } catch (e) {
    report.unreadable.push({ path: full, error: errorText(e) });
    return undefined;
  }
}

/** One readable line for any thrown value: what the user sees next to a failed file. */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
    if (code === 'ENOENT') return 'file vanished before it could be read';
    if (code === 'EISDIR') return 'is a directory';
    return e.message.split('\n')[0].slice(0, 500);
  }
  return String(e);
}
