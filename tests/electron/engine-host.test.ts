import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { IndexProgress } from '../../app/indexing.js';
import { ENGINE_OPTIONS_FLAG } from '../../app/transport.js';
import { answerMedia } from '../../main/worker/host.js';
import { writeImage } from '../support/synth-media.js';
import { EngineSupervisor, MediaLookupError, type HostProcess } from '../../main/electron/engine-host.js';
import {
  engineArgs,
  fromChildProcess,
  isAbiMismatch,
  nodeSpawner,
} from '../../main/electron/host-process.js';
import { createCallHandler } from '../../main/electron/ipc.js';
import * as utilityEntry from '../../main/worker/utility-entry.js';
import { tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';

/**
 * The supervisor of the engine host. Unit tests drive it with a scripted fake process; the
 * integration tests run the real utility-entry (compiled by `npm run build`) in a forked Node,
 * exactly as the shell does with utilityProcess, and kill it.
 */

class FakeHost implements HostProcess {
  static all: FakeHost[] = [];
  sent: Record<string, unknown>[] = [];
  private messageListeners: ((m: unknown) => void)[] = [];
  private exitListeners: ((c: number | null, signal?: string | null) => void)[] = [];
  killed = false;
  constructor() {
    FakeHost.all.push(this);
  }
  postMessage(m: unknown) {
    this.sent.push(m as Record<string, unknown>);
  }
  onMessage(l: (m: unknown) => void) {
    this.messageListeners.push(l);
  }
  onExit(l: (c: number | null, signal?: string | null) => void) {
    this.exitListeners.push(l);
  }
  kill() {
    this.killed = true;
    this.exit(null);
  }
  emit(m: unknown) {
    this.messageListeners.forEach((l) => l(m));
  }
  exit(code: number | null) {
    this.exitListeners.splice(0).forEach((l) => l(code));
  }
  calls() {
    return this.sent.filter((m) => m.type === 'call');
  }
  answer(id: number, value: unknown) {
    this.emit({ type: 'result', id, ok: true, value });
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function fakeSupervisor(extra: Partial<ConstructorParameters<typeof EngineSupervisor>[0]> = {}) {
  FakeHost.all = [];
  const states: string[] = [];
  const sup = new EngineSupervisor({
    spawn: () => new FakeHost(),
    backoffMs: () => 5,
    onState: (s) => states.push(s),
    ...extra,
  });
  const host = () => FakeHost.all.at(-1)!;
  return { sup, states, host };
}

describe('EngineSupervisor (scripted host)', () => {
  it('queues calls until the host is ready, then forwards them', async () => {
    const { sup, host } = fakeSupervisor();
    sup.start();
    const p = sup.call('status', {});
    await tick();
    expect(host().calls()).toHaveLength(0);
    host().emit({ type: 'ready' });
    await tick();
    const [call] = host().calls();
    expect(call).toMatchObject({ method: 'status', payload: {} });
    host().answer(call.id as number, { ok: 1 });
    await expect(p).resolves.toEqual({ ok: 1 });
    expect(sup.state).toBe('ready');
  });

  it('rejects calls in flight with a clear error when the host dies, and restarts it', async () => {
    const { sup, host, states } = fakeSupervisor();
    sup.start();
    host().emit({ type: 'ready' });
    const p = sup.call('search', { terms: [] });
    const m = sup.resolveMedia(1, 'original');
    await tick();
    const first = host();
    first.exit(139);
    await expect(p).rejects.toMatchObject({
      code: 'failed',
      message: expect.stringMatching(/stopped unexpectedly \(exit code 139\).*restart/),
    });
    await expect(m).rejects.toBeInstanceOf(MediaLookupError);
    const later = sup.call('status', {});
    await new Promise((r) => setTimeout(r, 20));
    expect(host()).not.toBe(first);
    host().emit({ type: 'ready' });
    await tick();
    host().answer(host().calls()[0].id as number, 'ok');
    await expect(later).resolves.toBe('ok');
    expect(states).toEqual(['starting', 'ready', 'restarting', 'ready']);
  });

  it('resumes an interrupted indexing run from the queue after a restart', async () => {
    const { sup, host } = fakeSupervisor();
    sup.start();
    host().emit({ type: 'ready' });
    const run = sup.call('index', {});
    await tick();
    host().emit({ type: 'event', event: 'indexProgress', data: { phase: 'embed', filesDone: 3 } });
    expect(sup.indexing).toBe(true);
    host().exit(1);
    await expect(run).rejects.toThrow(/stopped unexpectedly/);
    await new Promise((r) => setTimeout(r, 20));
    host().emit({ type: 'ready' });
    await tick();
    expect(host().calls()).toEqual([
      expect.objectContaining({ method: 'index', payload: { skipScan: true } }),
    ]);
  });

  it('does not resume when nothing was indexing', async () => {
    const { sup, host } = fakeSupervisor();
    sup.start();
    host().emit({ type: 'ready' });
    host().emit({ type: 'event', event: 'indexProgress', data: { phase: 'done' } });
    host().exit(1);
    await new Promise((r) => setTimeout(r, 20));
    host().emit({ type: 'ready' });
    await tick();
    expect(host().calls()).toEqual([]);
  });

  it('forwards events to listeners', () => {
    const { sup, host } = fakeSupervisor();
    const seen: unknown[] = [];
    sup.onEvent((event, data) => seen.push([event, data]));
    sup.start();
    host().emit({ type: 'event', event: 'modelProgress', data: { phase: 'download' } });
    expect(seen).toEqual([['modelProgress', { phase: 'download' }]]);
  });

  it('backs off between restarts and gives up after too many crashes, then can try again', async () => {
    const delays: number[] = [];
    const { sup, host, states } = fakeSupervisor({
      maxCrashes: 3,
      backoffMs: (n) => {
        delays.push(n);
        return 1;
      },
    });
    sup.start();
    const waiting = sup.call('status', {}).catch((e: Error) => e);
    for (let i = 0; i < 4; i++) {
      host().exit(1);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(delays).toEqual([1, 2, 3]);
    expect(sup.state).toBe('failed');
    expect(await waiting).toMatchObject({ code: 'failed', message: expect.stringMatching(/not running/) });
    await expect(sup.call('status', {})).rejects.toThrow(/not running/);
    expect(states.at(-1)).toBe('failed');
    const count = FakeHost.all.length;
    sup.restart();
    expect(FakeHost.all.length).toBe(count + 1);
    expect(sup.state).toBe('starting');
  });

  it('switches to another way of hosting on a fatal start (the dev ABI fallback)', async () => {
    const alternative = vi.fn(() => new FakeHost());
    const { sup, host } = fakeSupervisor({
      onFatal: (msg) => (isAbiMismatch(msg) ? alternative : undefined),
    });
    sup.start();
    host().emit({
      type: 'fatal',
      message:
        'better_sqlite3.node was compiled against a different Node.js version using NODE_MODULE_VERSION 115',
    });
    host().exit(1);
    expect(alternative).toHaveBeenCalledOnce();
    expect(sup.state).toBe('restarting');
    host().emit({ type: 'ready' });
    expect(sup.state).toBe('ready');
  });

  it('kills a host that never becomes ready', async () => {
    const { sup } = fakeSupervisor({ readyTimeoutMs: 5 });
    sup.start();
    const first = FakeHost.all[0];
    await new Promise((r) => setTimeout(r, 30));
    expect(first.killed).toBe(true);
    expect(FakeHost.all.length).toBeGreaterThan(1);
    await sup.stop();
  });

  it('stop() asks for a clean shutdown, does not restart, and rejects later calls', async () => {
    const { sup, host } = fakeSupervisor({ stopTimeoutMs: 50 });
    sup.start();
    host().emit({ type: 'ready' });
    const h = host();
    const stopped = sup.stop();
    expect(h.sent.at(-1)).toEqual({ type: 'shutdown' });
    h.exit(0);
    await stopped;
    expect(FakeHost.all).toHaveLength(1);
    await expect(sup.call('status', {})).rejects.toThrow(/not running/);
  });

  it('stop() kills a host that ignores the shutdown', async () => {
    const { sup, host } = fakeSupervisor({ stopTimeoutMs: 10 });
    sup.start();
    host().emit({ type: 'ready' });
    await sup.stop();
    expect(host().killed).toBe(true);
  });
});

describe('host processes', () => {
  it('a Node that cannot be spawned counts as a crash, not an exception in the shell', async () => {
    const details: (string | null)[] = [];
    const sup = new EngineSupervisor({
      spawn: nodeSpawner('/nonexistent/bin/node', { entry: 'x.js', engine: { dbPath: '/tmp/none.db' } }),
      maxCrashes: 1,
      backoffMs: () => 1,
      onState: (_s, d) => details.push(d),
    });
    sup.start();
    await vi.waitFor(() => expect(sup.state).toBe('failed'), { timeout: 5000 });
    expect(details.at(-1)).toMatch(/spawn failed: .*ENOENT/);
    await expect(sup.call('status', {})).rejects.toThrow(/not running/);
  });
});

describe('utility-entry helpers', () => {
  it('reads the options the shell passes', () => {
    expect(
      utilityEntry.engineOptionsFromArgv(['electron', 'x.js', ...engineArgs({ dbPath: '/d/c.db' })]),
    ).toEqual({
      dbPath: '/d/c.db',
      backgroundReembed: true,
      watchLibrary: true,
    });
    expect(() => utilityEntry.engineOptionsFromArgv(['x'])).toThrow(/engine options/);
    expect(() => utilityEntry.engineOptionsFromArgv([`${ENGINE_OPTIONS_FLAG}{}`])).toThrow(/dbPath/);
  });

  it('adapts Electron’s parentPort ({data} events) to the protocol’s bare messages', () => {
    const listeners: ((e: { data: unknown }) => void)[] = [];
    const posted: unknown[] = [];
    const port = utilityEntry.portFromParentPort({
      postMessage: (m) => posted.push(m),
      on: (_e, l) => listeners.push(l),
    });
    const got: unknown[] = [];
    port.on('message', (m) => got.push(m));
    listeners[0]({ data: { type: 'call', id: 1 } });
    port.postMessage({ type: 'ready' });
    expect(got).toEqual([{ type: 'call', id: 1 }]);
    expect(posted).toEqual([{ type: 'ready' }]);
    const fakeProcess = {
      parentPort: { postMessage: () => undefined, on: () => undefined },
    } as unknown as NodeJS.Process;
    expect(() => utilityEntry.parentPortLike(fakeProcess)).not.toThrow();
    expect(() => utilityEntry.parentPortLike({} as NodeJS.Process)).toThrow(/utility process/);
  });

  it('answers malformed media requests without touching the catalogue', async () => {
    const engine = { db: null } as never;
    for (const req of [
      { fileId: 0, variant: 'original' },
      { fileId: 1.5, variant: 'original' },
      { fileId: 1, variant: '../x' },
    ]) {
      const reply = await answerMedia(engine, {
        type: 'media',
        id: 9,
        ...(req as { fileId: number; variant: 'original' }),
      });
      expect(reply).toMatchObject({ type: 'media', id: 9, ok: false, status: 400 });
    }
  });
});

// ------------------------------------------------------------------------------------------

const ENTRY = path.join(REPO_ROOT, 'dist', 'main', 'worker', 'utility-entry.js');

describe('the real engine host in a forked Node', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let lib: string;
  const children: ChildProcess[] = [];
  let sup: EngineSupervisor;
  const progress: IndexProgress[] = [];

  beforeAll(async () => {
    if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first`);
    ({ dir, cleanup } = await tempDir('bindery-host-'));
    lib = path.join(dir, 'library');
    await mkdir(lib);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => writeImage(path.join(lib, `p${i}.jpg`), i + 1, 480, 360)),
    );
    const engine = { dbPath: path.join(dir, 'catalogue.db'), backgroundReembed: true, batchSize: 2 };
    sup = new EngineSupervisor({
      spawn: () => {
        const child = fork(ENTRY, engineArgs(engine), {
          execArgv: [],
          serialization: 'advanced',
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        children.push(child);
        return fromChildProcess(child);
      },
      backoffMs: () => 50,
    });
    sup.onEvent((event, data) => event === 'indexProgress' && progress.push(data as IndexProgress));
    sup.start();
  });

  afterAll(async () => {
    await sup?.stop();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await cleanup?.();
  });

  it('answers API calls through the same checked IPC handler the window uses', async () => {
    const win = {
      webContents: {
        id: 1,
        mainFrame: { url: 'app://bindery/index.html', parent: null, routingId: 1, processId: 1 },
      },
    };
    const forwarded = vi.fn((m: string, p: unknown) => sup.call(m, p));
    const handle = createCallHandler({
      window: () => win as never,
      call: forwarded,
      chooseFolder: vi.fn(),
      showItemInFolder: vi.fn(),
    });
    const event = { sender: { id: 1 }, senderFrame: win.webContents.mainFrame } as never;
    const status = await handle(event, 'status', {});
    expect(status).toMatchObject({
      ok: true,
      value: { catalogue: path.join(dir, 'catalogue.db'), indexing: false },
    });
    const bad = await handle(event, 'addRoot', { path: 42 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_request', issues: [{ path: 'path' }] } });
    const missing = await handle(event, 'fileInfo', { fileId: 424242 });
    expect(missing).toMatchObject({ ok: false, error: { message: 'no file with id 424242' } });
    expect(forwarded.mock.calls.map((c) => c[0])).toEqual(['status', 'fileInfo']);
    // The host validates too: a raw call that skipped the shell's check is refused there.
    await expect(sup.call('addRoot', { path: 42 })).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('survives a SIGKILL mid-indexing: the run is rejected clearly, the host restarts and indexing resumes', async () => {
    await sup.call('addRoot', { path: lib });
    const run = sup.call('index', {});
    const outcome = run.then(
      () => 'finished',
      (e: Error) => e.message,
    );
    await vi.waitFor(() => expect(progress.some((p) => p.phase === 'embed' && p.filesDone >= 2)).toBe(true), {
      timeout: 60_000,
      interval: 5,
    });
    const victim = children.at(-1)!;
    victim.kill('SIGKILL');
    const message = await outcome;
    if (message !== 'finished')
      expect(message).toMatch(/the engine stopped unexpectedly \(SIGKILL\).*restart/);
    await vi.waitFor(() => expect(children.length).toBe(2), { timeout: 10_000 });
    // After the restart, the supervisor calls index({ skipScan: true }); wait for the queue to drain.
    await vi.waitFor(
      async () => {
        const s = (await sup.call('status', {})) as {
          files: { indexed: number };
          queued: number;
          indexing: boolean;
        };
        expect(s.files.indexed).toBe(40);
        expect(s.queued).toBe(0);
      },
      { timeout: 90_000, interval: 200 },
    );
  });

  it('resolves media ids in the host: catalogued files only', async () => {
    const files = (await sup.call('search', { terms: [{ modality: 'text', text: 'a photo' }], k: 1 })) as {
      results: { fileId: number }[];
    };
    const fileId = files.results[0].fileId;
    const served = await sup.resolveMedia(fileId, 'original');
    expect(served.mime).toBe('image/jpeg');
    expect(path.dirname(served.path)).toBe(await import('node:fs/promises').then((fs) => fs.realpath(lib)));
    await expect(sup.resolveMedia(999_999, 'original')).rejects.toMatchObject({ status: 404 });
  });
});
