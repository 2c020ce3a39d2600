import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '../../app/api.js';
import type { SearchResponse } from '../../app/query.js';
import { chromiumMissing, launchChromium, type Browser } from '../../bench/browser.js';
import { RENDERER_DIST } from '../../bench/grid.js';
import { runFfmpeg } from '../../main/core/codecs/ffmpeg.js';
import { callServed, serve, type Served } from '../bridge/transports.js';
import { runCli, tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';
import { writeImage } from '../support/synth-media.js';

/**
 * The living library in Chromium through `bindery serve` (issue 14), watching on as users get it:
 * the timeline opens on the library by capture date; a photo copied in appears by itself (the
 * time it takes is printed); a rename re-embeds nothing; a deletion leaves the timeline and
 * search; the whole folder moved away goes offline, stays searchable and its preview says why;
 * put back, it is online again and nothing was re-embedded.
 */

const SHOTS = path.join(REPO_ROOT, 'test-artifacts', 'screenshots');
const SHOT_NAMES = ['timeline.png', 'offline-preview.png'];

function skipReason(): string | null {
  return (
    chromiumMissing() ??
    (existsSync(path.join(RENDERER_DIST, 'index.html')) ? null : 'renderer/dist is not built (npm run build)')
  );
}
const SKIP = skipReason();
if (SKIP) console.warn(`living-library e2e skipped: ${SKIP}`);

const OLD = new Date(Date.UTC(2015, 0, 1));

async function buildLibrary(lib: string): Promise<void> {
  await mkdir(lib, { recursive: true });
  await sharp({ create: { width: 160, height: 120, channels: 3, background: '#2a6' } })
    .jpeg()
    .withExif({ IFD2: { DateTimeOriginal: '2019:07:14 18:30:05', OffsetTimeOriginal: '+02:00' } })
    .toFile(path.join(lib, 'summer.jpg'));
  // prettier-ignore
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=15:duration=2', '-c:v', 'libx264',
    '-metadata', 'creation_time=2021-03-03T09:15:00Z', path.join(lib, 'spring.mp4')]);
  await writeImage(path.join(lib, 'today.jpg'), 7, 160, 120);
  for (const f of ['summer.jpg', 'spring.mp4']) await utimes(path.join(lib, f), OLD, OLD);
}

/** Tile names in the timeline, in order. */
function timelineNames(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('.timeline [role="gridcell"]'))
      .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index))
      .map((el) => el.dataset.name ?? ''),
  );
}

