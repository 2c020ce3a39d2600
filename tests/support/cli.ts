import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

export const BIN = path.join(REPO_ROOT, 'bin', 'bindery.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `bindery` command (compiled by `npm run build`, which `npm test` runs first). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return collect(startCli(args, env));
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, BINDERY_HOME: path.join(os.tmpdir(), 'bindery-test-home'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Parses `--json` output: one JSON value per line. */
export function jsonLines(stdout: string): unknown[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

export async function tempDir(
  prefix = 'bindery-test-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** sha256 of every regular file under a folder: proof that indexing never modifies user files. */
export async function checksums(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  // Paths as bytes, so names that are not valid UTF-8 are checksummed too; links are not followed.
  const visit = async (d: Buffer): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true, encoding: 'buffer' }).catch(() => []);
    for (const entry of entries) {
      const full = Buffer.concat([d, Buffer.from('/'), entry.name]);
      if (entry.isDirectory()) await visit(full);
      if (!entry.isFile()) continue;
      const s = await stat(full);
      if (!(s.mode & 0o444)) continue;
      out.set(
        full.toString('latin1'),
        createHash('sha256')
          .update(await readFile(full))
          .digest('hex'),
      );
    }
  };
  await visit(Buffer.from(dir));
  return out;
}
