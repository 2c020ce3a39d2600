import { Worker } from 'node:worker_threads';
import type { EngineOptions } from '../core/engine/engine.js';
import { PortApiClient } from './client.js';
import type { HostMessage } from './protocol.js';

export interface EngineThread {
  api: PortApiClient;
  close(): Promise<void>;
}

/** Starts the engine in a worker thread and resolves once it is ready (or rejects with its error). */
export function startEngineThread(opts: EngineOptions): Promise<EngineThread> {
  const worker = new Worker(new URL('./engine-thread.js', import.meta.url), { workerData: opts });
  const api = new PortApiClient(worker);
  return new Promise((resolve, reject) => {
    const onMessage = (m: HostMessage) => {
      if (m.type === 'ready') {
        worker.off('message', onMessage);
        resolve({ api, close: () => stop(worker) });
      } else if (m.type === 'fatal') {
        void worker.terminate();
        reject(new Error(m.message));
      }
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => api.failAll(`the engine stopped (exit code ${code})`));
  });
}

async function stop(worker: Worker): Promise<void> {
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  worker.postMessage({ type: 'shutdown' });
  const timer = setTimeout(() => void worker.terminate(), 5000);
  await exited;
  clearTimeout(timer);
}
