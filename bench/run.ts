import { existsSync } from 'node:fs';
import { benchWatch } from './watch.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadPack } from '../main/core/packs/pack.js';
import { bundledTestPackDir, packageRoot } from '../main/core/paths.js';
import { benchIngest } from './ingest.js';
import { benchEncoders } from './encoders.js';
import { benchModels } from './models.js';
import { benchPreprocess } from './preprocess.js';
import { writeImage, writeTone, writeVideo } from '../tests/support/synth-media.js';
import { benchServe } from './serve.js';
import { benchVectors } from './vectors.js';
import { benchPgvector } from './pgvector.js';
import { benchGridScroll } from './grid.js';
import { benchResults } from './results.js';
import { chromiumMissing } from './browser.js';

export interface BenchOptions {
  quick: boolean;
  outDir?: string;
  only?: string[];
}

/** Runs every benchmark, writes one JSON report and returns its path. */
export async function runBench(opts: BenchOptions): Promise<string> {
  const started = new Date();
  const want = (part: string) => !opts.only || opts.only.includes(part);
  const report: Record<string, unknown> = {
    machine: machineInfo(),
    startedAt: started.toISOString(),
    quick: opts.quick,
  };
  const step = async (name: string, fn: () => Promise<unknown>) => {
    if (!want(name)) return;
    const t0 = performance.now();
    process.stderr.write(`bench: ${name}…\n`);
    report[name] = await fn();
    process.stderr.write(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  };
  await step('vector', () => benchVectors({ quick: opts.quick }));
  await step('pgvector', () => benchPgvector({ quick: opts.quick }));
  await step('models', async () => benchModels(await loadPack(bundledTestPackDir()), { quick: opts.quick }));
  await step('encoders', () => benchEncoders({ quick: opts.quick }));
  await step('preprocess', () => withInputs((inputs) => benchPreprocess(inputs, { quick: opts.quick })));
  await step('ingest', () => benchIngest({ quick: opts.quick }));
  await step('serve', () => benchServe({ quick: opts.quick }));
  await step('grid', async () => chromiumMissing() ?? (await benchGridScroll()));
  await step('results', () => benchResults({ quick: opts.quick }));
  await step('watch', () => benchWatch({ quick: opts.quick }));
  report.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  report.totalSeconds = Math.round((Date.now() - started.getTime()) / 100) / 10;
  const dir = opts.outDir ?? path.join(packageRoot(), 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(
    dir,
    `bench-${started.toISOString().replace(/[:.]/g, '-')}${opts.quick ? '-quick' : ''}.json`,
  );
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memGB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
  };
}

/** The shared fixtures when they are beside the checkout, otherwise generated stand-ins. */
async function withInputs<T>(
  fn: (i: { image: string; audio: string; video: string; vocab: string }) => Promise<T>,
) {
  const shared = process.env.BINDERY_SHARED ?? path.resolve(packageRoot(), '..', 'shared');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bindery-bench-'));
  try {
    const fx = path.join(shared, 'fixtures', 'imagebind');
    const image = existsSync(fx) ? path.join(fx, 'dog_image.jpg') : path.join(tmp, 'a.jpg');
    const audio = existsSync(fx) ? path.join(fx, 'dog_audio.wav') : path.join(tmp, 'a.wav');
    if (!existsSync(fx)) await Promise.all([writeImage(image, 1, 1024, 768), writeTone(audio, 1, 5, 44100)]);
    const video = path.join(tmp, 'v.mp4');
    await writeVideo(video, 1, 10);
    const vocab = path.join(bundledTestPackDir(), 'bpe_simple_vocab_16e6.txt.gz');
    return await fn({ image, audio, video, vocab });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
