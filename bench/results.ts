import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { writeLibrary } from '../tests/support/synth-media.js';
import { chromiumMissing, launchChromium } from './browser.js';
import { indexLibrary, startServer, type Server } from './serve.js';

/**
 * What a user waits for in the results (issue 15): a weight slider's step until the grid shows the
 * re-ranked results (p50/p95 in Chromium through `bindery serve`, target p95 ≤ 100 ms), and the
 * first query after `serve` starts: cold (sent the moment the URL is printed, while the encoders
 * still load) and warm (once the background warm-up is done), against a later query.
 */

export interface ResultsBench {
  library: { files: number };
  slider: { steps: number; p50Ms: number; p95Ms: number; maxMs: number; missed: number };
  firstQuery: { coldMs: number; warmMs: number; laterMs: number; coldVsLater: number };
}

export async function benchResults(opts: { quick: boolean }): Promise<ResultsBench | { skipped: string }> {
  const missing = chromiumMissing();
  if (missing) return { skipped: missing };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-bench-results-'));
  try {
    const lib = path.join(dir, 'library');
    await mkdir(lib);
    const counts = opts.quick ? { images: 40, audio: 6, videos: 2 } : { images: 120, audio: 16, videos: 6 };
    const files = await writeLibrary(lib, counts, 11);
    const db = path.join(dir, 'catalogue.db');
    await indexLibrary(db, lib);
    const firstQuery = await measureFirstQuery(db);
    const server = await startServer(db, ['--no-watch']);
    try {
      return {
        library: { files: files.length },
        slider: await measureSlider(server, opts.quick ? 16 : 40),
        firstQuery,
      };
    } finally {
      server.child.kill('SIGTERM');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function searchMs(s: Server, text: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${s.url}/api/search`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ terms: [{ modality: 'text', text }], k: 100 }),
  });
  await res.json();
  if (!res.ok) throw new Error(`search answered ${res.status}`);
  return performance.now() - t0;
}

/** Cold: the moment the server is up. Warm: a fresh server after its warm-up. Later: a second query. */
async function measureFirstQuery(db: string): Promise<ResultsBench['firstQuery']> {
  const cold = await startServer(db, ['--no-watch']);
  const coldMs = await searchMs(cold, 'a first query, cold').finally(() => cold.child.kill('SIGTERM'));
  await new Promise((r) => cold.child.once('exit', r));
  const warm = await startServer(db, ['--no-watch']);
  try {
    // The host warms the encoders in the background at start; a person types for longer than this.
    await new Promise((r) => setTimeout(r, 3000));
    const warmMs = await searchMs(warm, 'a first query, warm');
    const laterMs = await searchMs(warm, 'a later query');
    const round = (x: number) => Math.round(x * 10) / 10;
    return {
      coldMs: round(coldMs),
      warmMs: round(warmMs),
      laterMs: round(laterMs),
      coldVsLater: round(coldMs / laterMs),
    };
  } finally {
    warm.child.kill('SIGTERM');
  }
}

/**
 * Two text chips, then single steps of the second one's slider (arrow keys), one at a time: from
 * the keydown to the frame after the grid's scores changed, timed inside the page.
 */
async function measureSlider(s: Server, steps: number): Promise<ResultsBench['slider']> {
  const browser = await launchChromium({ width: 1360, height: 860 });
  try {
    const page = await browser.context.newPage();
    await page.goto(s.pageUrl);
    for (const text of ['a dog on a beach', 'the sea at night']) {
      const input = page.getByLabel('Add a text term (press Enter)');
      await input.fill(text);
      await input.press('Enter');
    }
    await page
      .locator('[aria-label="Search results"] [role="gridcell"]')
      .first()
      .waitFor({ timeout: 60_000 });
    await installTimer(page);
    const slider = page.getByLabel('Weight of the sea at night', { exact: true });
    await slider.focus();
    const times: number[] = [];
    let missed = 0;
    for (let i = 0; i < steps; i++) {
      await page.keyboard.press(i < steps / 2 ? 'ArrowLeft' : 'ArrowRight');
      const ms = await page
        .waitForFunction(() => (window as unknown as { __stepMs?: number }).__stepMs, null, { timeout: 5000 })
        .then((h) => h.jsonValue() as Promise<number>)
        .catch(() => null);
      if (ms === null) missed++;
      else times.push(ms);
      await page.evaluate(() => delete (window as unknown as { __stepMs?: number }).__stepMs);
      await page.waitForTimeout(150);
    }
    return { steps, ...percentiles(times), missed };
  } finally {
    await browser.close();
  }
}

/** In the page: a keydown starts a clock; the first frame after the grid's scores change stops it. */
function installTimer(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { __stepMs?: number };
    const scores = () =>
      Array.from(document.querySelectorAll<HTMLElement>('[aria-label="Search results"] [role="gridcell"]'))
        .slice(0, 20)
        .map((e) => e.dataset.score)
        .join();
    let pending: { t0: number; before: string } | null = null;
    document.addEventListener('keydown', () => (pending = { t0: performance.now(), before: scores() }), true);
    new MutationObserver(() => {
      const p = pending;
      if (!p || scores() === p.before) return;
      pending = null;
      requestAnimationFrame(() => (w.__stepMs = performance.now() - p.t0));
    }).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-score'],
    });
  });
}

function percentiles(xs: number[]): { p50Ms: number; p95Ms: number; maxMs: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN);
  const r = (x: number) => Math.round(x * 10) / 10;
  return { p50Ms: r(at(0.5)), p95Ms: r(at(0.95)), maxMs: r(s.at(-1) ?? NaN) };
}
