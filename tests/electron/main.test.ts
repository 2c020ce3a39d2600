import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeImage } from '../support/synth-media.js';
import { tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';

/**
 * The composition root (dist/main/electron/main.js, as built) with `electron` replaced by fakes:
 * no Chromium, but everything else is real. utilityProcess.fork runs the real utility-entry in a
 * Node child, so IPC → supervisor → engine host → catalogue, and media:// → resolveMedia → bytes,
 * are exercised end to end, including a crash and the quit sequence.
 */

const MAIN = path.join(REPO_ROOT, 'dist', 'main', 'electron', 'main.js');

const e = vi.hoisted(() => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { EventEmitter } = require('node:events') as typeof import('node:events');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cp = require('node:child_process') as typeof import('node:child_process');
  const state = {
    userData: '',
    readyResolve: null as null | (() => void),
    windows: [] as FakeWindow[],
    children: [] as import('node:child_process').ChildProcess[],
    protocolHandlers: new Map<string, (r: Request) => Promise<Response>>(),
    ipcHandlers: new Map<string, (...a: unknown[]) => Promise<unknown>>(),
    privileged: [] as unknown[],
    calls: [] as string[],
  };
  const app = Object.assign(new EventEmitter(), {
    isPackaged: false,
    setName: (n: string) => state.calls.push(`setName:${n}`),
    enableSandbox: () => state.calls.push('enableSandbox'),
    requestSingleInstanceLock: () => (state.calls.push('lock'), true),
    whenReady: () => new Promise<void>((r) => (state.readyResolve = r)),
    getAppPath: () => REPO_ROOT,
    getPath: () => state.userData,
    getVersion: () => '0.1.0',
    quit: vi.fn(() => state.calls.push('quit')),
  });
  class FakeWebContents extends EventEmitter {
    id = 1;
    mainFrame = { url: '', parent: null, routingId: 1, processId: 99 };
    send = vi.fn();
    openHandler: ((d: { url: string }) => unknown) | null = null;
    isDestroyed = () => false;
    setWindowOpenHandler = (h: (d: { url: string }) => unknown) => (this.openHandler = h);
  }
  class FakeWindow extends EventEmitter {
    webContents = new FakeWebContents();
    loaded: string[] = [];
    constructor(readonly options: Record<string, unknown>) {
      super();
      state.windows.push(this);
      app.emit('web-contents-created', {}, this.webContents);
    }
    async loadURL(url: string) {
      this.loaded.push(url);
      this.webContents.mainFrame.url = url;
    }
    maximize() {}
    show() {}
    reload() {}
    isMinimized = () => false;
    isMaximized = () => false;
    isDestroyed = () => false;
    getNormalBounds = () => ({ x: 0, y: 0, width: 1280, height: 800 });
    static getAllWindows = () => state.windows;
  }
  const utilityProcess = {
    fork: (entry: string, args: string[], opts: { env?: NodeJS.ProcessEnv }) => {
      const child = cp.fork(entry, args, {
        env: opts.env,
        execArgv: [],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      state.children.push(child);
      const proc = Object.assign(new EventEmitter(), {
        postMessage: (m: unknown) => child.connected && child.send(m as never),
        kill: () => child.kill(),
        pid: child.pid,
      });
      child.on('message', (m) => proc.emit('message', m));
      child.on('exit', (code) => proc.emit('exit', code ?? 1));
      return proc;
    },
  };
  return { state, app, FakeWindow, utilityProcess };
});

vi.mock('electron', () => ({
  app: e.app,
  BrowserWindow: e.FakeWindow,
  utilityProcess: e.utilityProcess,
  protocol: {
    registerSchemesAsPrivileged: (s: unknown[]) => (
      e.state.privileged.push(...s),
      e.state.calls.push('registerSchemes')
    ),
    handle: (scheme: string, h: (r: Request) => Promise<Response>) => e.state.protocolHandlers.set(scheme, h),
  },
  ipcMain: {
    handle: (channel: string, h: (...a: unknown[]) => Promise<unknown>) =>
      e.state.ipcHandlers.set(channel, h),
    removeHandler: vi.fn(),
  },
  session: {
    defaultSession: {
      setPermissionRequestHandler: vi.fn(),
      setPermissionCheckHandler: vi.fn(),
      webRequest: { onBeforeRequest: vi.fn() },
    },
  },
  Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: vi.fn() },
  nativeTheme: { themeSource: 'system', shouldUseDarkColors: false },
  screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
  dialog: { showOpenDialog: vi.fn(), showMessageBox: vi.fn(async () => ({ response: 0 })) },
  shell: { openExternal: vi.fn(), showItemInFolder: vi.fn() },
}));

let dir: string;
let cleanup: () => Promise<void>;
let lib: string;
const win = () => e.state.windows[0];
const call = (method: string, payload: unknown = {}) =>
  e.state.ipcHandlers.get('bindery:call')!(
    { sender: { id: 1 }, senderFrame: win().webContents.mainFrame },
    method,
    payload,
  ) as Promise<{
    ok: boolean;
    value?: unknown;
    error?: { code: string; message: string };
  }>;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  ({ dir, cleanup } = await tempDir('bindery-main-'));
  e.state.userData = path.join(dir, 'userData');
  lib = path.join(dir, 'library');
  await mkdir(lib);
  await writeImage(path.join(lib, 'photo.jpg'), 3, 320, 240);
  process.env.BINDERY_HOME = path.join(dir, 'data');
  delete process.env.BINDERY_DB;
  await import(MAIN);
});

