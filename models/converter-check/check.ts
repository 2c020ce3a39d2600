/**
 * Converts a golden checkpoint with Bindery's TypeScript converter and compares every output with
 * the official ImageBind code's (docs/architecture.md §11, "Proof").
 *
 *   node dist/models/converter-check/check.js <golden-dir> [--precision fp32|fp16|int8|q8] [--attention onnx|fused]
 *       [--out DIR] [--json]
 *
 * `<golden-dir>` comes from models/imagebind/make_golden.py (`--size huge` for the full-size
 * check, which is too slow for CI). Prints, per tower: conversion time, peak resident memory of
 * the conversion, graph node count, and per input the max |Δ| of the unit vectors and the cosine.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runIfMain } from '../run-if-main.js';
import { convertCheckpoint, type TowerReport } from '../../main/core/packs/convert/convert.js';
import type { AttentionForm, Precision } from '../../main/core/packs/convert/graphs.js';
import { loadPack } from '../../main/core/packs/pack.js';
import { EncoderRuntime } from '../../main/core/encoders/runtime.js';
import { normalize } from '../../app/vector-math.js';
import { cosine, maxAbsDiff } from './compare.js';
import { goldenCases, goldenInput, goldenOutput } from './golden.js';

export interface CaseResult {
  name: string;
  modality: string;
  maxAbsDiff: number;
  minCosine: number;
}

/** Runs every golden input through the pack in `packDir` and compares with the stored outputs. */
export async function compareWithGolden(packDir: string, goldenDir: string): Promise<CaseResult[]> {
  const runtime = new EncoderRuntime(await loadPack(packDir), { providers: ['cpu'], batchSize: 64 });
  try {
    const results: CaseResult[] = [];
    for (const c of await goldenCases(goldenDir)) {
      const got = await runtime.embed(c.modality, await goldenInput(c));
      const want = await goldenOutput(goldenDir, c);
      results.push({
        name: c.name,
        modality: c.modality,
        maxAbsDiff: Math.max(...got.map((g, i) => maxAbsDiff(g, normalize(want[i])))),
        minCosine: Math.min(...got.map((g, i) => cosine(g, want[i]))),
      });
    }
    return results;
  } finally {
    await runtime.close();
  }
}

export interface CheckReport {
  precision: Precision;
  convertSeconds: number;
  /** Peak RSS of this process up to the end of the conversion (no ONNX session exists yet). */
  convertPeakRssBytes: number;
  towers: TowerReport[];
  cases: CaseResult[];
}

export async function check(
  goldenDir: string,
  precision: Precision,
  outDir: string,
  attention: AttentionForm = 'onnx',
): Promise<CheckReport> {
  const started = performance.now();
  const conv = await convertCheckpoint(path.join(goldenDir, 'checkpoint.pth'), {
    outDir,
    precision,
    form: { attention },
  });
  const convertSeconds = (performance.now() - started) / 1000;
  const convertPeakRssBytes = process.resourceUsage().maxRSS * 1024;
  await writeFile(path.join(outDir, 'pack.json'), `${JSON.stringify(conv.manifest, null, 2)}\n`);
  const cases = await compareWithGolden(outDir, goldenDir);
  return { precision, convertSeconds, convertPeakRssBytes, towers: conv.towers, cases };
}

function printReport(r: CheckReport): void {
  const gb = (b: number) => `${(b / 1e9).toFixed(2)} GB`;
  console.log(
    `${r.precision}: converted in ${r.convertSeconds.toFixed(1)} s, peak RSS ${gb(r.convertPeakRssBytes)}`,
  );
  for (const t of r.towers)
    console.log(
      `  ${t.modality.padEnd(8)} ${t.seconds.toFixed(1)} s  ${t.nodes} nodes  ${gb(t.weightBytes)} weights  peak RSS ${gb(t.peakRssBytes)}`,
    );
  for (const c of r.cases)
    console.log(
      `  ${c.name.padEnd(14)} max|Δ| ${c.maxAbsDiff.toExponential(2)}  min cosine ${c.minCosine.toFixed(7)}`,
    );
}

async function main(argv: string[]): Promise<number> {
  const goldenDir = argv.find((a) => !a.startsWith('--'));
  if (!goldenDir) {
    console.error('usage: check.js <golden-dir> [--precision fp32|fp16|int8|q8] [--out DIR] [--json]');
    return 2;
  }
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const precision = (flag('--precision') ?? 'fp32') as Precision;
  const keep = flag('--out');
  const outDir = keep ?? (await mkdtemp(path.join(os.tmpdir(), 'bindery-check-')));
  await mkdir(outDir, { recursive: true });
  try {
    const attention = (flag('--attention') ?? 'onnx') as AttentionForm;
    const report = await check(path.resolve(goldenDir), precision, outDir, attention);
    if (argv.includes('--json')) console.log(JSON.stringify(report));
    else printReport(report);
    return 0;
  } finally {
    if (!keep) await rm(outDir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
