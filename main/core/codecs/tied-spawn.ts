import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * A child process whose life is tied to Bindery's (docs/architecture.md §7, "kill -9"): when the
 * indexer is killed, even with SIGKILL, which no handler sees, its ffmpeg children die with it
 * instead of decoding on as orphans. On Linux the kernel does this for us: util-linux's `setpriv
 * --pdeathsig KILL` sets PR_SET_PDEATHSIG on the child and then execs the real program, so the
 * signal arrives when the thread that spawned it ends. Where setpriv is missing (and on macOS and
 * Windows) the child is spawned directly; it then ends at its next write into the closed pipe.
 */

let setpriv: string | null | undefined;

/** setpriv, when it exists here and knows --pdeathsig (util-linux 2.33 and later). */
function findSetpriv(): string | null {
  if (setpriv !== undefined) return setpriv;
  setpriv = null;
  if (process.platform !== 'linux' || process.env.BINDERY_NO_PDEATHSIG) return setpriv;
  for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv']) {
    const probe = spawnSync(candidate, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' });
    if (probe.status === 0) return (setpriv = candidate);
  }
  return setpriv;
}

/** Whether children spawned here die with this process (for status and tests). */
export function childrenDieWithUs(): boolean {
  return findSetpriv() !== null;
}

export function spawnTied(
  bin: string,
  args: readonly string[],
  options: SpawnOptions & { stdio: ['ignore', 'pipe', 'pipe', ...'pipe'[]] },
): ChildProcess {
  const tie = findSetpriv();
  return tie ? spawn(tie, ['--pdeathsig', 'KILL', '--', bin, ...args], options) : spawn(bin, args, options);
}
