import { parseArgs } from 'node:util';
import { runIfMain } from '../models/run-if-main.js';
import { runBench } from './run.js';

/**
 * The benchmark's own entry (`npm run bench`, or `bindery bench`, which starts this script): the
 * benchmark code is never on the `bindery` command's load path (docs/architecture.md §10).
 */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' } },
  });
  const file = await runBench({
    quick: Boolean(values.quick),
    outDir: values.out,
    only: values.only?.split(','),
  });
  console.log(file);
  return 0;
}

runIfMain(import.meta.url, main);
