import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's Chromium; the end-to-end tests and the grid benchmark drive it through playwright-core. */
export const CHROMIUM_PATH = process.env.BINDERY_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM_PATH)
    ? null
    : `Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium)`;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * A fresh profile (--user-data-dir in a temp folder) for every launch, removed on close.
 * `bypassCSP` lets a test inject a checker script (axe-core) into pages whose CSP forbids it.
 */
export async function launchChromium(
  viewport = { width: 1360, height: 860 },
  opts: { bypassCSP?: boolean } = {},
): Promise<Browser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'bindery-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    deviceScaleFactor: 1,
    bypassCSP: opts.bypassCSP ?? false,
    timeout: 60_000,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
