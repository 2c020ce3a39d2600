import { parentPort, workerData } from 'node:worker_threads';
import { Engine, type EngineOptions } from '../core/engine/engine.js';
import { coreService } from '../core/api/service.js';
import { hostEngine } from './host.js';

/**
 * worker_threads entry hosting the engine for `bindery serve`: ONNX inference runs synchronously
 * inside onnxruntime-node, so it must not share a thread with the HTTP server.
 */
async function start(): Promise<void> {
  const port = parentPort!;
  try {
    const opts = workerData as EngineOptions;
    const engine = await Engine.open(opts);
    hostEngine(port, engine, coreService(engine), (code) => process.exit(code), opts);
  } catch (e) {
    port.postMessage({ type: 'fatal', message: e instanceof Error ? e.message : String(e) });
  }
}

void start();
