import { Worker } from 'node:worker_threads';

/**
 * A second thread for the quantized backend's Hamming pass (kernels.ts, docs/vector-index.md): at a
 * million codes the pass takes ~9 ms on one core and is most of a search, so the helper scans
 * half of the codes while the calling thread scans the other half. Both run the same compiled
 * kernel on the same shared WebAssembly memory; a job is handed over through a small control
 * block of Int32s in that memory with Atomics (no messages, no copies):
 *
 *   [0] job number (the helper waits for it to change; -1: stop)  [1..5] hamming()'s arguments
 *   [6] the job number last finished (the caller waits for it)
 *
 * The caller blocks in Atomics.wait for the helper's half (a few ms); if the helper does not
 * answer within HELPER_TIMEOUT_MS (it died), the caller scans that half itself and the helper is
 * retired, so a search never hangs on it.
 */

export const CONTROL_INTS = 8;
const HELPER_TIMEOUT_MS = 2000;

/** The helper's code, evaluated in the worker (CommonJS, no file to package or find). */
const SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control } = workerData;
const fn = new WebAssembly.Instance(module, { env: { memory } }).exports;
const c = new Int32Array(memory.buffer, control, ${CONTROL_INTS});
let seen = 0;
for (;;) {
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  if (seen < 0) break;
  fn.hamming(c[1], c[2], c[3], c[4], c[5]);
  Atomics.store(c, 6, seen);
  Atomics.notify(c, 6);
}
`;

export interface ScanMemory {
  buffer: SharedArrayBuffer | ArrayBuffer;
}

export class ScanHelper {
  private readonly worker: Worker;
  private readonly control: Int32Array;
  private job = 0;
  private alive = true;

  /** `module` is the compiled kernel module, `memory` its shared memory, `control` the block's byte address. */
  constructor(module: object, memory: ScanMemory, control: number) {
    this.control = new Int32Array(memory.buffer, control, CONTROL_INTS);
    this.worker = new Worker(SOURCE, { eval: true, workerData: { module, memory, control } });
    this.worker.unref();
    this.worker.on('error', () => (this.alive = false));
    this.worker.on('exit', () => (this.alive = false));
    helpers.register(this, this.worker);
  }

  get usable(): boolean {
    return this.alive;
  }

  /** Starts hamming(codes, n, q, out, hist) on the helper. */
  start(args: [number, number, number, number, number]): void {
    this.control.set(args, 1);
    Atomics.store(this.control, 0, ++this.job);
    Atomics.notify(this.control, 0);
  }

  /** Waits for the started job; false when the helper did not finish it (then it is retired). */
  finish(): boolean {
    const deadline = performance.now() + HELPER_TIMEOUT_MS;
    while (Atomics.load(this.control, 6) !== this.job) {
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(this.control, 6, Atomics.load(this.control, 6), left) === 'timed-out') {
        if (Atomics.load(this.control, 6) === this.job) break;
        this.stop();
        return false;
      }
    }
    return true;
  }

  stop(): void {
    this.alive = false;
    Atomics.store(this.control, 0, -1);
    Atomics.notify(this.control, 0);
    void this.worker.terminate();
  }
}

/** A helper whose kernels were collected is stopped with them. */
const helpers = new FinalizationRegistry<Worker>((worker) => void worker.terminate());
