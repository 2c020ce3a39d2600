import type { AppApi } from '../../app/api.js';
import { dispatch } from '../../app/dispatch.js';
import { toApiError } from '../../app/errors.js';
import type { HostMessage, HostRequest, PortLike } from './protocol.js';

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
