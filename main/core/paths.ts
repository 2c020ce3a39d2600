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
