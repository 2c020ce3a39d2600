import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isLoopback } from '../../bridge/auth.js';
import { appCatalogue, packageRoot } from '../../core/paths.js';
import { engineOptions, positiveInt, type GlobalOptions } from '../context.js';

interface ServeFlags {
  host: string;
  port: string;
  token?: string;
  json?: boolean;
  watch: boolean;
}

export function registerServe(program: Command, g: () => GlobalOptions): void {
  program
    .command('serve')
    .description('serve the Bindery app and its API on this machine (open the printed URL in a browser)')
    .option(
      '--host <address>',
      'interface to listen on; anything but loopback exposes your library',
      '127.0.0.1',
    )
    .option('--port <n>', 'port (0 picks a free one)', '0')
    .option('--token <token>', 'access token (default: $BINDERY_TOKEN or a random one)')
    .option('--json', 'print {"url","pageUrl","token"} as one JSON line')
    .option('--no-watch', 'do not watch the library folders (index only when asked)')
    .action(async (o: ServeFlags) => {
      const opts = g();
      if (!isLoopback(o.host)) {
        process.stderr.write(
          `warning: listening on ${o.host}: anyone who can reach it and has the token can read your library\n`,
        );
      }
      const port = o.port === '0' ? 0 : positiveInt(o.port, '--port');
      // A postgres:// --catalogue (or $BINDERY_CATALOGUE): the app mirrors it (docs/architecture.md §13).
      const { dbPath, shared } = appCatalogue({ db: opts.db, catalogue: opts.catalogue });
      const { dbPath: _local, ...rest } = await engineOptions(opts);
      const [{ startEngineThread }, { startBridge }] = await Promise.all([
        import('../../worker/spawn-thread.js'),
        import('../../bridge/server.js'),
      ]);
      const engine = await startEngineThread({
        dbPath,
        ...rest,
        shared,
        backgroundReembed: true,
        watchLibrary: o.watch,
      });
      const rendererDir = path.join(packageRoot(), 'renderer', 'dist');
      const bridge = await startBridge({
        api: engine.api,
        media: (fileId, variant) => engine.api.resolveMedia(fileId, variant),
        host: o.host,
        port,
        token: o.token ?? process.env.BINDERY_TOKEN,
        rendererDir: existsSync(rendererDir) ? rendererDir : undefined,
      });
      if (o.json)
        console.log(JSON.stringify({ url: bridge.url, pageUrl: bridge.pageUrl, token: bridge.token }));
      else console.log(`Bindery is running: open ${bridge.pageUrl}\n(Ctrl-C to stop)`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await bridge.close();
      await engine.close();
    });
}
