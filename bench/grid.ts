/// <reference lib="dom" />
// The scroll probe runs inside Chromium (page.evaluate), hence DOM types for this file.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { packageRoot } from '../main/core/paths.js';
import { launchChromium } from './browser.js';
import { serveDir } from './static-server.js';

export const RENDERER_DIST = path.join(packageRoot(), 'renderer', 'dist');

export interface GridBenchResult {
  /** Animation frames observed while scrolling. */
  frames: number;
  /** 95th percentile of the time between consecutive frames. */
  p95FrameMs: number;
  /** Main-thread tasks over 50 ms (PerformanceObserver 'longtask') during the scroll. */
  longTasks: number;
  meanFrameMs: number;
  maxFrameMs: number;
  longTaskTotalMs: number;
  /** Frames over 1.5× the median frame time (a dropped frame at the display's own rate). */
  slowFrames: number;
  /** Results in the grid and the most result tiles ever in the DOM at once. */
  results: number;
  maxTilesInDom: number;
  scrolledPx: number;
  durationMs: number;
  /** The same frame statistics per phase: steady scrolling, then jumps to random offsets. */
  smooth: PhaseStats;
  jumps: PhaseStats;
}

export interface PhaseStats {
  frames: number;
  p50FrameMs: number;
  p95FrameMs: number;
  maxFrameMs: number;
}

export interface GridBenchOptions {
  /** Smooth scrolling time; a second phase of the same length jumps to random offsets. */
  durationMs?: number;
  pxPerFrame?: number;
  viewport?: { width: number; height: number };
}

/** Scrolls the grid in the page (smoothly, then by random jumps) and records frame timing. */
async function measureInPage(page: Page, durationMs: number, pxPerFrame: number) {
  return page.evaluate(
    async ({ durationMs, pxPerFrame }) => {
      const el = document.querySelector<HTMLElement>('.grid-scroll');
      if (!el) throw new Error('no grid on the page');
      const longTasks: number[] = [];
      const po = new PerformanceObserver((list) =>
        list.getEntries().forEach((e) => longTasks.push(e.duration)),
      );
      po.observe({ type: 'longtask', buffered: false });
      const frames: number[] = [];
      const phase: number[] = [];
      let maxTiles = 0;
      let scrolled = 0;
      let rnd = 12345;
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        let last = t0;
        const step = (now: number) => {
          frames.push(now - last);
          phase.push(now - t0 < durationMs ? 0 : 1);
          last = now;
          maxTiles = Math.max(maxTiles, el.querySelectorAll('[role="gridcell"]').length);
          const max = el.scrollHeight - el.clientHeight;
          const before = el.scrollTop;
          if (now - t0 < durationMs) {
            el.scrollTop = before + pxPerFrame >= max ? 0 : before + pxPerFrame;
          } else {
            rnd = (rnd * 1103515245 + 12345) % 2147483648;
            el.scrollTop = (rnd / 2147483648) * max;
          }
          scrolled += Math.abs(el.scrollTop - before);
          if (now - t0 < 2 * durationMs) requestAnimationFrame(step);
          else resolve();
        };
        requestAnimationFrame(step);
      });
      await new Promise((r) => setTimeout(r, 100));
      po.disconnect();
      return {
        frames: frames.slice(1),
        phase: phase.slice(1),
        longTasks,
        maxTiles,
        scrolled,
        elapsed: performance.now() - t0,
        results: Number(el.getAttribute('aria-rowcount')) * Number(el.getAttribute('aria-colcount')),
      };
    },
    { durationMs, pxPerFrame },
  );
}

function phaseStats(frames: number[]): PhaseStats {
  const sorted = [...frames].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    frames: frames.length,
    p50FrameMs: round(percentile(sorted, 50)),
    p95FrameMs: round(percentile(sorted, 95)),
    maxFrameMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * The grid benchmark for the harness: serves renderer/dist (build it first), opens
 * `?bench=grid100k` (100,000 synthetic results, no engine) in headless Chromium and scrolls.
 */
export async function benchGridScroll(opts: GridBenchOptions = {}): Promise<GridBenchResult> {
  const { durationMs = 3000, pxPerFrame = 80, viewport = { width: 1360, height: 860 } } = opts;
  if (!existsSync(path.join(RENDERER_DIST, 'index.html'))) {
    throw new Error('renderer/dist is missing: run `npm run build:renderer` first');
  }
  const server = await serveDir(RENDERER_DIST);
  const browser = await launchChromium(viewport);
  try {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/?bench=grid100k`, { timeout: 30_000 });
    await page.waitForSelector('[role="gridcell"]', { timeout: 30_000 });
    await page.waitForTimeout(300);
    const m = await measureInPage(page, durationMs, pxPerFrame);
    const sorted = [...m.frames].sort((a, b) => a - b);
    const median = percentile(sorted, 50);
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      frames: m.frames.length,
      p95FrameMs: round(percentile(sorted, 95)),
      longTasks: m.longTasks.length,
      meanFrameMs: round(m.frames.reduce((a, b) => a + b, 0) / Math.max(1, m.frames.length)),
      maxFrameMs: round(sorted[sorted.length - 1] ?? 0),
      longTaskTotalMs: round(m.longTasks.reduce((a, b) => a + b, 0)),
      slowFrames: m.frames.filter((f) => f > median * 1.5).length,
      results: m.results,
      maxTilesInDom: m.maxTiles,
      scrolledPx: Math.round(m.scrolled),
      durationMs: Math.round(m.elapsed),
      smooth: phaseStats(m.frames.filter((_, i) => m.phase[i] === 0)),
      jumps: phaseStats(m.frames.filter((_, i) => m.phase[i] === 1)),
    };
  } finally {
    await browser.close();
    await server.close();
  }
}
