import { writeFileSync } from 'node:fs';
import type { BackendName } from '../main/core/vectors/index.js';
import { benchVectors } from './vectors.js';

/**
 * The vector benchmark alone, with its knobs (`bindery bench` runs it with the defaults):
 *   node dist/bench/vectors-cli.js [--quick] [--sizes 10000,100000] [--backends quant,vec]
 *     [--vss-factory F] [--vss-large-factory F] [--out report.json]
 */

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const list = (s?: string) => s?.split(',').filter(Boolean);

const report = await benchVectors({
  quick: process.argv.includes('--quick'),
  sizes: list(arg('sizes'))?.map(Number),
  backends: list(arg('backends')) as BackendName[] | undefined,
  vssFactory: arg('vss-factory'),
  vssLargeFactory: arg('vss-large-factory'),
});
const json = `${JSON.stringify(report, null, 2)}\n`;
const out = arg('out');
if (out) writeFileSync(out, json);
process.stdout.write(json);
