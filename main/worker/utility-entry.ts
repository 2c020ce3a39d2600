import { MEDIA_VARIANTS, type MediaVariant } from '../../app/api.js';
import { ENGINE_OPTIONS_FLAG } from '../../app/transport.js';
import { Engine, type EngineOptions } from '../core/engine.js';
import { MediaError, resolveMedia, type ServedFile } from '../core/media/media.js';
import { CoreService } from '../core/service.js';
import { serveApi } from './host.js';
import type { PortLike } from './protocol.js';

/**
 * The engine host of the desktop app: the entry of Electron's `utilityProcess.fork`, so ONNX
 * inference, SQLite writes, thumbnails and ffmpeg never run in Electron's main process. It never
 * imports `electron`: it is a Node process whose parent port is `process.parentPort` (Electron)
 * or, for development and tests, the IPC channel of `child_process.fork` (`process.send`).
 *
 * Besides the API calls of protocol.ts (answered by `serveApi`), it understands two shell-only
 * messages: `media` (resolve an opaque file id for the media:// protocol) and `shutdown`.
 */

export type MediaRequest = { type: 'media'; id: number; fileId: number; variant: MediaVariant };
export type MediaReply =
  | { type: 'media'; id: number; ok: true; file: ServedFile }
  | { type: 'media'; id: number; ok: false; status: 400 | 403 | 404 | 415 | 500; message: string };
export type ShutdownRequest = { type: 'shutdown' };

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
  return { ...opts, dbPath: opts.dbPath, backgroundReembed: opts.backgroundReembed ?? true };
}

/** Answers a `media` request: only catalogued files under a library folder (see resolveMedia). */
export async function answerMedia(engine: Pick<Engine, 'db'>, req: MediaRequest): Promise<MediaReply> {
  const { id, fileId, variant } = req;
  if (
    !Number.isSafeInteger(fileId) ||
    fileId <= 0 ||
    !(MEDIA_VARIANTS as readonly unknown[]).includes(variant)
  ) {
    return { type: 'media', id, ok: false, status: 400, message: 'bad media request' };
  }
  try {
    return { type: 'media', id, ok: true, file: await resolveMedia(engine.db, fileId, variant) };
  } catch (e) {
    if (e instanceof MediaError)
      return { type: 'media', id, ok: false, status: e.status, message: e.message };
    return {
      type: 'media',
      id,
      ok: false,
      status: 500,
      message: e instanceof Error ? e.message.split('\n')[0] : String(e),
    };
  }
}

async function start(): Promise<void> {
  const port = parentPortLike();
  let engine: Engine;
  try {
    engine = await Engine.open(engineOptionsFromArgv(process.argv));
  } catch (e) {
    port.postMessage({ type: 'fatal', message: e instanceof Error ? e.message : String(e) });
    // Let the message flush, then exit so the shell sees a failed start rather than a silent host.
    setTimeout(() => process.exit(1), 100);
    return;
  }
  const service = new CoreService(engine);
  let closing = false;
  // Stop an indexing run at a job boundary before closing the catalogue; the queue keeps the rest.
  const shutdown = (code: number) => {
    if (closing) return;
    closing = true;
    void service
      .cancelIndex()
      .catch(() => undefined)
      .then(() => engine.close())
      .finally(() => process.exit(code));
  };
  port.on('message', (raw) => {
    const m = raw as MediaRequest | ShutdownRequest | null;
    if (m?.type === 'media' && typeof m.id === 'number')
      void answerMedia(engine, m).then((r) => port.postMessage(r));
    else if (m?.type === 'shutdown') shutdown(0);
  });
  // A forked Node child loses its parent when the IPC channel closes; Electron reaps utility processes itself.
  process.once('disconnect', () => shutdown(0));
  serveApi(port, service);
  void service.warmUp();
}

// Imported by tests for its helpers; started only as a process entry.
if (process.argv.some((a) => a.startsWith(ENGINE_OPTIONS_FLAG))) void start();