afterAll(async () => {
  for (const c of e.state.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await cleanup?.();
});

describe('main.ts wiring (fake Electron, real engine host)', () => {
  it('privileges the schemes, takes the lock and enables the sandbox before ready', () => {
    expect(e.state.calls.slice(0, 4)).toEqual([
      'setName:Bindery',
      'registerSchemes',
      'enableSandbox',
      'lock',
    ]);
    expect(e.state.privileged.map((s) => (s as { scheme: string }).scheme)).toEqual(['app', 'media']);
    expect(e.state.windows).toHaveLength(0);
  });

  it('on ready: protocols, IPC, a hardened window loading app://bindery/', async () => {
    e.state.readyResolve!();
    await vi.waitFor(() => expect(win()?.loaded).toEqual(['app://bindery/index.html']), { timeout: 10_000 });
    expect([...e.state.protocolHandlers.keys()].sort()).toEqual(['app', 'media']);
    expect([...e.state.ipcHandlers.keys()]).toEqual(['bindery:call']);
    const prefs = win().options.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    });
    expect(existsSync(prefs.preload as string)).toBe(true);
    expect(await readFile(prefs.preload as string, 'utf8')).toContain('exposeInMainWorld');
    expect(win().webContents.openHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(win().webContents.listenerCount('will-navigate')).toBe(1);
  });

  it('answers IPC through the utility-entry host, and refuses bad payloads and strangers', async () => {
    const status = await call('status');
    expect(status).toMatchObject({ ok: true, value: { catalogue: path.join(dir, 'data', 'catalogue.db') } });
    expect(await call('removeRoot', { id: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' },
    });
    const stranger = await e.state.ipcHandlers.get('bindery:call')!(
      { sender: { id: 2 }, senderFrame: { url: 'https://evil/', parent: null } },
      'status',
      {},
    );
    expect(stranger).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('indexes, streams events to the window, and serves the file over media:// with ranges', async () => {
    expect(await call('addRoot', { path: lib })).toMatchObject({ ok: true });
    expect(await call('index', {})).toMatchObject({ ok: true, value: { indexed: 1 } });
    const events = win().webContents.send.mock.calls.filter((c) => c[0] === 'bindery:event');
    expect(events.some((c) => (c[1] as { event: string }).event === 'indexProgress')).toBe(true);
    const hits = (await call('search', { terms: [{ modality: 'text', text: 'photo' }], k: 1 })) as {
      value: { results: { fileId: number }[] };
    };
    const fileId = hits.value.results[0].fileId;
    const media = e.state.protocolHandlers.get('media')!;
    const bytes = await readFile(path.join(lib, 'photo.jpg'));
    const whole = await media(new Request(`media://file/${fileId}/original`));
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const part = await media(
      new Request(`media://file/${fileId}/original`, { headers: { range: 'bytes=10-19' } }),
    );
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);
    expect((await media(new Request(`media://file/${fileId + 1000}/original`))).status).toBe(404);
    expect((await media(new Request('media://file/x/original'))).status).toBe(400);
    const page = await e.state.protocolHandlers.get('app')!(new Request('app://bindery/'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('restarts a crashed engine host; later calls succeed', async () => {
    const first = e.state.children.at(-1)!;
    first.kill('SIGKILL');
    await vi.waitFor(() => expect(e.state.children.length).toBe(2), { timeout: 10_000 });
    const status = await call('status');
    expect(status).toMatchObject({ ok: true, value: { files: { indexed: 1 } } });
  });

  it('quits cleanly: the host is asked to shut down before the app exits', async () => {
    const child = e.state.children.at(-1)!;
    const exited = new Promise((r) => child.once('exit', r));
    const event = { preventDefault: vi.fn() };
    e.app.emit('before-quit', event);
    expect(event.preventDefault).toHaveBeenCalled();
    await exited;
    await vi.waitFor(() => expect(e.app.quit).toHaveBeenCalled(), { timeout: 10_000 });
    expect(child.exitCode).toBe(0);
    expect(e.state.children).toHaveLength(2);
  });
});
