import type { Command } from 'commander';
import { MACHINE_NAME, machineName as defaultMachine } from '../../core/paths.js';
import path from 'node:path';
import type { CatalogueStore, WorkerEvent } from '../../core/api/shared.js';
import { INPUT_KINDS } from '../../../app/modality.js';
import {
  engineOptions,
  inputKindArg,
  positiveInt,
  printJson,
  UsageError,
  withService,
  type GlobalOptions,
} from '../context.js';

/**
 * A shared catalogue (docs/architecture.md §13, docs/shared-catalogue.md): `bindery worker` indexes
 * into it from any number of machines; `bindery shared …` adds and mounts roots, reports the queue
 * and searches it. The catalogue is `--catalogue` or $BINDERY_CATALOGUE: a postgres:// connection
 * string (TLS options included) or a SQLite file; the password is never printed.
 */
export function registerShared(program: Command, g: () => GlobalOptions): void {
  registerWorker(program, g);
  registerRoots(
    program.command('shared').description('roots, mounts, queue and search of a shared catalogue'),
    g,
  );
}

function registerWorker(program: Command, g: () => GlobalOptions): void {
  program
    .command('worker')
    .description(
      'index the shared catalogue from this machine: scan its mounted roots, then encode leased jobs until none is left',
    )
    .option('--machine <name>', 'this machine in the catalogue (default $BINDERY_MACHINE or the host name)')
    .option('--no-scan', 'only encode queued jobs')
    .option('--lease-ms <n>', 'how long a job stays leased without a heartbeat (default 60000)')
    .option('--json', 'one JSON line per event')
    .action(async (o: { machine?: string; scan: boolean; leaseMs?: string; json?: boolean }) => {
      const machine = machineName(o.machine);
      await withStore(g(), async (store) => {
        const [{ Engine }, { runSharedWorker, workerRef }] = await Promise.all([
          import('../../core/engine/engine.js'),
          import('../../core/api/shared.js'),
        ]);
        const engine = await Engine.open(await engineOptions(g()));
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          const { pack, runtime } = engine.ingestPorts().writer;
          const summary = await runSharedWorker({
            store,
            pack,
            runtime,
            worker: workerRef(machine),
            scan: o.scan,
            leaseMs: o.leaseMs ? positiveInt(o.leaseMs, '--lease-ms') : undefined,
            batch: g().batch ? positiveInt(g().batch!, '--batch') : undefined,
            signal: abort.signal,
            onEvent: (e) => {
              if (o.json) printJson({ event: e });
              // A lost or returning server is said on stderr in plain words, JSON or not.
              if (!o.json || e.type === 'offline' || e.type === 'online') humanEvent(e, store.label);
            },
          });
          if (o.json) printJson({ summary });
          else
            console.log(
              `indexed ${summary.indexed} · reused ${summary.reused} · failed ${summary.failed} · taken over by others ${summary.lost}`,
            );
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          await engine.close();
        }
      });
    });
}

function registerRoots(shared: Command, g: () => GlobalOptions): void {
  shared
    .command('add-root')
    .description(
      'add a library folder to the shared catalogue under a name, mounted on this machine at <folder>',
    )
    .argument('<name>', 'the name every machine knows it by, e.g. photos')
    .argument('<folder>', 'where this machine finds it')
    .option('--machine <name>', 'this machine (default $BINDERY_MACHINE or the host name)')
    .action((name: string, folder: string, o: { machine?: string }) => {
      const [root, machine, at] = [rootName(name), machineName(o.machine), path.resolve(folder)];
      return withStore(g(), async (store) => {
        const added = await store.addRoot(root, { machine, folder: at });
        console.log(`root ${added.name} (${added.key}) mounted at ${at} on ${machine}`);
      });
    });
  shared
    .command('mount')
    .description(
      'tell the shared catalogue where this machine finds a root (the same share at /mnt/photos and Z:\\photos)',
    )
    .argument('<name>', 'the root')
    .argument('<folder>', 'where this machine finds it')
    .option('--machine <name>', 'this machine (default $BINDERY_MACHINE or the host name)')
    .action((name: string, folder: string, o: { machine?: string }) => {
      const [machine, at] = [machineName(o.machine), path.resolve(folder)];
      return withStore(g(), async (store) => {
        const root = (await store.listRoots()).find((r) => r.name === name);
        if (!root)
          throw new UsageError(
            `no root named ${JSON.stringify(name)}; add it with \`bindery shared add-root\``,
          );
        await store.setMount(root.id, machine, at);
        console.log(`root ${root.name} mounted at ${at} on ${machine}`);
      });
    });

  shared
    .command('status')
    .description('files by state and the job queue of the shared catalogue')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      withStore(g(), async (store) => {
        const counts = await store.counts();
        if (o.json) return printJson({ catalogue: store.label, ...counts });
        console.log(
          `${store.label}\nindexed ${counts.indexed} · pending ${counts.pending} · failed ${counts.failed} · missing ${counts.missing} · jobs ${counts.queued} (${counts.leased} leased)`,
        );
      }),
    );
  registerSearchShared(shared, g);
}

