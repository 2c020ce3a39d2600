import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../main/core/engine/engine.js';
import { packageRoot } from '../main/core/paths.js';
import { viaDispatch } from '../app/dispatch.js';
import { coreService } from '../main/core/api/service.js';
import { writeLibrary } from '../tests/support/synth-media.js';

/**
 * `bindery serve` under load (issue 13): an indexed library, then 200 searches at once over loopback
 * HTTP, a mix of text, photo-file and stored-segment terms. Reports latency percentiles, errors and
 * the server's resident memory idle, at peak and after; compared with the same searches one at a
 * time, and with what a user without the server would run: one `bindery search` per query.
 */

export interface ServeBench {
  library: { files: number };
  concurrent: {
    searches: number;
    errors: number;
    p50Ms: number;
    p95Ms: number;
    maxMs: number;
    wallMs: number;
  };
  sequential: { searches: number; medianMs: number };
  /** The first text query, 2 s after the server started (encoders warm up in the background). */
  firstQueryMs: number;
  cli: { searches: number; medianMs: number };
  rssMB: { idle: number; peak: number; after: number };
  /** after / idle: the server gives back what the burst took (target ≤ 1.2). */
  rssAfterVsIdle: number;
  /** One `bindery search` process per query vs. one search on the running server. */
  speedupVsCli: number;
}

export async function benchServe(opts: { quick: boolean }): Promise<ServeBench | { skipped: string }> {
  if (process.platform !== 'linux') return { skipped: 'reads the server’s memory from /proc' };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-bench-serve-'));
  try {
    const lib = path.join(dir, 'library');
    await mkdir(lib);
    const files = await writeLibrary(
      lib,
      opts.quick ? { images: 60, audio: 8 } : { images: 300, audio: 40 },
      5,
    );
    const db = path.join(dir, 'catalogue.db');
    await indexLibrary(db, lib);
    const server = await startServer(db);
    try {
      return await measure(server, files, db, opts.quick);
    } finally {
      server.child.kill('SIGTERM');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Adds `lib` to the catalogue at `db` and indexes it (test pack), in-process. */
export async function indexLibrary(db: string, lib: string): Promise<void> {
  const engine = await Engine.open({ dbPath: db });
  try {
    const service = viaDispatch(coreService(engine));
    await service.addRoot({ path: lib });
    await service.index({});
  } finally {
    await engine.close();
  }
}

export interface Server {
  child: ChildProcess;
  url: string;
  pageUrl: string;
  token: string;
}

const BIN = () => path.join(packageRoot(), 'bin', 'bindery.js');

/** `bindery serve --json` on `db` (extra flags after it, e.g. --no-watch), once its URL is printed. */
export async function startServer(db: string, extra: string[] = []): Promise<Server> {
  const child = spawn(process.execPath, [BIN(), '--db', db, 'serve', '--json', ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`bindery serve exited ${code}`)));
  });
  return { child, ...(JSON.parse(line) as Omit<Server, 'child'>) };
}

async function search(s: Server, body: unknown): Promise<{ ms: number; ok: boolean; json: unknown }> {
  const t0 = performance.now();
  const res = await fetch(`${s.url}/api/search`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  return { ms: performance.now() - t0, ok: res.ok, json };
}

function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
}

async function measure(s: Server, files: string[], db: string, quick: boolean): Promise<ServeBench> {
  const pid = s.child.pid!;
  // A user's first query comes a moment after the app opens; by then the encoders have warmed up.
  await new Promise((r) => setTimeout(r, 2000));
  const first = await search(s, { terms: [{ modality: 'text', text: 'the first query' }], k: 50 });
  const segments = (first.json as { results: { segmentId: number }[] }).results.map((r) => r.segmentId);
  const images = files.filter((f) => f.endsWith('.jpg'));
  // Distinct inputs, so each search embeds its term rather than hitting the term cache.
  const query = (i: number) => {
    const term =
      i % 10 < 5
        ? { modality: 'text', text: `a photo of thing number ${i}` }
        : i % 10 < 8
          ? { modality: 'image', path: images[i % images.length] }
          : { modality: 'segment', segmentId: segments[i % segments.length] };
    return { terms: [term], k: 20 };
  };
  for (let i = 0; i < 5; i++) await search(s, query(1000 + i));
  await new Promise((r) => setTimeout(r, 1000));
  const idle = rssMB(pid);

  const sequential: number[] = [];
  for (let i = 0; i < (quick ? 20 : 50); i++) sequential.push((await search(s, query(2000 + i))).ms);

  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMB(pid))), 50);
  const t0 = performance.now();
  const burst = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      search(s, query(i)).catch(() => ({ ms: 0, ok: false, json: null })),
    ),
  );
  const wallMs = performance.now() - t0;
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 3000));
  const after = rssMB(pid);

  const cli: number[] = [];
  for (let i = 0; i < (quick ? 3 : 8); i++)
    cli.push(await cliSearch(db, `a photo of thing number ${3000 + i}`));

  const ms = burst.map((b) => b.ms).sort((a, b) => a - b);
  const seqMedian = percentile(sequential, 0.5);
  return {
    library: { files: files.length },
    concurrent: {
      searches: burst.length,
      errors: burst.filter((b) => !b.ok).length,
      p50Ms: round(percentile(ms, 0.5)),
      p95Ms: round(percentile(ms, 0.95)),
      maxMs: round(ms.at(-1) ?? 0),
      wallMs: round(wallMs),
    },
    sequential: { searches: sequential.length, medianMs: round(seqMedian) },
    firstQueryMs: round(first.ms),
    cli: { searches: cli.length, medianMs: round(percentile(cli, 0.5)) },
    rssMB: { idle: round(idle), peak: round(peak), after: round(after) },
    rssAfterVsIdle: round(after / idle),
    speedupVsCli: round(percentile(cli, 0.5) / seqMedian),
  };
}

async function cliSearch(db: string, text: string): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN(), '--db', db, 'search', '--text', text, '--json'], {
      stdio: 'ignore',
    });
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`bindery search exited ${code}`)),
    );
  });
  return performance.now() - t0;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

const round = (x: number) => Math.round(x * 100) / 100;
