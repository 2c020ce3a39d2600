import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CSP as BRIDGE_CSP } from '../../app/csp.js';
import { appRequestPath, createAppHandler, NOT_BUILT } from '../../main/electron/app-protocol.js';
import { aboutDetail, buildMenuTemplate, licenceUrl } from '../../main/electron/menu.js';
import { APP_ENTRY_URL, isAppUrl, PRIVILEGED_SCHEMES } from '../../main/electron/schemes.js';
import {
  APP_CSP,
  externalUrlAllowed,
  hardenSession,
  hardenWebContents,
  navigationAllowed,
  permissionAllowed,
} from '../../main/electron/security.js';
import {
  DEFAULT_WINDOW_STATE,
  fitToDisplays,
  loadWindowState,
  MIN_WIDTH,
  parseWindowState,
  saveWindowState,
  trackWindowState,
  type Rect,
} from '../../main/electron/window-state.js';
import { tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';

/** The shell's policies and small modules, as plain functions (no Electron binary needed). */

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('bindery-shell-')));
afterAll(async () => cleanup?.());

describe('schemes and CSP', () => {
  it('privileges app:// and media:// (standard, secure, fetch; media streams), bypassing no CSP', () => {
    const byName = Object.fromEntries(PRIVILEGED_SCHEMES.map((s) => [s.scheme, s.privileges]));
    expect(byName.app).toMatchObject({ standard: true, secure: true, supportFetchAPI: true });
    expect(byName.media).toMatchObject({ standard: true, secure: true, supportFetchAPI: true, stream: true });
    for (const p of Object.values(byName)) expect(p?.bypassCSP).toBeFalsy();
  });

  it('recognises only our origin', () => {
    expect(isAppUrl(APP_ENTRY_URL)).toBe(true);
    expect(isAppUrl('app://bindery/search?q=1#x')).toBe(true);
    for (const u of [
      'app://evil/',
      'app://bindery.evil/',
      'https://bindery/',
      'file:///index.html',
      'app://bindery:1/',
      'javascript:alert(1)',
      '',
      null,
      'not a url',
    ]) {
      expect(isAppUrl(u), String(u)).toBe(false);
    }
  });

  it('adapts the bridge CSP: media: for images and media, no WebSocket, nothing inline for scripts', () => {
    const directives = Object.fromEntries(
      APP_CSP.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]),
    );
    expect(directives['img-src']).toEqual(expect.arrayContaining(["'self'", 'media:']));
    expect(directives['media-src']).toEqual(expect.arrayContaining(["'self'", 'media:']));
    expect(directives['connect-src']).toEqual(["'self'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(APP_CSP).not.toMatch(/\bwss?:/);
    expect(APP_CSP.split('; ').length).toBe(BRIDGE_CSP.split('; ').length);
  });
});

