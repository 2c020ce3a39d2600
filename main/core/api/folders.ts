import { constants } from 'node:fs';
import { access, opendir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DirListing } from '../../../app/api.js';
import { overlapOf } from '../catalogue/roots.js';
import { checkFolderPath, checkLibraryFolder, fsWhy } from '../ingest/folders.js';

/**
 * The folder picker of browser mode (docs/architecture.md §8, "What the server reads"): one
 * folder's subfolders, by name. It names folders only — files are counted, never named, opened or
 * read — and it follows the rules of library folders: absolute paths only, hidden folders left out
 * (scans never enter them), a folder that cannot be read listed as such rather than failing.
 * Only one level is ever read, so a symbolic link that loops costs one failed stat, never a walk.
 */

/** Subfolders listed at most; a huge folder says how many more it has. */
export const MAX_LISTED = 500;

/** Where drives and shares are mounted, offered as shortcuts where they exist (udisks: /run/media). */
const MOUNT_PLACES = ['/media', '/run/media', '/mnt', '/Volumes'];

interface Entries {
  dirs: { name: string; link: boolean }[];
  hidden: number;
  files: number;
  error: string | null;
}

/** Reads one folder's entries, streaming: only folder names are kept, files are only counted. */
async function readEntries(folder: string): Promise<Entries> {
  const out: Entries = { dirs: [], hidden: 0, files: 0, error: null };
  try {
    for await (const d of await opendir(folder, { bufferSize: 256 })) {
      const isDir =
        d.isDirectory() || (d.isSymbolicLink() && (await isDirThroughLink(path.join(folder, d.name))));
      if (!isDir) out.files++;
      else if (d.name.startsWith('.')) out.hidden++;
      // A name that is not valid UTF-8 cannot be addressed as text (docs/architecture.md §7).
      else if (!d.name.includes('\uFFFD')) out.dirs.push({ name: d.name, link: d.isSymbolicLink() });
    }
  } catch (e) {
    // Unreadable (permission denied) or failing part-way (a drive pulled out): said, not a 500.
    out.error = `cannot be opened: ${fsWhy(e)}`;
  }
  return out;
}

/** A link counts as a folder when it resolves to one; a dangling or looping link does not. */
async function isDirThroughLink(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isDirectory() ?? false;
}

async function readable(p: string): Promise<boolean> {
  return access(p, constants.R_OK | constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Why `folder` cannot be added to a library holding `roots`: addRoot's own checks, in the same words. */
async function refusalOf(folder: string, roots: readonly string[]): Promise<string | null> {
  let real: string;
  try {
    real = await checkLibraryFolder(folder);
  } catch (e) {
    return (e as Error).message;
  }
  if (roots.includes(real)) return `${folder} is already a library folder`;
  return overlapOf(roots, real);
}

/** Where the picker opens: the home folder, or the top when a service account has none. */
async function startFolder(): Promise<string> {
  const home = os.homedir();
  return (await isDirThroughLink(home)) ? home : path.parse(home).root;
}

async function places(roots: readonly string[]): Promise<DirListing['places']> {
  const home = os.homedir();
  const mounts = [];
  for (const m of MOUNT_PLACES) if (await isDirThroughLink(m)) mounts.push({ label: m, path: m });
  const top = path.parse(home).root;
  return [
    ...((await isDirThroughLink(home)) ? [{ label: 'Home', path: home }] : []),
    ...roots.map((r) => ({ label: path.basename(r) || r, path: r })),
    ...mounts,
    { label: top, path: top },
  ];
}

/** AppApi.listDirs: `roots` are the library folders, for the shortcuts and the overlap rule. */
export async function listSubfolders(
  requested: string | undefined,
  roots: readonly string[],
): Promise<DirListing> {
  const folder = await checkFolderPath(requested ?? (await startFolder()));
  const { dirs, hidden, files, error } = await readEntries(folder);
  dirs.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' }));
  const shown = dirs.slice(0, MAX_LISTED);
  const entries = await Promise.all(
    shown.map(async ({ name, link }) => {
      const p = path.join(folder, name);
      return { name, path: p, link, readable: await readable(p) };
    }),
  );
  const parent = path.dirname(folder);
  return {
    path: folder,
    parent: parent === folder ? null : parent,
    entries,
    more: dirs.length - shown.length,
    hidden,
    files,
    error,
    refusal: await refusalOf(folder, roots),
    places: await places(roots),
  };
}
