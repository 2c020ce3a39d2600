import { Command, CommanderError } from 'commander';
import { registerBench } from './commands/bench-cmd.js';
import { registerEmbed } from './commands/embed-cmd.js';
import { registerIndex } from './commands/index-cmd.js';
import { registerWatch } from './commands/watch-cmd.js';
import { registerLibrary } from './commands/library.js';
import { registerModels } from './commands/models-cmd.js';
import { registerPreprocess } from './commands/preprocess-cmd.js';
import { registerSearch } from './commands/search-cmd.js';
import { registerServe } from './commands/serve-cmd.js';
import { registerShared } from './commands/shared-cmd.js';
import { registerStatus } from './commands/status-cmd.js';
import { UsageError, type GlobalOptions } from './context.js';

/** Builds the `bindery` program. Global options go before the subcommand. */
export function buildProgram(): Command {
  const program = new Command('bindery')
    .description(
      'Search your photos, recordings and videos by words, images and sounds, offline (ImageBind).',
    )
    .option('--db <file>', 'catalogue file (default: $BINDERY_DB or the user-data folder)')
    .option(
      '--catalogue <url-or-file>',
      'the shared catalogue of `worker`, `shared` and `serve`: postgres://… (TLS options pass through) or a SQLite file (default $BINDERY_CATALOGUE)',
    )
    .option('--pack <folder>', 'use this model pack folder (default: the active pack, else the test pack)')
    .option(
      '--backend <name>',
      'vector index backend: quant (default; quantized scan, sketch re-rank, exact top), vec (sqlite-vec) or vss (sqlite-vss)',
    )
    .option('--ep <providers>', 'execution providers in order, e.g. cuda,cpu (default per platform)')
    .option('--batch <n>', 'encoder batch size')
    .option('--threads <n>', 'ONNX intra-op threads')
    .showHelpAfterError()
    .exitOverride();
  const g = () => program.opts<GlobalOptions>();
  registerLibrary(program, g);
  registerIndex(program, g);
  registerWatch(program, g);
  registerSearch(program, g);
  registerStatus(program, g);
  registerModels(program, g);
  registerPreprocess(program, g);
  registerEmbed(program, g);
  registerServe(program, g);
  registerShared(program, g);
  registerBench(program);
  for (const c of program.commands) c.exitOverride();
  program.hook('preAction', (_root, action) => refuseCatalogueFlag(g(), action));
  return program;
}

/**
 * `--catalogue` names a shared catalogue, which only `worker`, `shared …` and `serve` (the app on
 * its replica) use (docs/architecture.md §13); on any other command it would be silently ignored,
 * so it is refused.
 */
function refuseCatalogueFlag(g: GlobalOptions, action: Command): void {
  const top = action.parent?.parent ? action.parent.name() : action.name();
  if (g.catalogue && !['worker', 'shared', 'serve'].includes(top))
    throw new UsageError(
      `--catalogue is for \`bindery worker\`, \`bindery shared\` and \`bindery serve\`; \`bindery ${top}\` uses the local catalogue (--db)`,
    );
}

/** Runs the CLI and returns the exit code; errors become one line on stderr, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    process.stderr.write(`bindery: ${msg}\n`);
    if (process.env.BINDERY_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
