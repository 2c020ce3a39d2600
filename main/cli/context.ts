import path from 'node:path';
import { defaultCataloguePath } from '../core/paths.js';
import type { EngineOptions } from '../core/engine/engine.js';
import type { AppApi } from '../../app/api.js';
import type { CoreService } from '../core/api/service.js';
import type { BackendName } from '../core/vectors/index.js';
import { INPUT_KINDS, type InputKind } from '../../app/modality.js';

const BACKENDS: readonly BackendName[] = ['quant', 'vec', 'vss'];

/** Options every subcommand accepts before its name (`bindery --db x.db search …`). */
export interface GlobalOptions {
  db?: string;
  catalogue?: string;
  pack?: string;
  backend?: string;
  ep?: string;
  batch?: string;
  threads?: string;
}

export class UsageError extends Error {}

/** A command's `<modality>` argument: one of the input kinds, or a usage error. */
export function inputKindArg(modality: string): InputKind {
  if (!(INPUT_KINDS as readonly string[]).includes(modality))
    throw new UsageError(`modality must be one of ${INPUT_KINDS.join(', ')}`);
  return modality as InputKind;
}

export function cataloguePath(g: GlobalOptions): string {
  return g.db ? path.resolve(g.db) : defaultCataloguePath();
}

/** The engine options the global flags ask for: one home for every command that opens an engine. */
export async function engineOptions(g: GlobalOptions): Promise<EngineOptions> {
  // Loaded here, not at the top: `bindery --help` and usage errors never load onnxruntime.
  const { parseProviderList } = await import('../core/encoders/providers.js');
  return {
    dbPath: cataloguePath(g),
    packDir: g.pack ? path.resolve(g.pack) : undefined,
    backend: parseBackend(g.backend),
    providers: g.ep ? parseProviderList(g.ep) : undefined,
    batchSize: g.batch ? positiveInt(g.batch, '--batch') : undefined,
    intraOpThreads: g.threads ? positiveInt(g.threads, '--threads') : undefined,
  };
}

/**
 * Opens the engine, runs `fn` with AppApi, and always closes the catalogue. Every call goes through
 * app/dispatch.ts like IPC, HTTP and the worker port do, so the CLI accepts, refuses and answers
 * exactly as they do.
 */
export async function withService<T>(
  g: GlobalOptions,
  fn: (api: AppApi, host: Pick<CoreService, 'watch'>) => Promise<T>,
): Promise<T> {
  const options = await engineOptions(g);
  const [{ Engine }, { coreService }, { viaDispatch }] = await Promise.all([
    import('../core/engine/engine.js'),
    import('../core/api/service.js'),
    import('../../app/dispatch.js'),
  ]);
  const engine = await Engine.open(options);
  try {
    const service = coreService(engine);
    return await fn(viaDispatch(service), { watch: service.watch });
  } finally {
    await engine.close();
  }
}

export function parseBackend(b: string | undefined): BackendName | undefined {
  if (b === undefined) return undefined;
  if (!(BACKENDS as readonly string[]).includes(b)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, not ${JSON.stringify(b)}`);
  }
  return b as BackendName;
}

export function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive whole number, not ${JSON.stringify(v)}`);
  return n;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
