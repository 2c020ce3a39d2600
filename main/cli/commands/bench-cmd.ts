import type { Command } from 'commander';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('run the benchmarks and write a JSON report to bench/results/ (its path is the last line)')
    .option('--quick', 'the fast subset (about a minute)')
    .option('--out <folder>', 'write the report here instead')
    .option('--only <parts>', 'comma-separated: vector,models,encoders,preprocess,ingest,serve,grid')
    .action(async (o: { quick?: boolean; out?: string; only?: string }) => {
      // The benchmark code is loaded only when asked for: it is not on any other command's path.
      const { runBench } = await import('../../../bench/run.js');
      const file = await runBench({ quick: Boolean(o.quick), outDir: o.out, only: o.only?.split(',') });
      console.log(file);
    });
}
