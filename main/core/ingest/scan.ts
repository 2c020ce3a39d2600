import { opendir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SeenFile } from '../db/files.js';

export interface WalkProblem {
  path: string;
  error: string;
}

/**
 * Walks a folder depth-first, yielding every non-directory entry. Symbolic links are not followed (no loops,
 * and nothing outside the user's folder is indexed through a link); hidden entries (".git",
 * ".Trash", dot-files) are skipped. Unreadable folders are reported, never fatal.
 */
export async function* walk(root: string, problems: WalkProblem[]): AsyncGenerator<SeenFile> {
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let handle;
    try {
      handle = await opendir(dir);
    } catch (e) {
      problems.push({ path: dir, error: errorText(e) });
      continue;
    }
    for await (const entry of handle) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) stack.push(full);
      // Pipes, sockets and devices are listed so they are reported as failures rather than vanish.
      else if (!entry.isSymbolicLink()) {
        const seen = await statFile(full, problems);
        if (seen) yield seen;
      }
    }
  }
}

async function statFile(full: string, problems: WalkProblem[]): Promise<SeenFile | undefined> {
  try {
    const s = await stat(full);
    return { path: full, size: s.size, mtimeMs: s.mtimeMs };
  } catch (e) {
    problems.push({ path: full, error: errorText(e) });
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
