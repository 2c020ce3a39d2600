import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../core/paths.js';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('run the benchmarks and write a JSON report to bench/results/ (its path is the last line)')
    .option('--quick', 'the fast subset (about a minute)')
    .option('--out <folder>', 'write the report here instead')
    .option(
      '--only <parts>',
      'comma-separated: vector,pgvector,models,encoders,preprocess,ingest,serve,grid,results,watch',
    )
    .action(async (o: { quick?: boolean; out?: string; only?: string }) => {
      // A process of its own: the benchmark code is not on the CLI's load path (nor its layer's).
      const args = [path.join(packageRoot(), 'dist', 'bench', 'cli.js')];
      if (o.quick) args.push('--quick');
      if (o.out) args.push('--out', o.out);
      if (o.only) args.push('--only', o.only);
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, args, { stdio: 'inherit' });
        child.once('error', reject);
        child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
      });
      if (code !== 0) throw new Error(`the benchmark exited with code ${code}`);
    });
}
