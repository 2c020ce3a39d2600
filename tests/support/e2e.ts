import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumMissing, launchChromium, type Browser } from '../../bench/browser.js';
import { RENDERER_DIST } from '../../bench/grid.js';
import { startCli } from './cli.js';
import { FIXTURES_DIR, REPO_ROOT } from './paths.js';

/**
 * What the Chromium end-to-end tests share: starting `bindery serve`, stopping it, screenshots
 * (test-artifacts/screenshots, copied to docs/screenshots on request) and the axe-core check.
 */

export const SHOTS = path.join(REPO_ROOT, 'test-artifacts', 'screenshots');
export const DOC_SHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');

/** Why an e2e file cannot run here (no Chromium, nothing built, no fixtures), or null. */
export function e2eSkipReason(): string | null {
  const built = (p: string, what: string) => (existsSync(p) ? null : `${what} is not built (npm run build)`);
  return (
    chromiumMissing() ??
    built(path.join(RENDERER_DIST, 'index.html'), 'renderer/dist') ??
    built(path.join(REPO_ROOT, 'dist', 'main', 'cli', 'main.js'), 'the CLI') ??
    (existsSync(FIXTURES_DIR) ? null : `shared fixtures missing at ${FIXTURES_DIR}`)
  );
}

export interface ServeLine {
  url: string;
  pageUrl: string;
  token: string;
}

/** Waits for `bindery serve --json` to print its one JSON line. */
export function readServeLine(child: ChildProcess, timeoutMs: number): Promise<ServeLine> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`bindery serve printed nothing in ${timeoutMs} ms\n${err}`)),
      timeoutMs,
    );
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.trim().startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      resolve(JSON.parse(line) as ServeLine);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bindery serve exited with ${code}\n${err}`));
    });
  });
}

/** `bindery serve --json --no-watch` on a catalogue, with its own home folder. */
export async function startServe(
  db: string,
  home: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; line: ServeLine }> {
  const child = startCli(['--db', db, 'serve', '--json', '--no-watch', ...extra], {
    BINDERY_HOME: home,
    HOME: home,
  });
  return { child, line: await readServeLine(child, 90_000) };
}

export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/**
 * Chromium for the accessibility run. The page's CSP allows only its own scripts, so axe-core
 * (injected as a script tag, the way a tester's extension would) needs the CSP bypassed.
 */
export function launchChromiumForAxe(viewport: { width: number; height: number }): Promise<Browser> {
  return launchChromium(viewport, { bypassCSP: true });
}

export async function shot(page: Page, name: string): Promise<void> {
  await mkdir(SHOTS, { recursive: true });
  // Transitions fast-forwarded, so what is captured is the settled state.
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), animations: 'disabled' });
}

/** With BINDERY_UPDATE_SCREENSHOTS=1, the named screenshots are copied into docs/screenshots. */
export async function publishShots(names: readonly string[]): Promise<void> {
  if (process.env.BINDERY_UPDATE_SCREENSHOTS !== '1' || !existsSync(SHOTS)) return;
  await mkdir(DOC_SHOTS, { recursive: true });
  const have = new Set(await readdir(SHOTS));
  for (const n of names)
    if (have.has(`${n}.png`)) await copyFile(path.join(SHOTS, `${n}.png`), path.join(DOC_SHOTS, `${n}.png`));
}

export interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  nodes: { target: string[]; html: string; failureSummary?: string }[];
}

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** Runs axe-core (WCAG 2.x A/AA and best practices) on the page as it is now. */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE_PATH });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (c: unknown, o: unknown) => Promise<unknown> } }).axe;
    const r = (await axe.run(document, { resultTypes: ['violations'] })) as { violations: AxeViolation[] };
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, failureSummary: n.failureSummary })),
    }));
  });
}

/** One line per violation and element, for the test log and for whoever fixes it. */
export function describeViolations(screen: string, vs: readonly AxeViolation[]): string[] {
  return vs.flatMap((v) =>
    v.nodes.map(
      (n) =>
        `[${screen}] ${v.impact ?? '?'} ${v.id}: ${v.help} — ${n.target.join(' ')} ${n.html.slice(0, 160)}`,
    ),
  );
}
