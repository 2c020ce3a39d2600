import { ENGINE_OPTIONS_FLAG } from '../../app/transport.js';
import { Engine, type EngineOptions } from '../core/engine/engine.js';
import { coreService } from '../core/api/service.js';
import { hostEngine } from './host.js';
import type { PortLike } from './protocol.js';

/**
 * The engine host of the desktop app: the entry of Electron's `utilityProcess.fork`, so ONNX
 * inference, SQLite writes, thumbnails and ffmpeg never run in Electron's main process. It never
 * imports `electron`: it is a Node process whose parent port is `process.parentPort` (Electron)
 * or, for development and tests, the IPC channel of `child_process.fork` (`process.send`).
 *
 * What it answers (API calls, `media`, `shutdown`) is host.ts `hostEngine`, shared with the
 * worker thread of `bindery serve`.
 */

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): unknown;
}

/** `process.parentPort` delivers `{ data, ports }` events; the protocol wants the bare message. */
export function portFromParentPort(parentPort: ElectronParentPort): PortLike {
  return {
    postMessage: (m) => parentPort.postMessage(m),
    on: (_event, listener) => parentPort.on('message', (e) => listener(e?.data)),
  };
}

/** The IPC channel of a `child_process.fork`ed Node (dev fallback and tests). */
export function portFromProcess(proc: NodeJS.Process): PortLike {
  return {
    postMessage: (m) => void proc.send?.(m),
    on: (_event, listener) => proc.on('message', listener),
  };
}

export function parentPortLike(proc: NodeJS.Process = process): PortLike {
  const parentPort = (proc as unknown as { parentPort?: ElectronParentPort | null }).parentPort;
  if (parentPort) return portFromParentPort(parentPort);
  if (typeof proc.send === 'function') return portFromProcess(proc);
  throw new Error('utility-entry must run in an Electron utility process or a forked Node process');
}

export function engineOptionsFromArgv(argv: readonly string[]): EngineOptions {
  const arg = argv.find((a) => a.startsWith(ENGINE_OPTIONS_FLAG));
  if (!arg) throw new Error(`no engine options (pass ${ENGINE_OPTIONS_FLAG}<json>)`);
  const opts = JSON.parse(arg.slice(ENGINE_OPTIONS_FLAG.length)) as Partial<EngineOptions>;
  if (typeof opts?.dbPath !== 'string' || !opts.dbPath) throw new Error('engine options need a dbPath');
  return {
    ...opts,
    dbPath: opts.dbPath,
    backgroundReembed: opts.backgroundReembed ?? true,
    watchLibrary: opts.watchLibrary ?? true,
  };
}

async function start(): Promise<void> {
  const port = parentPortLike();
  let engine: Engine;
  let opts: EngineOptions;
  try {
    opts = engineOptionsFromArgv(process.argv);
    engine = await Engine.open(opts);
  } catch (e) {
    port.postMessage({ type: 'fatal', message: e instanceof Error ? e.message : String(e) });
    // Let the message flush, then exit so the shell sees a failed start rather than a silent host.
    setTimeout(() => process.exit(1), 100);
    return;
  }
  const { shutdown } = hostEngine(port, engine, coreService(engine), (code) => process.exit(code), opts);
  // A forked Node child loses its parent when the IPC channel closes; Electron reaps utility processes itself.
  process.once('disconnect', () => shutdown(0));
}

// Imported by tests for its helpers; started only as a process entry.
if (process.argv.some((a) => a.startsWith(ENGINE_OPTIONS_FLAG))) void start();
