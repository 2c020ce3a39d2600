import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage } from '../support/synth-media.js';
import { tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';

/**
 * The packaged-like app end to end, through Playwright's Electron driver. Runs only where the
 * Electron binary exists (`require('electron')` is its path); elsewhere it skips and says why.
 * Needs `npm run build` (dist/, the preload bundle and, ideally, renderer/dist).
 */

function electronBinary(): { path: string | null; reason: string | null } {
  try {
    const p = createRequire(import.meta.url)('electron') as unknown;
    if (typeof p === 'string' && existsSync(p)) return { path: p, reason: null };
    return { path: null, reason: `Electron binary not installed: ${String(p)} does not exist` };
  } catch (e) {
    return {
      path: null,
      reason: `Electron binary not installed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
    };
  }
}

const electron = electronBinary();
const MAIN = path.join(REPO_ROOT, 'dist', 'main', 'electron', 'main.js');
const PRELOAD = path.join(REPO_ROOT, 'dist', 'main', 'preload', 'preload.cjs');
if (electron.reason) console.warn(`[electron.e2e] skipped: ${electron.reason}`);

type Page = import('playwright-core').Page;

/** The page's globals as these tests use them (the Node test project has no DOM lib; types only). */
type PageGlobals = {
  bindery: Record<string, (...a: unknown[]) => Promise<unknown>> & {
    mediaUrl(id: number, v: string): string;
  };
  Image: new () => { src: string; decode(): Promise<void>; naturalWidth: number };
  open(url: string): unknown;
  location: { href: string };
};
type App = import('playwright-core').ElectronApplication;

describe.skipIf(!electron.path)(
  `Electron app (e2e)${electron.reason ? ` — skipped: ${electron.reason}` : ''}`,
  () => {
    let app: App;
    let page: Page;
    let home: string;
    let lib: string;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      for (const f of [MAIN, PRELOAD])
        if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
      ({ dir: home, cleanup } = await tempDir('bindery-e2e-'));
      lib = path.join(home, 'library');
      await mkdir(lib);
      await writeImage(path.join(lib, 'photo.jpg'), 7, 320, 240);
      const { _electron } = await import('playwright-core');
      app = await _electron.launch({
        executablePath: electron.path!,
        args: [REPO_ROOT],
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          BINDERY_HOME: path.join(home, 'data'),
          XDG_CONFIG_HOME: path.join(home, 'config'),
          BINDERY_ENGINE_NODE: process.execPath,
          ELECTRON_ENABLE_LOGGING: '1',
        },
        timeout: 60_000,
      });
      page = await app.firstWindow({ timeout: 60_000 });
      await page.waitForLoadState('domcontentloaded');
    });

    afterAll(async () => {
      await app?.close();
      await cleanup?.();
    });

    it('loads the renderer from app:// in a sandboxed, isolated page', async () => {
      expect(page.url()).toMatch(/^app:\/\/bindery\//);
      const globals = await page.evaluate(() => ({
        require: typeof (globalThis as Record<string, unknown>).require,
        process: typeof (globalThis as Record<string, unknown>).process,
        bindery: typeof (globalThis as Record<string, unknown>).bindery,
      }));
      expect(globals).toEqual({ require: 'undefined', process: 'undefined', bindery: 'object' });
      expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
    });

    it('answers AppApi calls over IPC, with schema errors as ApiError bodies', async () => {
      const status = (await page.evaluate(() => (globalThis as unknown as PageGlobals).bindery.status())) as {
        catalogue: string;
      };
      expect(status.catalogue).toBe(path.join(home, 'data', 'catalogue.db'));
      const error = await page.evaluate(() =>
        (globalThis as unknown as PageGlobals).bindery.addRoot({ path: 42 }).catch((e: unknown) => e),
      );
      expect(error).toMatchObject({ code: 'invalid_request' });
    });

    it('indexes a folder and shows its file through media://', async () => {
      const width = await page.evaluate(async (folder) => {
        const g = globalThis as unknown as PageGlobals;
        await g.bindery.addRoot({ path: folder });
        await g.bindery.index({});
        const hits = (await g.bindery.search({ terms: [{ modality: 'text', text: 'photo' }], k: 1 })) as {
          results: { fileId: number }[];
        };
        const img = new g.Image();
        img.src = g.bindery.mediaUrl(hits.results[0].fileId, 'original');
        await img.decode();
        return img.naturalWidth;
      }, lib);
      expect(width).toBe(320);
    });

    it('denies window.open, remote fetches and navigation away', async () => {
      expect(
        await page.evaluate(
          () => (globalThis as unknown as PageGlobals).open('https://example.com/') === null,
        ),
      ).toBe(true);
      const fetched = await page.evaluate(() =>
        fetch('https://example.com/').then(
          () => 'loaded',
          () => 'blocked',
        ),
      );
      expect(fetched).toBe('blocked');
      await page.evaluate(() => {
        (globalThis as unknown as PageGlobals).location.href = 'https://example.com/';
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(page.url()).toMatch(/^app:\/\/bindery\//);
    });
  },
);
