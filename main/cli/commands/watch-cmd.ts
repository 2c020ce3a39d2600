import type { Command } from 'commander';
import { printJson, withService, type GlobalOptions } from '../context.js';
import { summaryLine } from './index-cmd.js';

interface WatchFlags {
  json?: boolean;
}

/**
 * `bindery watch`: the watcher serve and the app run, headless (a NAS, a server), until Ctrl-C or
 * SIGTERM. Each indexing run it triggers prints one line (or one JSON object with --json).
 */
export function registerWatch(program: Command, g: () => GlobalOptions): void {
  program
    .command('watch')
    .description('watch the library folders and index every change until stopped (Ctrl-C)')
    .option('--json', 'one JSON line per indexing run: {"summary":{…}}, and {"watching":[…]} at start')
    .action(async (o: WatchFlags) => {
      await withService(g(), async (api, host) => {
        api.onIndexProgress((p) => {
          if (p.phase !== 'done') return;
          if (o.json) printJson({ summary: p.summary });
          else console.log(summaryLine(p.summary));
        });
        const stop = await host.watch();
        const roots = (await api.listRoots()).map((r) => ({ path: r.path, status: r.status }));
        if (o.json) printJson({ watching: roots });
        else
          console.log(`watching ${roots.map((r) => `${r.path} (${r.status})`).join(', ')} (Ctrl-C to stop)`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await stop();
        await api.cancelIndex();
      });
    });
}
