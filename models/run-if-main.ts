import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Runs a model tool's `main(argv)` when its module is the script node was started with (and not
 * when a test imports it), exiting with main's code or printing the error's message and exiting 1.
 */
export function runIfMain(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  const script = process.argv[1];
  if (!script || moduleUrl !== pathToFileURL(path.resolve(script)).href) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
