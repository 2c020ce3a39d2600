// Size: the shell's wiring (window, protocols, IPC, menu, engine supervisor) read top to bottom.
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeTheme,
  protocol,
  screen,
  session,
  shell,
  utilityProcess,
} from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Status } from '../../app/api.js';
import type { EngineOptions } from '../core/engine/engine.js';
import { appCatalogue, defaultCataloguePath, machineName } from '../core/paths.js';
import { createAppHandler } from './app-protocol.js';
import { EngineSupervisor, type SpawnHost } from './engine-host.js';
import { isAbiMismatch, nodeSpawner, utilitySpawner } from './host-process.js';
import { registerIpc, sendEvent } from './ipc.js';
import { createMediaHandler } from './media-protocol.js';
import { aboutDetail, buildMenuTemplate, licenceUrl } from './menu.js';
import { MEDIA_SCHEME } from '../../app/transport.js';
import { APP_ENTRY_URL, APP_SCHEME, PRIVILEGED_SCHEMES } from './schemes.js';
import { APP_CSP, hardenSession, hardenWebContents } from './security.js';
import {
  fitToDisplays,
  loadWindowState,
  MIN_HEIGHT,
  MIN_WIDTH,
  trackWindowState,
  type Theme,
  type WindowStateTracker,
} from './window-state.js';

/**
 * The Electron shell: one window, one utility process hosting the engine, and thin adapters in
 * between (IPC, media://, app://, the menu). Nothing heavy runs here: SQLite, ONNX, thumbnails
 * and ffmpeg all live in the utility process (main/worker/utility-entry.ts).
 */

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/main/electron
const PRELOAD = path.join(here, '..', 'preload', 'preload.cjs');
const ENGINE_ENTRY = path.join(here, '..', 'worker', 'utility-entry.js');
const log = (line: string) => console.log(`[bindery] ${line}`);

// Before `ready`, synchronously (ESM: nothing may be awaited before this point).
app.setName('Bindery');
protocol.registerSchemesAsPrivileged(PRIVILEGED_SCHEMES);
app.enableSandbox();

// Packaged builds ship the test pack as an extra resource (electron-builder.yml); the engine finds it here.
if (app.isPackaged) process.env.BINDERY_TEST_PACK ??= path.join(process.resourcesPath, 'test-pack');

let mainWindow: BrowserWindow | null = null;
let windowState: WindowStateTracker | null = null;
const supervisor = createSupervisor();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_e, contents) =>
    hardenWebContents(contents, {
      externalAllowList: async () =>
        [licenceUrl((await statusSoon())?.model ?? null)].filter((u): u is string => !!u),
      openExternal: (url) => void shell.openExternal(url),
      log,
    }),
  );
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    quitting = true;
    event.preventDefault();
    void Promise.allSettled([windowState?.flush(), supervisor.stop()]).finally(() => app.quit());
  });

  void app.whenReady().then(async () => {
    hardenSession(session.defaultSession);
    protocol.handle(
      APP_SCHEME,
      createAppHandler({ root: path.join(app.getAppPath(), 'renderer', 'dist'), csp: APP_CSP }),
    );
    protocol.handle(
      MEDIA_SCHEME,
      createMediaHandler((id, variant) => supervisor.resolveMedia(id, variant), log),
    );
    registerIpc(ipcMain, {
      window: () => mainWindow,
      call: (method, payload) => supervisor.call(method, payload),
      chooseFolder: () => chooseFolder(),
      showItemInFolder: (p) => shell.showItemInFolder(p),
    });
    supervisor.onEvent((event, data) => sendEvent(mainWindow, event, data));
    supervisor.start();
    void resumeQueued();
    await createWindow();
    app.on('activate', () => {
      if (!mainWindow) void createWindow();
    });
  });
}

/**
 * The window's catalogue: its own, or with a postgres:// $BINDERY_CATALOGUE a replica of that shared
 * catalogue (docs/architecture.md §13). The connection string stays in the environment the engine
 * host inherits, never in its arguments, where any user could read its password.
 */
function windowCatalogue(): EngineOptions {
  try {
    const { dbPath, shared } = appCatalogue();
    return shared ? { dbPath, shared: { machine: shared.machine } } : { dbPath };
  } catch {
    // An unparsable $BINDERY_CATALOGUE: the engine host says why when it opens it, as for any failed start.
    return { dbPath: defaultCataloguePath(), shared: { machine: machineName() } };
  }
}

/** The engine host: a utility process; in an unpackaged checkout, a plain Node if the native modules are Node's. */
function createSupervisor(): EngineSupervisor {
  const spawnOptions = {
    entry: ENGINE_ENTRY,
    engine: { ...windowCatalogue(), backgroundReembed: true },
  };
  // Development only: BINDERY_ENGINE=node hosts the engine in Node from the start; BINDERY_ENGINE_NODE names that Node.
  const viaNode: SpawnHost = nodeSpawner(process.env.BINDERY_ENGINE_NODE ?? 'node', spawnOptions);
  const devNode = !app.isPackaged && process.env.BINDERY_ENGINE === 'node';
  return new EngineSupervisor({
    spawn: devNode ? viaNode : utilitySpawner(utilityProcess, spawnOptions),
    onFatal: (message) => {
      if (app.isPackaged || !isAbiMismatch(message)) return undefined;
      log(
        'native modules are built for Node, not Electron (they are rebuilt only when packaging); hosting the engine in `node` instead',
      );
      return viaNode;
    },
    onState: (state, detail) => {
      log(`engine ${state}${detail ? `: ${detail}` : ''}`);
      if (state === 'failed') void engineFailed(detail);
    },
    log,
  });
}

