import { PgStore } from './postgres/store.js';
import { SqliteStore } from './sqlite-store.js';
import { isServerCatalogue } from '../paths.js';
import type { CatalogueStore } from './store.js';

/**
 * The catalogue a `--catalogue` value names (docs/architecture.md §13): a `postgres://` connection
 * string (TLS options included) is the shared catalogue on a server; anything else is a SQLite
 * catalogue file. Idle-connection errors of a server go to `onIdleError`, never to a crash.
 */
export async function openStore(spec: string, onIdleError?: (e: Error) => void): Promise<CatalogueStore> {
  return isServerCatalogue(spec) ? PgStore.open(spec, onIdleError) : new SqliteStore(spec);
}
