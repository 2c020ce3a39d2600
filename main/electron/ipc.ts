import { CHANNELS } from '../../app/transport.js';
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { z } from 'zod';
import { API_SCHEMAS, EmptyRequestSchema, FileIdRequestSchema, type ApiEvent } from '../../app/api.js';
import { isApiMethod } from '../../app/dispatch.js';
import { ApiError, invalidRequest, toApiError, type ApiErrorBody } from '../../app/errors.js';
import { isAppUrl } from './schemes.js';

/**
 * The renderer's one IPC door: `ipcRenderer.invoke('bindery:call', method, payload)`.
 *
 * 1. The sender must be the main frame of our window, showing our app:// origin.
 * 2. The payload is parsed with the method's zod schema here, before anything crosses into the
 *    engine host (which parses it again in `dispatch`): garbage never leaves this process.
 * 3. The answer is an outcome, `{ ok: true, value }` or `{ ok: false, error }` with the ApiError
 *    body, never a thrown error (Electron would flatten it to a string).
 *
 * Besides AppApi, two shell calls live here: `chooseFolder` (a native folder picker) and
 * `reveal` (show a catalogued file in the OS file manager).
 */

export const { call: CALL_CHANNEL, event: EVENT_CHANNEL } = CHANNELS;

/** Structured-cloned payloads larger than this (as JSON) are refused before parsing. */
export const MAX_PAYLOAD_CHARS = 256 * 1024;

export const SHELL_SCHEMAS = {
  chooseFolder: { request: EmptyRequestSchema },
  reveal: { request: FileIdRequestSchema },
} as const;
export type ShellMethod = keyof typeof SHELL_SCHEMAS;

export type IpcOutcome = { ok: true; value: unknown } | { ok: false; error: ApiErrorBody };

export interface IpcDeps {
  /** The window whose main frame may call; null once it is closed. */
  window: () => { webContents: Pick<WebContents, 'id' | 'mainFrame'> } | null;
  /** The engine (the supervisor of the utility process): validated calls only. */
  call: (method: string, payload: unknown) => Promise<unknown>;
  chooseFolder: () => Promise<string | null>;
  showItemInFolder: (path: string) => void;
}

type SenderEvent = Pick<IpcMainInvokeEvent, 'senderFrame'> & { sender: Pick<WebContents, 'id'> };

/** Is this message from our window's top frame, currently showing our own page? */
export function senderAllowed(event: SenderEvent, win: ReturnType<IpcDeps['window']>): boolean {
  const frame = event.senderFrame;
  if (!win || !frame) return false;
  if (event.sender?.id !== win.webContents.id) return false;
  const main = win.webContents.mainFrame;
  const isMainFrame =
    frame === main || (frame.routingId === main.routingId && frame.processId === main.processId);
  if (!isMainFrame || frame.parent !== null) return false;
  return isAppUrl(frame.url);
}

function isShellMethod(name: string): name is ShellMethod {
  return Object.prototype.hasOwnProperty.call(SHELL_SCHEMAS, name);
}

/** JSON size of a cloned payload; cycles, BigInts and the like make it invalid rather than crash. */
function payloadChars(payload: unknown): number {
  try {
    return JSON.stringify(payload ?? {})?.length ?? 0;
  } catch {
    return Infinity;
  }
}

export function parsePayload(schema: z.ZodType, payload: unknown): unknown {
  if (payloadChars(payload) > MAX_PAYLOAD_CHARS) {
    throw new ApiError('invalid_request', 'request: payload is too large or not plain data', [
      { path: '', message: 'payload is too large or not plain data' },
    ]);
  }
  const parsed = schema.safeParse(payload ?? {});
  if (!parsed.success) throw invalidRequest(parsed.error);
  return parsed.data;
}

export function createCallHandler(deps: IpcDeps) {
  const shell = async (method: ShellMethod, req: unknown): Promise<unknown> => {
    if (method === 'chooseFolder') return deps.chooseFolder();
    const { fileId } = req as { fileId: number };
    const info = (await deps.call('fileInfo', { fileId })) as { path?: unknown };
    if (typeof info?.path !== 'string') throw new ApiError('not_found', `no file with id ${fileId}`);
    deps.showItemInFolder(info.path);
    return null;
  };

  return async (event: SenderEvent, method: unknown, payload: unknown): Promise<IpcOutcome> => {
    try {
      if (!senderAllowed(event, deps.window()))
        throw new ApiError('forbidden', 'IPC from an unexpected frame');
      if (typeof method !== 'string' || method.length > 64) throw new ApiError('not_found', 'no such method');
      if (isApiMethod(method)) {
        const req = parsePayload(API_SCHEMAS[method].request, payload);
        return { ok: true, value: await deps.call(method, req) };
      }
      if (isShellMethod(method)) {
        const req = parsePayload(SHELL_SCHEMAS[method].request, payload);
        return { ok: true, value: await shell(method, req) };
      }
      throw new ApiError('not_found', `no API method ${JSON.stringify(method)}`);
    } catch (e) {
      return { ok: false, error: toApiError(e).toBody() };
    }
  };
}

/** Installs the handler (one channel for every method). Returns the uninstaller. */
export function registerIpc(ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>, deps: IpcDeps): () => void {
  const handler = createCallHandler(deps);
  ipcMain.handle(CALL_CHANNEL, (event, method, payload) => handler(event, method, payload));
  return () => ipcMain.removeHandler(CALL_CHANNEL);
}

/** Engine events to the window (only ever the event name and its data). */
export function sendEvent(
  win: { webContents: Pick<WebContents, 'send' | 'isDestroyed'> } | null,
  event: ApiEvent,
  data: unknown,
): void {
  if (!win || win.webContents.isDestroyed()) return;
  win.webContents.send(EVENT_CHANNEL, { event, data });
}
