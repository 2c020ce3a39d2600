import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Process memory for the benchmarks. RSS is split as Linux reports it: anonymous pages (heaps,
 * WebAssembly memory, Faiss indexes) and file-backed ones (mostly the memory-mapped catalogue,
 * which the kernel can drop at any time), so an index's own footprint is not confused with the
 * page cache of a file it reads.
 */

export interface Resident {
  /** Anonymous resident MiB (Linux RssAnon; elsewhere the whole RSS). */
  anon: number;
  /** File-backed resident MiB (Linux RssFile + RssShmem; 0 elsewhere). */
  file: number;
}

function statusKiB(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : 0;
}

export function residentMB(): Resident {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    return {
      anon: statusKiB(status, 'RssAnon') / 1024,
      file: (statusKiB(status, 'RssFile') + statusKiB(status, 'RssShmem')) / 1024,
    };
  } catch {
    return { anon: process.memoryUsage().rss / 2 ** 20, file: 0 };
  }
}

let gc: (() => void) | undefined;

/** Runs a full GC (exposing it at run time: `bindery bench` cannot pass --expose-gc) and reads RSS. */
export function collectGarbage(): Resident {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  return residentMB();
}
