import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding Bindery's package.json, from source (main/core) or compiled (dist/main/core). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'bindery') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot locate the Bindery package folder');
    dir = up;
  }
}

/** The OS user-data folder Bindery keeps its catalogue and packs in. */
export function userDataDir(): string {
  if (process.env.BINDERY_HOME) return path.resolve(process.env.BINDERY_HOME);
  const home = os.homedir();
  if (process.platform === 'win32')
    return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Bindery');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Bindery');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'bindery');
}

/** $BINDERY_DB, else catalogue.db in the user-data folder. */
export function defaultCataloguePath(): string {
  return process.env.BINDERY_DB
    ? path.resolve(process.env.BINDERY_DB)
    : path.join(userDataDir(), 'catalogue.db');
}

/** Packs live beside the catalogue they were installed for (a shared catalogue's replica shares them). */
export function packsDirFor(dbPath: string): string {
  return path.join(path.dirname(path.resolve(dbPath)), 'packs');
}

/** Whether a catalogue string names a server, `postgres://` or `postgresql://` (docs/architecture.md §13). */
export function isServerCatalogue(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/** A machine name as the shared catalogue keys mounts by: letters, digits, `.`, `_` and `-`. */
export const MACHINE_NAME = /^[\w.-]{1,64}$/;

/** This machine in a shared catalogue: $BINDERY_MACHINE, else the host name made a valid machine name. */
export function machineName(): string {
  const name =
    process.env.BINDERY_MACHINE ??
    os
      .hostname()
      .replace(/[^\w.-]/g, '-')
      .slice(0, 64);
  return MACHINE_NAME.test(name) ? name : 'this-machine';
}

/**
 * Where the app mirrors a shared catalogue (docs/architecture.md §13): beside the local catalogue,
 * so both use one packs folder; one file per server, database and user, named by a hash of them,
 * never by the password.
 */
export function replicaCataloguePath(url: string): string {
  const id = createHash('sha256').update(sharedCatalogueIdentity(url)).digest('hex').slice(0, 16);
  return path.join(path.dirname(defaultCataloguePath()), `shared-${id}.db`);
}

/** Which shared catalogue a connection string names, whatever its password or TLS options: user@host:port/database. */
export function sharedCatalogueIdentity(url: string): string {
  try {
    const u = new URL(url);
    return `${decodeURIComponent(u.username)}@${u.host}${u.pathname}`;
  } catch {
    throw new Error('the shared catalogue connection string is not a valid postgres:// URL');
  }
}

/** The catalogue an app host (`bindery serve`, the window) opens, and the shared catalogue it mirrors. */
export interface AppCatalogue {
  dbPath: string;
  shared?: { url: string; machine: string };
}

/**
 * `--catalogue` (else $BINDERY_CATALOGUE) naming a server: the app mirrors it in a replica file
 * (`--db` names that file instead). Naming a SQLite file: the app opens that file, as workers do.
 */
export function appCatalogue(o: { db?: string; catalogue?: string } = {}): AppCatalogue {
  const spec = o.catalogue ?? process.env.BINDERY_CATALOGUE;
  const db = o.db ? path.resolve(o.db) : undefined;
  if (!spec) return { dbPath: db ?? defaultCataloguePath() };
  if (!isServerCatalogue(spec)) return { dbPath: db ?? path.resolve(spec) };
  return { dbPath: db ?? replicaCataloguePath(spec), shared: { url: spec, machine: machineName() } };
}

/** The random-weight test pack that ships with Bindery ($BINDERY_TEST_PACK for packaged builds). */
export function bundledTestPackDir(): string {
  return process.env.BINDERY_TEST_PACK ?? path.join(packageRoot(), 'models', 'test-pack');
}

/** The CLIP BPE merges every pack with a text encoder carries (shipped inside the test pack). */
export function bundledVocabPath(): string {
  return path.join(bundledTestPackDir(), 'bpe_simple_vocab_16e6.txt.gz');
}

/** Whether `child` is `parent` or lies under it (both absolute; no symlinks resolved here). */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
