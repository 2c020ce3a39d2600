import { isMediaVariant, type AppApi } from '../../app/api.js';
import { dispatch } from '../../app/dispatch.js';
import { toApiError } from '../../app/errors.js';
import type { Engine } from '../core/engine/engine.js';
import { MediaError, resolveMedia } from '../core/media/media.js';
import type { CoreService } from '../core/api/service.js';
import type {
  HostMessage,
  HostRequest,
  MediaReply,
  MediaRequest,
  PortLike,
  ShutdownRequest,
} from './protocol.js';

/** Answers calls arriving on a port with the API, and forwards its events. */
export function serveApi(port: PortLike, api: AppApi): void {
  const send = (m: HostMessage) => port.postMessage(m);
  api.onIndexProgress((data) => send({ type: 'event', event: 'indexProgress', data }));
  api.onModelProgress((data) => send({ type: 'event', event: 'modelProgress', data }));
  port.on('message', (raw) => {
    const msg = raw as HostRequest;
    if (msg?.type !== 'call' || typeof msg.id !== 'number') return;
    dispatch(api, msg.method, msg.payload).then(
      (value) => send({ type: 'result', id: msg.id, ok: true, value }),
      (e) => send({ type: 'result', id: msg.id, ok: false, error: toApiError(e).toBody() }),
    );
  });
  send({ type: 'ready' });
}

/**
 * The one engine host, for the worker thread of `bindery serve` and the utility process of the app
 * alike: the API, media by id (so every transport serves files the same way, with the engine's
 * own catalogue connection and thumbnails off the HTTP and UI threads), warm-up, watching the
 * library when asked, and a shutdown that stops the watcher and an indexing run at a job boundary
 * before the catalogue closes.
 */
export function hostEngine(
  port: PortLike,
  engine: Engine,
  service: CoreService,
  exit: (code: number) => void,
  opts: { watchLibrary?: boolean } = {},
): { shutdown(code: number): void } {
  let closing = false;
  const watching = opts.watchLibrary ? service.watch().catch(() => null) : Promise.resolve(null);
  const shutdown = (code: number): void => {
    if (closing) return;
    closing = true;
    void watching
      .then((stop) => stop?.())
      .then(() => service.cancelIndex())
      .catch(() => undefined)
      .then(() => engine.close())
      .finally(() => exit(code));
  };
  port.on('message', (raw) => {
    const m = raw as MediaRequest | ShutdownRequest | null;
    if (m?.type === 'media' && typeof m.id === 'number')
      void answerMedia(engine, m).then((r) => port.postMessage(r));
    else if (m?.type === 'shutdown') shutdown(0);
  });
  serveApi(port, service);
  void service.warmUp();
  return { shutdown };
}

/** Answers a `media` request: only catalogued files under a library folder (see resolveMedia). */
export async function answerMedia(engine: Pick<Engine, 'db'>, req: MediaRequest): Promise<MediaReply> {
  const { id, fileId, variant } = req;
  if (!Number.isSafeInteger(fileId) || fileId <= 0 || !isMediaVariant(variant)) {
    return { type: 'media', id, ok: false, status: 400, message: 'bad media request' };
  }
  try {
    return { type: 'media', id, ok: true, file: await resolveMedia(engine.db, fileId, variant) };
  } catch (e) {
    if (e instanceof MediaError)
      return { type: 'media', id, ok: false, status: e.status, message: e.message };
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { type: 'media', id, ok: false, status: 500, message };
  }
}