function registerSearchShared(shared: Command, g: () => GlobalOptions): void {
  shared
    .command('search')
    .description("search the shared catalogue with one input, embedded by this machine's pack")
    .argument('<modality>', INPUT_KINDS.join('|'))
    .argument('<input>', 'a file, or the text itself for text')
    .option('--k <n>', 'number of results (default 20)')
    .option(
      '--machine <name>',
      'this machine, for its mount points (default $BINDERY_MACHINE or the host name)',
    )
    .option('--json', 'print JSON')
    .action((modality: string, input: string, o: { k?: string; machine?: string; json?: boolean }) => {
      const kind = inputKindArg(modality);
      const req =
        kind === 'text' ? { modality: kind, text: input } : { modality: kind, path: path.resolve(input) };
      const k = o.k ? positiveInt(o.k, '--k') : 20;
      return withStore(g(), async (store) => {
        const e = await withService(g(), (s) => s.embed(req));
        const hits = await store.search(e.pack, Float32Array.from(e.vector), k);
        const folders = new Map(
          (await store.mounts(machineName(o.machine))).map((m) => [m.rootId, m.folder]),
        );
        const shown = hits.map((h) => ({
          ...h,
          path: folders.has(h.rootId) ? path.join(folders.get(h.rootId)!, h.rel) : null,
        }));
        if (o.json) return printJson({ pack: e.pack, hits: shown });
        for (const h of shown)
          console.log(`${h.score.toFixed(4)}  ${h.path ?? `(root ${h.rootId} not mounted here) ${h.rel}`}`);
      });
    });
}

function rootName(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/^[^\u0000-\u001f]{1,128}$/.test(name))
    throw new UsageError('a root name is 1 to 128 printable characters');
  return name;
}

function machineName(flag: string | undefined): string {
  const name = flag ?? defaultMachine();
  if (!MACHINE_NAME.test(name))
    throw new UsageError(`--machine must be letters, digits, . _ or -, not ${JSON.stringify(name)}`);
  return name;
}

/** Opens the catalogue `--catalogue` names (or $BINDERY_CATALOGUE) and always closes it. */
async function withStore<T>(g: GlobalOptions, fn: (store: CatalogueStore) => Promise<T>): Promise<T> {
  const spec = g.catalogue ?? process.env.BINDERY_CATALOGUE;
  if (!spec)
    throw new UsageError('name the shared catalogue with --catalogue postgres://… or $BINDERY_CATALOGUE');
  const { openStore } = await import('../../core/api/shared.js');
  const store = await openStore(spec, (e) =>
    process.stderr.write(`bindery: catalogue connection lost (${e.message})\n`),
  );
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function humanEvent(e: WorkerEvent, label: string): void {
  if (e.type === 'offline')
    process.stderr.write(`bindery: the catalogue at ${label} is unreachable (${e.error}); retrying…\n`);
  else if (e.type === 'online') process.stderr.write(`bindery: the catalogue is back; going on\n`);
  else if (e.type === 'scanned')
    process.stderr.write(
      `scanned root ${e.root}: ${e.new} new · ${e.changed} changed · ${e.unchanged} unchanged · ${e.missing} missing\n`,
    );
  else if (e.type === 'lost') process.stderr.write(`${e.rel}: another worker took it over (lease expired)\n`);
}
