import { constants, type Stats } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../../../app/errors.js';

/**
 * What may be a library folder (docs/architecture.md §7): an absolute path (a relative one would
 * depend on the engine's working folder, not the user's), to an existing, readable directory that
 * is not a pseudo-filesystem of the OS. Every transport gets the same answer: a 400 that says why.
 */

/** Kernel and device trees: their "files" are not media and some never end when read. */
const PSEUDO_ROOTS =
  process.platform === 'linux'
    ? ['/proc', '/sys', '/dev', '/run']
    : process.platform === 'darwin'
      ? ['/dev']
      : [];

/** Where udisks mounts removable drives (Fedora, Arch, …): media, though under /run. */
const MOUNTS_UNDER_PSEUDO = process.platform === 'linux' ? ['/run/media'] : [];

const under = (real: string, p: string) => real === p || real.startsWith(`${p}/`);

/** The OS folder a resolved path lies in, when it is one no library may be in; else undefined. */
export function systemFolderOf(real: string): string | undefined {
  if (MOUNTS_UNDER_PSEUDO.some((m) => under(real, m))) return undefined;
  return PSEUDO_ROOTS.find((p) => under(real, p));
}

function refuse(folder: string, why: string): ApiError {
  return new ApiError('invalid_request', `${folder}: ${why}`);
}

const STAT_WHY: Record<string, string> = {
  ENOENT: 'no such folder',
  ENOTDIR: 'no such folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'a symbolic link that loops',
  ENAMETOOLONG: 'the path is too long',
};

/** An fs error in plain words. */
export const fsWhy = (e: unknown): string =>
  STAT_WHY[(e as NodeJS.ErrnoException).code ?? ''] ?? (e as Error).message;

function whatItIs(info: Stats): string {
  if (info.isFile()) return 'a file';
  if (info.isFIFO()) return 'a named pipe';
  if (info.isSocket()) return 'a socket';
  return 'a device';
}

/**
 * `folder` resolved, or a 400 that says in plain words why it is no folder at all: relative,
 * missing, a file or a pipe, a link that loops. (The folder picker lists any such folder.)
 */
export async function checkFolderPath(folder: string): Promise<string> {
  if (!path.isAbsolute(folder)) throw refuse(folder, 'give an absolute path, such as /home/you/Pictures');
  const resolved = path.resolve(folder);
  const info = await stat(resolved).catch((e: unknown) => {
    throw refuse(folder, fsWhy(e));
  });
  if (!info.isDirectory()) throw refuse(folder, `not a folder: it is ${whatItIs(info)}`);
  return resolved;
}

/** The folder as the library will know it (links resolved), or a 400 saying why it cannot be one. */
export async function checkLibraryFolder(folder: string): Promise<string> {
  await checkFolderPath(folder);
  await access(folder, constants.R_OK | constants.X_OK).catch(() => {
    throw refuse(folder, 'cannot be read (permission denied)');
  });
  const real = await realpath(folder);
  const pseudo = systemFolderOf(real);
  if (pseudo) throw refuse(folder, `${pseudo} is a system folder of the OS, not a media library`);
  return real;
}
