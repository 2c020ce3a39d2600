import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runIfMain } from '../models/run-if-main.js';

/**
 * Which file watcher (docs/architecture.md §7, "Watching"): @parcel/watcher, which Bindery uses,
 * against chokidar, the usual Node choice, on one generated tree of `files` files in folders of
 * 100, each measured in its own process: start-up until changes are reported, resident memory,
 * CPU while idle, the delay from a new file to its event, and how a burst of writes arrives
 * (events and callbacks: coalescing).
 */

export type WatcherName = 'parcel' | 'chokidar';

export interface WatcherFigures {
  watcher: WatcherName;
  files: number;
  startMs: number;
  rssMB: number;
  idleCpuPercent: number;
  newFileEventMs: number;
  burst: { files: number; events: number; callbacks: number; settledMs: number };
}

const run = promisify(execFile);
const IDLE_MS = 5000;
const BURST = 1000;

export async function benchWatch(opts: { quick: boolean }): Promise<Record<string, unknown>> {
  const files = opts.quick ? 10_000 : 100_000;
  const root = await mkdtemp(path.join(os.tmpdir(), 'bindery-watch-bench-'));
  try {
    const t0 = performance.now();
    await makeTree(root, files);
    const treeSeconds = Math.round(performance.now() - t0) / 1000;
    const parcel = await measureInChild(root, 'parcel', files);
    const chokidar = await measureInChild(root, 'chokidar', files);
    return {
      files,
      treeSeconds,
      parcel,
      chokidar,
      ratios: {
        startChokidarOverParcel: round(chokidar.startMs / parcel.startMs),
        rssChokidarOverParcel: round(chokidar.rssMB / parcel.rssMB),
      },
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function makeTree(root: string, files: number): Promise<void> {
  for (let d = 0; d * 100 < files; d++) {
    const dir = path.join(root, `album-${String(d).padStart(4, '0')}`);
    await mkdir(dir);
    const n = Math.min(100, files - d * 100);
    await Promise.all(Array.from({ length: n }, (_, i) => writeFile(path.join(dir, `IMG_${i}.jpg`), '')));
  }
}

async function measureInChild(root: string, watcher: WatcherName, files: number): Promise<WatcherFigures> {
  const script = fileURLToPath(import.meta.url);
  const { stdout } = await run(process.execPath, [script, '--child', watcher, root, String(files)], {
    maxBuffer: 1 << 20,
    timeout: 600_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as WatcherFigures;
}

interface Subscription {
  close(): Promise<void>;
}

/** Starts one watcher on `root`; resolves once it reports changes. */
async function startWatcher(
  name: WatcherName,
  root: string,
  onEvents: (n: number) => void,
): Promise<Subscription> {
  if (name === 'parcel') {
    const parcel = await import('@parcel/watcher');
    const sub = await parcel.subscribe(root, (_err, events) => onEvents(events.length));
    return { close: () => sub.unsubscribe() };
  }
  const { watch } = await import('chokidar');
  const w = watch(root, { ignoreInitial: true });
  w.on('all', () => onEvents(1));
  await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  return { close: () => w.close() };
}

async function child(name: WatcherName, root: string, files: number): Promise<WatcherFigures> {
  let events = 0;
  let callbacks = 0;
  let lastEventAt = 0;
  const t0 = performance.now();
  const sub = await startWatcher(name, root, (n) => {
    events += n;
    callbacks++;
    lastEventAt = performance.now();
  });
  const startMs = Math.round(performance.now() - t0);
  const cpu0 = process.cpuUsage();
  await sleep(IDLE_MS);
  const cpu = process.cpuUsage(cpu0);
  const idleCpuPercent = round(((cpu.user + cpu.system) / 1000 / IDLE_MS) * 100);
  const rssMB = Math.round(process.memoryUsage().rss / 2 ** 20);
  const newFileEventMs = await timeToEvent(root, () => events);
  const burst = await burstOf(root, () => ({ events, callbacks, lastEventAt }));
  await sub.close();
  return { watcher: name, files, startMs, rssMB, idleCpuPercent, newFileEventMs, burst };
}

async function timeToEvent(root: string, count: () => number): Promise<number> {
  const before = count();
  const t = performance.now();
  await writeFile(path.join(root, 'album-0000', `new-${process.pid}.jpg`), 'x');
  while (count() === before && performance.now() - t < 10_000) await sleep(2);
  return Math.round(performance.now() - t);
}

async function burstOf(
  root: string,
  seen: () => { events: number; callbacks: number; lastEventAt: number },
): Promise<WatcherFigures['burst']> {
  const dir = await mkdtemp(path.join(root, 'burst-'));
  await sleep(500);
  const before = seen();
  const t = performance.now();
  await Promise.all(Array.from({ length: BURST }, (_, i) => writeFile(path.join(dir, `b${i}.jpg`), 'x')));
  // Settled: no event for a second.
  while (performance.now() - Math.max(seen().lastEventAt, t) < 1000) await sleep(50);
  const after = seen();
  return {
    files: BURST,
    events: after.events - before.events,
    callbacks: after.callbacks - before.callbacks,
    settledMs: Math.round(after.lastEventAt - t),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number) => Math.round(x * 100) / 100;

async function main(argv: string[]): Promise<number> {
  if (argv[0] !== '--child') {
    console.log(JSON.stringify(await benchWatch({ quick: argv.includes('--quick') }), null, 2));
    return 0;
  }
  const figures = await child(argv[1] as WatcherName, argv[2], Number(argv[3]));
  console.log(JSON.stringify(figures));
  return 0;
}

runIfMain(import.meta.url, main);
