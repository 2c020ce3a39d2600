import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { AppApi } from '../../app/api.js';
import { ApiError } from '../../app/errors.js';
import { isInside } from '../core/paths.js';
import type { UploadStore } from './uploads.js';

/** The API methods whose payload names files to read: search terms and the embed input. */
const FILE_READING_METHODS = new Set(['search', 'embed']);

const OUTSIDE_MESSAGE =
  'only files in your library folders, or dropped into this window, can be used as a query';

/**
 * Over HTTP a query file must lie in a library folder or this server's upload folder
 * (docs/architecture.md §8, "What the server reads"). Without this rule a search term reads any
 * file the server can: its error text tells whether `/root/.ssh/id_rsa` exists and its matches
 * confirm content. The refusal is the same whether or not the file exists, and it is decided
 * first on the path as written, so an outside path is never touched; then on the resolved path,
 * so a link inside a library folder cannot point out of it. The local CLI and the Electron app
 * read what their own user names and do not pass through here.
 */
export async function confineFileTerms(
  api: AppApi,
  uploads: UploadStore,
  method: string,
  payload: unknown,
): Promise<void> {
  if (!FILE_READING_METHODS.has(method)) return;
  const terms = method === 'embed' ? [payload] : termsOf(payload);
  let folders: Promise<Folders> | null = null;
  for (const [i, term] of terms.entries()) {
    const file = (term as { path?: unknown }).path;
    if (typeof file !== 'string') continue; // text and segment terms
    folders ??= allowedFolders(api, uploads);
    if (!(await insideAny(file, await folders))) throw outside(method, i, term);
    uploads.touch(file);
  }
}

interface Folders {
  written: string[];
  real: string[];
}

/** The library folders and the upload folder, as written and resolved: read once per request. */
async function allowedFolders(api: AppApi, uploads: UploadStore): Promise<Folders> {
  const written = [uploads.folder, ...(await api.listRoots()).map((r) => r.path)];
  return { written, real: await Promise.all(written.map((f) => realpath(f).catch(() => f))) };
}

function termsOf(payload: unknown): unknown[] {
  // The request is the schema's parse of a search: its terms are there.
  return (payload as { terms: unknown[] }).terms;
}

async function insideAny(file: string, folders: Folders): Promise<boolean> {
  if (!path.isAbsolute(file)) return false;
  const written = path.resolve(file);
  if (!folders.written.some((f) => isInside(written, f))) return false;
  const real = await realpath(written).catch(() => null);
  // A file that does not exist inside a library folder is the ordinary "cannot read" 4xx later.
  return real === null || folders.real.some((f) => isInside(real, f));
}

function outside(method: string, i: number, term: unknown): ApiError {
  if (method === 'embed')
    return new ApiError('forbidden', OUTSIDE_MESSAGE, [{ path: 'path', message: OUTSIDE_MESSAGE }]);
  const kind = String((term as { modality?: unknown }).modality ?? 'file').slice(0, 20);
  return new ApiError('forbidden', `term ${i + 1} (${kind}): ${OUTSIDE_MESSAGE}`, [
    { path: `terms.${i}`, message: OUTSIDE_MESSAGE },
  ]);
}
