import { existsSync } from 'node:fs';
import * as sqliteVec from 'sqlite-vec';
import * as sqliteVssModule from 'sqlite-vss';
import { simdSupported } from './quant/kernels.js';
import type { BackendName, Db } from './types.js';

/** sqlite-vss 0.1.2 exports these path helpers but its typings omit them. */
const sqliteVss = sqliteVssModule as typeof sqliteVssModule & {
  getVectorLoadablePath(): string;
  getVssLoadablePath(): string;
};

/**
 * Loads the SQLite extensions behind the vector backends from real files. Electron packs the app
 * into app.asar, which dlopen() cannot read, so electron-builder unpacks the extensions next to
 * it (app.asar.unpacked) and every path is rewritten to point there.
 */

/** Platforms sqlite-vss 0.1.2 ships binaries for (no Windows, no Linux arm64). */
const VSS_PLATFORMS = new Set(['linux-x64', 'darwin-x64', 'darwin-arm64']);

/** The runtime libraries vss0.so links against, with the Debian/Ubuntu packages that provide them. */
const VSS_RUNTIME_PACKAGES = 'libblas3 liblapack3 libgomp1';

/**
 * CPUs on which V8 runs WebAssembly SIMD, which 'quant' needs (it loads no extension). Other
 * platforms are checked by compiling a SIMD module when they are the one running.
 */
const SIMD_ARCHS = new Set(['x64', 'arm64']);

function quantRuns(platform: string, arch: string): boolean {
  const here = platform === process.platform && arch === process.arch;
  return here ? simdSupported() : SIMD_ARCHS.has(arch);
}

/** Backends that can run on this platform (the default is defaultBackend() in index.ts). */
export function availableBackends(platform = process.platform, arch = process.arch): BackendName[] {
  const out: BackendName[] = ['vec'];
  if (VSS_PLATFORMS.has(`${platform}-${arch}`)) out.push('vss');
  if (quantRuns(platform, arch)) out.push('quant');
  return out;
}

/** `…/app.asar/node_modules/x.so` → `…/app.asar.unpacked/node_modules/x.so`; other paths unchanged. */
export function unpackedPath(file: string): string {
  return file.replace(/([\\/])app\.asar(?=[\\/])/, '$1app.asar.unpacked');
}

/** The extension files a backend needs, in load order (sqlite-vss needs vector0 before vss0). */
export function extensionPaths(backend: BackendName): string[] {
  if (backend === 'quant') return [];
  if (backend === 'vec') return [unpackedPath(sqliteVec.getLoadablePath())];
  if (!availableBackends().includes('vss')) {
    throw new Error(`sqlite-vss has no build for ${process.platform}-${process.arch}; use the 'vec' backend`);
  }
  return [sqliteVss.getVectorLoadablePath(), sqliteVss.getVssLoadablePath()].map(unpackedPath);
}

/** Turns a dlopen failure into an actionable message (the usual one: BLAS/LAPACK are not installed). */
export function explainLoadError(backend: BackendName, file: string, err: unknown): Error {
  const detail = err instanceof Error ? err.message : String(err);
  if (backend === 'vss' && /lib(blas|lapack|gomp|gfortran)[^\s:]*\.so/i.test(detail)) {
    return new Error(
      `sqlite-vss needs BLAS, LAPACK and OpenMP at runtime and could not load them (${detail}). ` +
        `On Debian/Ubuntu: sudo apt-get install ${VSS_RUNTIME_PACKAGES}; or use the 'vec' backend.`,
      { cause: err },
    );
  }
  if (!existsSync(file)) {
    return new Error(`${backend} extension not found at ${file} (is it unpacked from app.asar?)`, {
      cause: err,
    });
  }
  return new Error(`could not load the ${backend} extension ${file}: ${detail}`, { cause: err });
}

/** A function each extension registers, probed to make loading idempotent per connection. */
const PROBE: Record<BackendName, string | undefined> = {
  vec: 'vec_version()',
  vss: 'vss_version()',
  quant: undefined,
};

export function isLoaded(db: Db, backend: BackendName): boolean {
  if (PROBE[backend] === undefined) return true; // nothing to load
  try {
    db.prepare(`SELECT ${PROBE[backend]}`).get();
    return true;
  } catch {
    return false;
  }
}

/**
 * Faiss (inside vss0) runs its searches in OpenMP regions; with libgomp's default wait policy the
 * idle thread busy-waits, so a one-query search burnt 2 cores for 1 core of work, and when other
 * processes (or our own ONNX inference) wanted the cores, p50 went from 9 ms to 84 ms (50k
 * vectors). PASSIVE keeps threads for batched work but sleeps them: 2.0 → 1.0 cores, p95 10 ms.
 * libgomp reads this once, when vss0 first pulls it in; a value the user set wins.
 */
function calmOpenMp(): void {
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
}

/** Loads the extensions for `backends` (default: all this platform supports) unless already loaded. */
export function loadVectorExtensions(db: Db, backends: BackendName[] = availableBackends()): void {
  for (const backend of new Set(backends)) {
    if (isLoaded(db, backend)) continue;
    if (backend === 'vss') calmOpenMp();
    for (const file of extensionPaths(backend)) {
      try {
        db.loadExtension(file);
      } catch (err) {
        throw explainLoadError(backend, file, err);
      }
    }
  }
}
