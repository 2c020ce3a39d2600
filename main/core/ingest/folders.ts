import { constants } from 'node:fs';
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

function refuse(folder: string, why: string): ApiError {
  return new ApiError('invalid_request', `${folder}: ${why}`);
}

/** The folder as the library will know it (links resolved), or a 400 saying why it cannot be one. */
export async function checkLibraryFolder(folder: string): Promise<string> {
  if (!path.isAbsolute(folder)) {
    throw refuse(
      folder,
      "give an absolute path (a relative one would be taken from the engine's working folder)",
    );
  }
  const info = await stat(folder).catch((e: NodeJS.ErrnoException) => {
    throw refuse(
      folder,
      e.code === 'ENOENT' ? 'no such folder' : e.code === 'EACCES' ? 'permission denied' : e.message,
    );
  });
  if (!info.isDirectory()) throw refuse(folder, 'not a folder');
  await access(folder, constants.R_OK | constants.X_OK).catch(() => {
    throw refuse(folder, 'cannot be read (permission denied)');
  });
  const real = await realpath(folder);
  const pseudo = PSEUDO_ROOTS.find((p) => real === p || real.startsWith(`${p}/`));
  if (pseudo) throw refuse(folder, `${pseudo} is a system folder of the OS, not a media library`);
  return real;
}
