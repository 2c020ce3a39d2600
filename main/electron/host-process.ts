import { ENGINE_OPTIONS_FLAG } from '../../app/transport.js';
import { fork, type ChildProcess } from 'node:child_process';
import type { UtilityProcess, utilityProcess as UtilityProcessModule } from 'electron';
import type { EngineOptions } from '../core/engine/engine.js';
import type { HostProcess, SpawnHost } from './engine-host.js';

/**
 * The two ways to run utility-entry: Electron's utilityProcess (always, when packaged) and a
 * plain Node child (development only: the native modules in node_modules are built for Node's
 * ABI so the tests can run, and electron-builder rebuilds them for Electron only when packaging).
 */

export function fromUtilityProcess(child: UtilityProcess): HostProcess {
  // An unhandled 'error' event would throw in the main process; the 'exit' that follows it is what counts.
  child.on('error', () => undefined);
  return {
    postMessage: (m) => {
      try {
        child.postMessage(m);
      } catch {
        // The process is gone; its exit event settles everything in flight.
      }
    },
    onMessage: (l) => void child.on('message', l),
    onExit: (l) => void child.once('exit', (code) => l(code)),
    kill: () => void child.kill(),
  };
}

export function fromChildProcess(child: ChildProcess): HostProcess {
  return {
    postMessage: (m) => {
      if (child.connected) child.send(m as never, (err) => void err);
    },
    onMessage: (l) => void child.on('message', l),
    onExit: (l) => {
      // A child that cannot be spawned (no `node` on PATH) reports 'error' and may never 'exit'.
      let done = false;
      const once = (code: number | null, signal: string | null) => {
        if (done) return;
        done = true;
        l(code, signal);
      };
      child.once('exit', once);
      child.on('error', (err) => {
        if (child.pid === undefined) once(null, `spawn failed: ${err.message}`);
      });
    },
    kill: () => void child.kill('SIGKILL'),
  };
}

export interface HostSpawnOptions {
  /** The compiled utility-entry.js. */
  entry: string;
  engine: EngineOptions;
  env?: NodeJS.ProcessEnv;
}

export function engineArgs(engine: EngineOptions): string[] {
  return [`${ENGINE_OPTIONS_FLAG}${JSON.stringify(engine)}`];
}

export function utilitySpawner(utilityProcess: typeof UtilityProcessModule, o: HostSpawnOptions): SpawnHost {
  return () =>
    fromUtilityProcess(
      utilityProcess.fork(o.entry, engineArgs(o.engine), {
        serviceName: 'Bindery engine',
        stdio: 'inherit',
        env: o.env ?? process.env,
      }),
    );
}

/** `node` (or $BINDERY_ENGINE_NODE) running utility-entry over an IPC channel. */
export function nodeSpawner(nodePath: string, o: HostSpawnOptions): SpawnHost {
  return () => {
    const env = { ...(o.env ?? process.env) };
    delete env.ELECTRON_RUN_AS_NODE;
    return fromChildProcess(
      fork(o.entry, engineArgs(o.engine), {
        execPath: nodePath,
        execArgv: [],
        env,
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
  };
}

/** A start failure because a native module was built for another Node ABI (NODE_MODULE_VERSION). */
export function isAbiMismatch(message: string): boolean {
  return /NODE_MODULE_VERSION|compiled against a different Node\.js version|was compiled against/i.test(
    message,
  );
}