describe('permissions, navigation, external links', () => {
  it('grants only fullscreen and clipboard writes, only to our page', () => {
    expect(permissionAllowed('fullscreen', APP_ENTRY_URL)).toBe(true);
    expect(permissionAllowed('clipboard-sanitized-write', APP_ENTRY_URL)).toBe(true);
    for (const p of [
      'media',
      'geolocation',
      'notifications',
      'clipboard-read',
      'openExternal',
      'fileSystem',
      'display-capture',
      'unknown',
    ]) {
      expect(permissionAllowed(p, APP_ENTRY_URL), p).toBe(false);
    }
    expect(permissionAllowed('fullscreen', 'https://evil.example/')).toBe(false);
    expect(permissionAllowed('fullscreen', undefined)).toBe(false);
  });

  it('keeps the window on the app', () => {
    expect(navigationAllowed('app://bindery/index.html')).toBe(true);
    expect(navigationAllowed('https://example.com/')).toBe(false);
    expect(navigationAllowed('file:///home/me/photo.jpg')).toBe(false);
    expect(navigationAllowed('media://file/1/original')).toBe(false);
  });

  it('opens only listed http(s) pages externally, exactly', () => {
    const allowed = ['https://example.org/licence'];
    expect(externalUrlAllowed('https://example.org/licence', allowed)).toBe(true);
    for (const u of [
      'https://example.org/licence/x',
      'http://example.org/licence',
      'https://user@example.org/licence',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://host/share',
      'nonsense',
    ]) {
      expect(externalUrlAllowed(u, allowed), u).toBe(false);
    }
    expect(externalUrlAllowed('https://example.org/licence', ['not a url'])).toBe(false);
  });

  it('hardens web contents: navigation, redirects and webviews blocked; window.open denied, allowed links go to the OS', async () => {
    const contents = new EventEmitter() as EventEmitter & {
      setWindowOpenHandler: (h: (d: { url: string }) => unknown) => void;
    };
    let openHandler!: (d: { url: string }) => unknown;
    contents.setWindowOpenHandler = (h) => (openHandler = h);
    const openExternal = vi.fn();
    hardenWebContents(contents as never, {
      externalAllowList: async () => ['https://example.org/licence'],
      openExternal,
    });
    const ev = (url: string) => ({ url, preventDefault: vi.fn() });
    const away = ev('https://evil.example/');
    contents.emit('will-navigate', away, away.url);
    expect(away.preventDefault).toHaveBeenCalled();
    const home = ev('app://bindery/index.html');
    contents.emit('will-navigate', home, home.url);
    expect(home.preventDefault).not.toHaveBeenCalled();
    const redirect = ev('http://127.0.0.1:9/');
    contents.emit('will-redirect', redirect, redirect.url);
    expect(redirect.preventDefault).toHaveBeenCalled();
    const webview = { preventDefault: vi.fn() };
    contents.emit('will-attach-webview', webview);
    expect(webview.preventDefault).toHaveBeenCalled();
    expect(openHandler({ url: 'https://example.org/licence' })).toEqual({ action: 'deny' });
    expect(openHandler({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    await new Promise((r) => setTimeout(r, 0));
    expect(openExternal).toHaveBeenCalledExactlyOnceWith('https://example.org/licence');
  });

  it('hardens the session: permission handlers deny, the network is cut', () => {
    const session = {
      setPermissionRequestHandler: vi.fn(),
      setPermissionCheckHandler: vi.fn(),
      webRequest: { onBeforeRequest: vi.fn() },
    };
    hardenSession(session as never);
    const request = session.setPermissionRequestHandler.mock.calls[0][0];
    const cb = vi.fn();
    request(null, 'media', cb, { requestingUrl: APP_ENTRY_URL });
    request(null, 'fullscreen', cb, { requestingUrl: APP_ENTRY_URL });
    expect(cb.mock.calls).toEqual([[false], [true]]);
    const check = session.setPermissionCheckHandler.mock.calls[0][0];
    expect(check(null, 'geolocation', 'app://bindery', {})).toBe(false);
    const [filter, block] = session.webRequest.onBeforeRequest.mock.calls[0];
    expect(filter.urls).toEqual(
      expect.arrayContaining(['https://*/*', 'http://*/*', 'ws://*/*', 'wss://*/*']),
    );
    const done = vi.fn();
    block({}, done);
    expect(done).toHaveBeenCalledWith({ cancel: true });
  });
});

describe('app:// serves the built renderer', () => {
  let root: string;
  let handler: (r: Request) => Promise<Response>;
  beforeAll(async () => {
    root = path.join(dir, 'renderer-dist');
    await mkdir(path.join(root, 'assets'), { recursive: true });
    await writeFile(path.join(root, 'index.html'), '<!doctype html><title>Bindery</title>');
    await writeFile(path.join(root, 'assets', 'app.js'), 'console.log(1)');
    await writeFile(path.join(dir, 'secret.txt'), 'outside');
    handler = createAppHandler({ root, csp: APP_CSP });
  });

  it('serves files with their type and the CSP, and index.html for / and routes', async () => {
    const index = await handler(new Request('app://bindery/'));
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('content-security-policy')).toBe(APP_CSP);
    expect(await index.text()).toContain('<title>Bindery</title>');
    const js = await handler(new Request('app://bindery/assets/app.js'));
    expect(js.headers.get('content-type')).toContain('text/javascript');
    const route = await handler(new Request('app://bindery/library/roots'));
    expect(await route.text()).toContain('<title>Bindery</title>');
    expect((await handler(new Request('app://bindery/assets/missing.js'))).status).toBe(404);
  });

  it('never leaves the folder', async () => {
    for (const url of [
      'app://bindery/../secret.txt',
      'app://bindery/%2e%2e/secret.txt',
      'app://bindery/..%2fsecret.txt',
      'app://bindery/assets/..%2f..%2fsecret.txt',
      'app://bindery/%00',
      'app://bindery/..%5csecret.txt',
      'app://bindery/%E0%A4%A',
    ]) {
      const res = await handler(new Request(url));
      expect(await res.text(), url).not.toContain('outside');
    }
    expect(appRequestPath('app://bindery/..%2fsecret.txt', root)).toBeNull();
    expect(appRequestPath('app://other/index.html', root)).toBeNull();
    expect(appRequestPath('https://bindery/index.html', root)).toBeNull();
    expect((await handler(new Request('app://other/index.html'))).status).toBe(404);
    expect((await handler(new Request('app://bindery/', { method: 'POST', body: 'x' }))).status).toBe(405);
  });

  it('explains itself when the renderer has not been built', async () => {
    const empty = createAppHandler({ root: path.join(dir, 'nothing'), csp: APP_CSP });
    const res = await empty(new Request('app://bindery/'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(NOT_BUILT);
  });
});

describe('window state', () => {
  const screen: Rect[] = [{ x: 0, y: 0, width: 1920, height: 1050 }];

  it('falls back to defaults for missing, damaged or hostile files', async () => {
    expect(await loadWindowState(path.join(dir, 'none.json'))).toEqual(DEFAULT_WINDOW_STATE);
    await writeFile(path.join(dir, 'bad.json'), '{not json');
    expect(await loadWindowState(path.join(dir, 'bad.json'))).toEqual(DEFAULT_WINDOW_STATE);
    expect(
      parseWindowState({
        width: 'big',
        height: -5,
        x: 1e12,
        maximized: 'yes',
        theme: 'neon',
        __proto__: { polluted: 1 },
      }),
    ).toEqual({
      width: 1280,
      height: 800,
      x: undefined,
      y: undefined,
      maximized: false,
      theme: 'system',
    });
    expect(parseWindowState(null)).toMatchObject(DEFAULT_WINDOW_STATE);
  });

  it('round-trips through the file', async () => {
    const file = path.join(dir, 'state', 'window-state.json');
    const state = { width: 1400, height: 900, x: 100, y: 50, maximized: true, theme: 'dark' as const };
    await saveWindowState(file, state);
    expect(await loadWindowState(file)).toEqual(state);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(state);
  });

  it('keeps windows on a display that is still attached', () => {
    const s = { ...DEFAULT_WINDOW_STATE, x: 3000, y: 200 };
    expect(fitToDisplays(s, screen)).toMatchObject({ x: undefined, y: undefined });
    expect(fitToDisplays({ ...s, x: 100 }, screen)).toMatchObject({ x: 100, y: 200 });
    expect(fitToDisplays({ ...s, x: 100, y: -500 }, screen)).toMatchObject({ x: undefined });
    expect(
      fitToDisplays({ ...s, x: 2000, y: 10 }, [...screen, { x: 1920, y: 0, width: 1280, height: 1024 }]),
    ).toMatchObject({ x: 2000 });
    expect(fitToDisplays({ ...s, width: 5000, height: 4000, x: 0, y: 0 }, screen)).toMatchObject({
      width: 1920,
      height: 1050,
    });
    expect(
      fitToDisplays({ ...s, width: MIN_WIDTH }, [{ x: 0, y: 0, width: 640, height: 400 }]),
    ).toMatchObject({ width: 640, height: 400 });
    expect(fitToDisplays(s, [])).toEqual(s);
  });

  it('tracks moves, resizes and maximising, and saves debounced and on close', async () => {
    const win = new EventEmitter() as EventEmitter & Record<string, unknown>;
    let bounds = { x: 10, y: 20, width: 1000, height: 700 };
    let maximized = false;
    Object.assign(win, {
      getNormalBounds: () => bounds,
      isMaximized: () => maximized,
      isDestroyed: () => false,
    });
    const saves: unknown[] = [];
    const tracker = trackWindowState(
      win as never,
      'unused',
      { ...DEFAULT_WINDOW_STATE },
      5,
      async (_f, s) => void saves.push(s),
    );
    bounds = { x: 30, y: 40, width: 1100, height: 720 };
    win.emit('move');
    win.emit('resize');
    await new Promise((r) => setTimeout(r, 30));
    expect(saves).toEqual([{ ...DEFAULT_WINDOW_STATE, x: 30, y: 40, width: 1100, height: 720 }]);
    maximized = true;
    win.emit('maximize');
    tracker.update({ theme: 'light' });
    win.emit('close');
    await tracker.flush();
    expect(saves.at(-1)).toMatchObject({ maximized: true, theme: 'light', width: 1100 });
  });
});

describe('menu and About', () => {
  const actions = { addFolder: vi.fn(), indexNow: vi.fn(), setTheme: vi.fn(), about: vi.fn() };
  type Item = {
    label?: string;
    role?: string;
    submenu?: Item[];
    click?: () => void;
    checked?: boolean;
    accelerator?: string;
  };
  const find = (items: Item[], label: string): Item | undefined => {
    for (const i of items) {
      if (i.label === label) return i;
      const inner = i.submenu && find(i.submenu, label);
      if (inner) return inner;
    }
    return undefined;
  };

  it('has File (Add Folder…, Index Now, Quit), Edit, View (appearance), Help (About)', () => {
    const t = buildMenuTemplate(actions, {
      appName: 'Bindery',
      isMac: false,
      dev: false,
      theme: 'dark',
    }) as Item[];
    expect(t.map((i) => i.label ?? i.role)).toEqual(['&File', 'editMenu', '&View', '&Help']);
    find(t, 'Add Folder…')!.click!();
    find(t, 'Index Now')!.click!();
    find(t, 'Light')!.click!();
    find(t, 'About Bindery')!.click!();
    expect(actions.addFolder).toHaveBeenCalled();
    expect(actions.indexNow).toHaveBeenCalled();
    expect(actions.setTheme).toHaveBeenCalledWith('light');
    expect(actions.about).toHaveBeenCalled();
    expect(find(t, 'Dark')!.checked).toBe(true);
    expect(find(t, 'Follow System')!.checked).toBe(false);
    expect(find(t, 'Quit')!.role).toBe('quit');
    expect(JSON.stringify(t)).not.toContain('toggleDevTools');
  });

  it('adds the macOS app menu and developer tools where they belong', () => {
    const mac = buildMenuTemplate(actions, {
      appName: 'Bindery',
      isMac: true,
      dev: true,
      theme: 'system',
    }) as Item[];
    expect(mac[0].label).toBe('Bindery');
    expect(JSON.stringify(mac)).toContain('toggleDevTools');
    expect(mac.some((i) => i.role === 'windowMenu')).toBe(true);
  });

  it('describes the active pack and its licence in About', () => {
    const info = {
      appName: 'Bindery',
      version: '0.1.0',
      versions: { electron: '41.7.1', chrome: '140', node: '22' },
    };
    const model = {
      name: 'ImageBind Huge',
      version: '1.0',
      licence: {
        name: 'CC-BY-NC 4.0',
        label: 'CC-BY-NC 4.0 / CC BY-NC-SA 4.0 — non-commercial use only',
        url: 'https://example.org/licence',
      },
      testPack: false,
    };
    const text = aboutDetail(info, model);
    expect(text).toContain('Bindery 0.1.0');
    expect(text).toContain('Model pack: ImageBind Huge 1.0');
    expect(text).toContain(
      'Model licence: CC-BY-NC 4.0 / CC BY-NC-SA 4.0 — non-commercial use only (https://example.org/licence)',
    );
    expect(aboutDetail(info, { ...model, testPack: true })).toMatch(/test pack/);
    expect(aboutDetail(info, null, 'engine restarting')).toContain('unavailable (engine restarting)');
    expect(licenceUrl(model)).toBe('https://example.org/licence');
    expect(licenceUrl({ licence: { name: 'x', label: 'x', url: 'javascript:alert(1)' } })).toBeNull();
    expect(licenceUrl(null)).toBeNull();
  });
});

describe('electron-builder.yml', () => {
  const require = createRequire(import.meta.url);
  const resolvable = (id: string) => {
    try {
      return require.resolve(id);
    } catch {
      return null;
    }
  };
  const yamlPath = resolvable('js-yaml');
  const configPath = resolvable('app-builder-lib/out/util/config/config.js');

  it.skipIf(!yamlPath || !configPath)(
    'is valid for electron-builder and unpacks what dlopen needs',
    async () => {
      const yaml = require(yamlPath!) as { load(s: string): Record<string, unknown> };
      const { validateConfiguration } = require(configPath!) as {
        validateConfiguration(c: unknown, l: unknown): Promise<void>;
      };
      const config = yaml.load(
        await readFile(path.join(REPO_ROOT, 'electron-builder.yml'), 'utf8'),
      ) as Record<string, never>;
      await validateConfiguration(config, { add: () => undefined, isEnabled: false });
      expect(config.productName).toBe('Bindery');
      expect(config.asarUnpack).toEqual(
        expect.arrayContaining([
          '**/*.node',
          'node_modules/onnxruntime-node/bin/**',
          'node_modules/sqlite-vec*/**',
          'node_modules/sqlite-vss*/**',
          'node_modules/@img/**',
        ]),
      );
      expect(config.extraResources).toEqual([
        expect.objectContaining({ from: 'models/test-pack', to: 'test-pack' }),
      ]);
      expect((config.deb as { depends: string[] }).depends).toEqual(
        expect.arrayContaining(['libblas3', 'liblapack3', 'libgomp1', 'ffmpeg', 'libnss3']),
      );
      expect(config.electronFuses).toMatchObject({
        runAsNode: false,
        enableCookieEncryption: true,
        enableNodeOptionsEnvironmentVariable: false,
        enableNodeCliInspectArguments: false,
        enableEmbeddedAsarIntegrityValidation: true,
        onlyLoadAppFromAsar: true,
      });
      expect(config.npmRebuild).toBe(true);
      expect((config.linux as { target: string[] }).target).toEqual(['AppImage', 'deb']);
      for (const icon of ['resources/icon.png', 'resources/icons/512x512.png', 'resources/icons/16x16.png']) {
        expect(existsSync(path.join(REPO_ROOT, icon)), icon).toBe(true);
      }
    },
  );
});
