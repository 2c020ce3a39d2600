import type { PgStore } from '../catalogue/postgres/store.js';
import { sharedCatalogueIdentity } from '../paths.js';

/**
 * The shared catalogue an engine's catalogue mirrors (docs/architecture.md §13), connected on
 * first use: the app opens on its replica with the server away (search needs only the replica),
 * and each later use tries the server again until it answers.
 */
export class SharedLink {
  #store: Promise<PgStore> | null = null;

  private constructor(
    private readonly url: string,
    /** This machine's name in the catalogue (its mounts are its folders). */
    readonly machine: string,
    /** user@host:port/database: what a replica file is the replica of. */
    readonly identity: string,
    /** The connection string without its password, for every message. */
    readonly label: string,
    private readonly open: (url: string) => Promise<PgStore>,
  ) {}

  static async create(url: string, machine: string): Promise<SharedLink> {
    const identity = sharedCatalogueIdentity(url);
    // Loaded here: an engine on its own catalogue never loads the PostgreSQL client.
    const [{ redact }, { PgStore }] = await Promise.all([
      import('../catalogue/postgres/connect.js'),
      import('../catalogue/postgres/store.js'),
    ]);
    return new SharedLink(url, machine, identity, redact(url), (u) => PgStore.open(u));
  }

  /** The server's store, connected and migrated once; a failed connection is tried again next time. */
  connect(): Promise<PgStore> {
    this.#store ??= this.open(this.url).catch((e: unknown) => {
      this.#store = null;
      throw e;
    });
    return this.#store;
  }

  async close(): Promise<void> {
    const store = this.#store;
    this.#store = null;
    await store?.then(
      (s) => s.close(),
      () => undefined,
    );
  }
}