async function createWindow(): Promise<void> {
  const stateFile = path.join(app.getPath('userData'), 'window-state.json');
  const saved = fitToDisplays(
    await loadWindowState(stateFile),
    screen.getAllDisplays().map((d) => d.workArea),
  );
  nativeTheme.themeSource = saved.theme;
  const win = new BrowserWindow({
    width: saved.width,
    height: saved.height,
    x: saved.x,
    y: saved.y,
    minWidth: MIN_WIDTH,
    minHeight: MIN_HEIGHT,
    show: false,
    title: 'Bindery',
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#1b1c1f' : '#f7f7f8',
    icon: process.platform === 'linux' ? path.join(app.getAppPath(), 'resources', 'icon.png') : undefined,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: !app.isPackaged,
    },
  });
  mainWindow = win;
  if (saved.maximized) win.maximize();
  windowState = trackWindowState(win, stateFile, saved);
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  let lastReload = 0;
  win.webContents.on('render-process-gone', (_e, details) => {
    log(`renderer gone: ${details.reason}`);
    if (details.reason === 'clean-exit' || Date.now() - lastReload < 10_000) return;
    lastReload = Date.now();
    win.reload();
  });
  setMenu(saved.theme);
  await win.loadURL(APP_ENTRY_URL);
}

function setMenu(theme: Theme): void {
  const template = buildMenuTemplate(
    {
      addFolder: () => void addFolder(),
      indexNow: () => void runIndex(),
      setTheme: (t) => {
        nativeTheme.themeSource = t;
        windowState?.update({ theme: t });
      },
      about: () => void showAbout(),
    },
    { appName: 'Bindery', isMac: process.platform === 'darwin', dev: !app.isPackaged, theme },
  );
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

/** Files still queued when the app last closed (or crashed) are indexed again, without a rescan. */
async function resumeQueued(): Promise<void> {
  try {
    const status = (await supervisor.call('status', {})) as Status;
    if (status.queued > 0 && !status.indexing) await supervisor.call('index', { skipScan: true });
  } catch (e) {
    log(`queued files were not resumed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function chooseFolder(): Promise<string | null> {
  const options = {
    title: 'Add a folder to Bindery',
    properties: ['openDirectory' as const, 'createDirectory' as const],
  };
  const result = mainWindow
    ? await dialog.showOpenDialog(mainWindow, options)
    : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

async function addFolder(): Promise<void> {
  const folder = await chooseFolder();
  if (!folder) return;
  try {
    await supervisor.call('addRoot', { path: folder });
  } catch (e) {
    return showError('Could not add the folder', e);
  }
  await runIndex();
}

async function runIndex(): Promise<void> {
  try {
    await supervisor.call('index', {});
  } catch (e) {
    await showError('Indexing stopped', e);
  }
}

/** status, or null if the engine does not answer within a couple of seconds (restarting, say). */
async function statusSoon(ms = 2000): Promise<Status | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  try {
    return await Promise.race([supervisor.call('status', {}) as Promise<Status>, timeout]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

async function showAbout(): Promise<void> {
  const status = await statusSoon();
  const detail = aboutDetail(
    { appName: 'Bindery', version: app.getVersion(), versions: process.versions },
    status?.model ?? null,
    status ? undefined : `engine ${supervisor.state}`,
  );
  const url = licenceUrl(status?.model ?? null);
  const options = {
    type: 'info' as const,
    title: 'About Bindery',
    message: 'Bindery',
    detail,
    buttons: url ? ['OK', 'Open Licence'] : ['OK'],
  };
  const { response } = mainWindow
    ? await dialog.showMessageBox(mainWindow, options)
    : await dialog.showMessageBox(options);
  if (url && response === 1) void shell.openExternal(url);
}

async function showError(message: string, e: unknown): Promise<void> {
  const detail = e instanceof Error ? e.message : String(e);
  const options = { type: 'warning' as const, title: 'Bindery', message, detail };
  if (mainWindow) await dialog.showMessageBox(mainWindow, options);
  else await dialog.showMessageBox(options);
}

let failedDialogOpen = false;
async function engineFailed(detail: string | null): Promise<void> {
  if (failedDialogOpen) return;
  failedDialogOpen = true;
  const options = {
    type: 'error' as const,
    title: 'Bindery',
    message: 'The Bindery engine keeps stopping',
    detail: `${detail ?? 'unknown error'}\n\nYour library is safe: indexing resumes where it stopped.`,
    buttons: ['Try Again', 'Quit'],
    defaultId: 0,
  };
  const { response } = mainWindow
    ? await dialog.showMessageBox(mainWindow, options)
    : await dialog.showMessageBox(options);
  failedDialogOpen = false;
  if (response === 1) app.quit();
  else supervisor.restart();
}
