import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSummary, Status } from '../../app/api.js';
import { launchChromium, type Browser } from '../../bench/browser.js';
import { callServed, httpTransport, serve, type Served } from '../bridge/transports.js';
import { runCli, tempDir } from '../support/cli.js';
import { e2eSkipReason, publishShots, shot } from '../support/e2e.js';
import { copyTestPack } from '../support/pack-server.js';
import { writeImage, writeTone } from '../support/synth-media.js';

/**
 * The library panel and the model-packs dialog in Chromium through `bindery serve` (issue 15,
 * items 4 and 5): a path that cannot be a library folder gets the engine's reason under the
 * field; the browse dialog (browser mode has no native picker) picks a folder; "Index now",
 * offered right after adding, indexes it; switching packs says what is re-embedded first, and
 * removing a pack asks, with the disk space it frees.
 */

const SHOT_NAMES = ['folder-picker', 'confirm-switch'];
const PHOTOS = 3;

const SKIP = e2eSkipReason();
if (SKIP) console.warn(`panels e2e skipped: ${SKIP}`);

describe.skipIf(Boolean(SKIP))('library folders and model packs in Chromium', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let lib: string;
  let server: Served;
  let browser: Browser | undefined;
  let page: Page;
  const call = <T>(method: string, payload: unknown = {}) => callServed<T>(server, method, payload);

  beforeAll(async () => {
    tmp = await tempDir('bindery-panels-e2e-');
    lib = path.join(tmp.dir, 'photos');
    await mkdir(lib);
    for (let i = 0; i < PHOTOS; i++) await writeImage(path.join(lib, `photo-${i}.jpg`), 40 + i, 160, 120);
    await writeTone(path.join(lib, 'birdsong.wav'), 9, 3);
    const db = path.join(tmp.dir, 'catalogue.db');
    // A second pack to switch to and remove, installed into this catalogue's packs folder.
    const packB = await copyTestPack(path.join(tmp.dir, 'downloads', 'pack-b'), 'pack-b', 'Pack B');
    const r = await runCli(['--db', db, 'models', 'install', packB, '--skip-selftest']);
    expect(r.code, r.stderr).toBe(0);
    server = await serve(db);
    browser = await launchChromium({ width: 1280, height: 800 });
    page = await browser.context.newPage();
    await page.goto(server.pageUrl);
    await page.getByText('Add a folder of photos, recordings or videos to get started.').waitFor();
  }, 180_000);

  afterAll(async () => {
    // The README embeds docs/screenshots; refreshed on request so a test run leaves the tree clean.
    await publishShots(SHOT_NAMES);
    await browser?.close();
    await server?.stop();
    await tmp?.cleanup();
  });

  it('shows why a path cannot be a library folder under the field, from a 400', async () => {
    const field = page.getByLabel('Folder path to add');
    const alert = page.locator('form[aria-label="Add a folder"] [role="alert"]');
    for (const [typed, why] of [
      ['photos', 'give an absolute path'],
      [path.join(lib, 'photo-0.jpg'), 'not a folder: it is a file'],
      [path.join(tmp.dir, 'no-such-folder'), 'no such folder'],
    ]) {
      await field.fill(typed);
      await page.getByRole('button', { name: 'Add', exact: true }).click();
      await alert.filter({ hasText: why }).waitFor();
      expect(await field.getAttribute('aria-describedby')).toBe(await alert.getAttribute('id'));
      expect(await field.getAttribute('aria-invalid')).toBe('true');
    }
    const refused = await httpTransport(server).call('addRoot', { path: 'photos' });
    expect(refused).toMatchObject({ ok: false, status: 400, error: { code: 'invalid_request' } });
    expect((await call<Status>('status')).roots).toEqual([]);
    await field.fill('');
    await alert.waitFor({ state: 'detached' });
  });

  it('picks a folder in the browse dialog', async () => {
    // The dialog opens where the typed path points.
    await page.getByLabel('Folder path to add').fill(tmp.dir);
    await page.getByRole('button', { name: 'Browse…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Choose a library folder' });
    const here = dialog.getByRole('list', { name: `Folders in ${tmp.dir}` });
    await here.waitFor();
    await shot(page, 'folder-picker');
    await here.getByRole('button', { name: 'photos', exact: true }).click();
    await dialog
      .getByRole('list', { name: `Folders in ${lib}` })
      .or(dialog.getByText('No folders in here.'))
      .waitFor();
    expect(await dialog.getByTestId('picker-path').textContent()).toBe(lib);
    expect(await dialog.locator('.picker-counts').textContent()).toBe(`${PHOTOS + 1} files`);
    await dialog.getByRole('button', { name: 'Add this folder' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.root').filter({ hasText: 'photos' }).waitFor();
    expect((await call<Status>('status')).roots.map((r) => r.path)).toEqual([lib]);
  });

  it('indexes the new folder from "Index now"', async () => {
    const offer = page.getByTestId('added-note');
    expect(await offer.textContent()).toContain('Added photos');
    await offer.getByRole('button', { name: 'Index now' }).click();
    await offer.waitFor({ state: 'detached' });
    await page.locator('.progress-card[data-phase="done"]').waitFor({ timeout: 120_000 });
    await page
      .locator('.root-counts')
      .filter({ hasText: `${PHOTOS + 1} indexed` })
      .waitFor({ timeout: 30_000 });
    expect((await call<Status>('status')).files.indexed).toBe(PHOTOS + 1);
  }, 150_000);

  it('asks before switching packs, with what is re-embedded', async () => {
    await page.getByRole('button', { name: 'Get ImageBind…' }).click();
    await page.getByRole('list', { name: 'Installed model packs' }).getByText('Pack B').waitFor();
    await page.getByRole('button', { name: 'Use', exact: true }).click();
    const ask = page.getByRole('alertdialog', { name: 'Switch to Pack B?' });
    await ask.waitFor();
    expect(await ask.getByTestId('reembed-count').textContent()).toBe(
      `Your library's ${PHOTOS + 1} items (${PHOTOS} photos and 1 recording) will be embedded again with Pack B.`,
    );
    expect(await ask.textContent()).toContain('search keeps using');
    await shot(page, 'confirm-switch');
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ask.waitFor({ state: 'detached' });
    expect((await call<Status>('status')).model.id).toBe('bindery-test-pack');
  });

  it('asks before removing a pack, with the disk space it frees', async () => {
    const remove = page.getByRole('button', { name: 'Remove Pack B' });
    const ask = page.getByRole('alertdialog', { name: 'Remove Pack B?' });
    await remove.click();
    expect(await ask.getByTestId('remove-frees').textContent()).toMatch(/^Its files are deleted, freeing \d/);
    await page.keyboard.press('Escape'); // closes the question only
    await ask.waitFor({ state: 'detached' });
    expect((await call<ModelSummary[]>('listModels')).map((m) => m.id)).toContain('pack-b');
    await remove.click();
    await ask.getByRole('button', { name: 'Remove pack' }).click();
    await page.getByRole('status').filter({ hasText: 'Removed Pack B' }).waitFor();
    expect((await call<ModelSummary[]>('listModels')).map((m) => m.id)).toEqual(['bindery-test-pack']);
    expect(existsSync(path.join(tmp.dir, 'packs', 'pack-b'))).toBe(false);
    expect(await page.getByRole('dialog', { name: 'Model packs' }).isVisible()).toBe(true);
  });
});
