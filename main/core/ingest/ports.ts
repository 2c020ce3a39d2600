import type { Db } from '../catalogue/open.js';
import type { LoadedPack } from '../packs/pack.js';
import type { EncoderRuntime } from '../encoders/runtime.js';
import type { VectorIndex } from '../vectors/index.js';

/** The pack new content is embedded with: what decode, encode and write need of it. */
export interface WriterPack {
  readonly id: string;
  readonly pack: LoadedPack;
  readonly runtime: EncoderRuntime;
  readonly index: VectorIndex;
}

/**
 * All that ingest may reach (docs/architecture.md §7), never the whole engine: the catalogue, the
 * writer pack, and two signals back. Which pack serves search, and when it changes, is the
 * engine's decision: ingest only says that the queue ran dry (`caughtUp`), like an event.
 */
export interface IngestPorts {
  readonly db: Db;
  /** Read at each use: the user may choose another pack between batches. */
  readonly writer: WriterPack;
  /** Segments a garbage pass deleted from the catalogue leave every index. */
  forgetSegments(ids: readonly number[]): void;
  /** The queue drained without a cancel: the engine may now promote the writer to serve. */
  caughtUp(): void;
}