describe.skipIf(Boolean(SKIP))('the living library in Chromium (watching)', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let lib: string;
  let server: Served;
  let browser: Browser | undefined;
  let page: Page;
  const call = <T>(method: string, payload: unknown = {}) => callServed<T>(server, method, payload);
  const segments = async () => (await call<Status>('status')).segments;
  const findByPhoto = (file: string) =>
    call<SearchResponse>('search', { terms: [{ modality: 'image', path: file }], k: 10 });

  beforeAll(async () => {
    tmp = await tempDir('bindery-living-e2e-');
    lib = path.join(tmp.dir, 'photos');
    await buildLibrary(lib);
    const db = path.join(tmp.dir, 'catalogue.db');
    process.env.BINDERY_HOME = path.join(tmp.dir, 'home');
    for (const args of [['add', lib], ['index']]) {
      const r = await runCli(['--db', db, ...args], { BINDERY_HOME: path.join(tmp.dir, 'home') });
      expect(r.code, r.stderr).toBe(0);
    }
    server = await serve(db, [], { watch: true });
    browser = await launchChromium({ width: 1280, height: 800 });
    page = await browser.context.newPage();
    await page.goto(server.pageUrl);
    await page.locator('.timeline [role="gridcell"]').first().waitFor({ timeout: 30_000 });
  }, 180_000);

  afterAll(async () => {
    // The README embeds docs/screenshots; refreshed on request so a test run leaves the tree clean.
    if (process.env.BINDERY_UPDATE_SCREENSHOTS === '1')
      for (const f of SHOT_NAMES)
        await copyFile(path.join(SHOTS, f), path.join(REPO_ROOT, 'docs', 'screenshots', f));
    await browser?.close();
    await server?.stop();
    delete process.env.BINDERY_HOME;
    await tmp?.cleanup();
  });

  it('opens on the library as a timeline, by capture date, not by mtime', async () => {
    expect(await timelineNames(page)).toEqual(['today.jpg', 'spring.mp4', 'summer.jpg']);
    await page.getByText('Watching these folders').waitFor();
    const junk = page.getByLabel(/Skip system clutter/);
    expect(await junk.isChecked()).toBe(true);
    await junk.uncheck();
    await expect.poll(async () => (await call<{ ignoreJunk: boolean }>('settings')).ignoreJunk).toBe(false);
    await junk.check();
    const headings = await page.locator('.timeline-month').allTextContents();
    expect(headings.join('|')).toMatch(/March 2021.*July 2019/);
    await mkdir(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'timeline.png'), animations: 'disabled' });
  });

  it('shows a photo copied into the folder within seconds, in the timeline and in search', async () => {
    const started = Date.now();
    await writeImage(path.join(lib, 'arrived.jpg'), 42, 160, 120);
    await page.locator('[data-name="arrived.jpg"]').waitFor({ timeout: 30_000 });
    const shownMs = Date.now() - started;
    const hits = await findByPhoto(path.join(lib, 'arrived.jpg'));
    expect(hits.results[0].path).toBe(path.join(lib, 'arrived.jpg'));
    console.log(`living library: a copied photo reached the timeline ${shownMs} ms after it was written`);
  });

  it('follows a rename without re-embedding', async () => {
    const before = await segments();
    await rename(path.join(lib, 'arrived.jpg'), path.join(lib, 'renamed.jpg'));
    await page.locator('[data-name="renamed.jpg"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-name="arrived.jpg"]').waitFor({ state: 'detached', timeout: 30_000 });
    expect(await segments()).toBe(before);
  });

  it('takes a deleted file out of the timeline and of search', async () => {
    await rm(path.join(lib, 'renamed.jpg'));
    await page.locator('[data-name="renamed.jpg"]').waitFor({ state: 'detached', timeout: 30_000 });
    const hits = await findByPhoto(path.join(lib, 'today.jpg'));
    expect(hits.results.map((h) => path.basename(h.path))).not.toContain('renamed.jpg');
    // The setting shows what the catalogue still remembers, marked deleted.
    const showDeleted = page.getByLabel('Show deleted');
    await showDeleted.check();
    const tile = page.locator('[data-name="renamed.jpg"]');
    await tile.waitFor({ timeout: 10_000 });
    expect(await tile.locator('.tile-offline').textContent()).toBe('deleted');
    await showDeleted.uncheck();
    await tile.waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('keeps a folder that went away searchable and offline, and says why in the preview', async () => {
    const before = await segments();
    await rename(lib, path.join(tmp.dir, 'unplugged'));
    await page.locator('.tile-offline').first().waitFor({ timeout: 30_000 });
    const hits = await call<SearchResponse>('search', { terms: [{ modality: 'text', text: 'a photo' }] });
    expect(hits.results.length).toBe(3);
    expect(hits.results.every((h) => h.offline)).toBe(true);
    await page.locator('.timeline [data-name="summer.jpg"]').click();
    const note = page.locator('.offline-note');
    await note.waitFor();
    expect(await note.textContent()).toContain('not connected');
    await page.screenshot({ path: path.join(SHOTS, 'offline-preview.png'), animations: 'disabled' });
    await page.keyboard.press('Escape');
    expect(await segments()).toBe(before);
  });

  it('is online again when the folder comes back, with nothing re-embedded', async () => {
    const before = await segments();
    await rename(path.join(tmp.dir, 'unplugged'), lib);
    await page.locator('.tile-offline').first().waitFor({ state: 'detached', timeout: 30_000 });
    const status = await call<Status>('status');
    expect(status.roots[0].status).toBe('online');
    expect(status.segments).toBe(before);
    expect(await timelineNames(page)).toEqual(['today.jpg', 'spring.mp4', 'summer.jpg']);
  });
});
