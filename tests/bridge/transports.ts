import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PortApiClient } from '../../main/worker/client.js';
import type { ApiErrorBody } from '../../app/errors.js';
import { collect, runCli, startCli } from '../support/cli.js';
import { FIXTURES_DIR, REPO_ROOT } from '../support/paths.js';
import type { ChildProcess } from 'node:child_process';

/** A transport's server side, as a client sees it: call a method by name with any payload. */
export interface Transport {
  name: string;
  call(
    method: string,
    payload: unknown,
  ): Promise<{ ok: true; value: unknown } | { ok: false; status?: number; error: ApiErrorBody }>;
  close(): Promise<void>;
}

/** A small indexed library shared by the transport tests. */
export async function indexedLibrary(dir: string): Promise<{ db: string; lib: string }> {
  const lib = path.join(dir, 'library');
  await mkdir(lib, { recursive: true });
  for (const f of ['dog_image.jpg', 'car_image.jpg', 'bird_audio.wav'])
    await copyFile(path.join(FIXTURES_DIR, f), path.join(lib, f));
  const db = path.join(dir, 'catalogue.db');
  for (const args of [
    ['add', lib],
    ['index', '--json'],
  ]) {
    const r = await runCli(['--db', db, ...args]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  return { db, lib };
}

export interface Served {
  url: string;
  pageUrl: string;
  token: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `bindery serve --json` as a real process; resolves once it printed its URL. */
export async function serve(
  db: string,
  extra: string[] = [],
  opts: { watch?: boolean } = {},
): Promise<Served> {
  // The contract is the API's: unless asked, no watcher starts runs of its own between a test's calls.
  const watch = opts.watch ? [] : ['--no-watch'];
  const child = startCli(['--db', db, 'serve', '--json', ...watch, ...extra]);
  const done = collect(child);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('bindery serve did not start in 60 s')), 60_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0]);
      }
    });
    void done.then((r) => reject(new Error(`bindery serve exited ${r.code}: ${r.stderr}`)));
  });
  const info = JSON.parse(line) as { url: string; pageUrl: string; token: string };
  return {
    ...info,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await done;
    },
  };
}

export function httpTransport(s: Served): Transport {
  return {
    name: 'http bridge',
    async call(method, payload) {
      const res = await fetch(`${s.url}/api/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      const body = (await res.json()) as { error?: ApiErrorBody };
      return res.ok ? { ok: true, value: body } : { ok: false, status: res.status, error: body.error! };
    },
    close: () => s.stop(),
  };
}

/** The engine host the Electron utility process runs, over a worker thread's port (compiled code). */
export async function workerTransport(db: string): Promise<Transport> {
  const worker = new Worker(path.join(REPO_ROOT, 'dist', 'main', 'worker', 'engine-thread.js'), {
    workerData: { dbPath: db },
  });
  const api = new PortApiClient(worker);
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'ready') resolve();
      if (m.type === 'fatal') reject(new Error(m.message));
    });
  });
  return {
    name: 'engine host port (IPC side)',
    async call(method, payload) {
      try {
        return { ok: true, value: await api.call(method, payload) };
      } catch (e) {
        const err = e as { code: ApiErrorBody['code']; message: string; issues?: ApiErrorBody['issues'] };
        return { ok: false, error: { code: err.code, message: err.message, issues: err.issues } };
      }
    },
    close: async () => {
      worker.postMessage({ type: 'shutdown' });
      await new Promise((r) => worker.once('exit', r));
    },
  };
}

/** An AppApi call over a served bridge that resolves with the value, or throws with the error's message. */
export async function callServed<T>(server: Served, method: string, payload: unknown = {}): Promise<T> {
  const r = await httpTransport(server).call(method as never, payload);
  if (!r.ok) throw new Error(`${method}: ${r.error.message}`);
  return r.value as T;
}
