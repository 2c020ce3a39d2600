import type Database from 'better-sqlite3';

export type BackendName = 'vss' | 'vec' | 'quant';

/** One search result. `score` is the cosine similarity (vectors are unit length): higher is better. */
export interface VectorHit {
  id: number;
  score: number;
}

export interface SearchOptions {
  /** How many hits to return (a non-negative integer; 0 returns nothing). */
  k: number;
  /** Post-filter: only ids for which this returns true are returned. */
  allow?: (id: number) => boolean;
  /**
   * Only these ids may be returned (together with `allow`, when both are given). Unlike `allow`,
   * a set can be enumerated: when it is small (under 5% of the index) backends search just its
   * members instead of filtering a search of everything.
   */
  allowIds?: ReadonlySet<number>;
}

/**
 * Reads float vectors by id for the quantized backend's exact scores (its top k and near-ties,
 * and building sketches): one entry per id, in order, undefined for an id it does not know
 * (that candidate is then skipped).
 */
export type FloatLoader = (ids: readonly number[]) => ReadonlyArray<Float32Array | undefined>;

export interface VectorIndexStats {
  backend: BackendName;
  count: number;
  dim: number;
  /** sqlite-vss keeps several vss0 tables (each one Faiss BLOB); sqlite-vec always reports 1. */
  shards: number;
  factory?: string;
  /** With `stats({ bytes: true })`: bytes the index's tables take in the catalogue file (dbstat), when SQLite can say. */
  bytes?: number;
  /** 'quant' only: bytes it keeps in process memory (codes, ids, factors, id map, scratch). */
  memoryBytes?: number;
}

/**
 * A derived, rebuildable nearest-neighbour index over the catalogue's segment embeddings, stored
 * in tables of the catalogue itself. Ids are segment ids (non-negative safe integers).
 */
export interface VectorIndex {
  readonly backend: BackendName;
  readonly dim: number;
  readonly name: string;
  /** Upserts by id (the last of duplicate ids wins); batches internally. */
  add(items: ReadonlyArray<{ id: number; vector: Float32Array }>): void;
  remove(ids: readonly number[]): void;
  /** Hits sorted by score, highest first; equal scores in id order. */
  search(query: Float32Array, opts: SearchOptions): VectorHit[];
  count(): number;
  /** Counts and layout; `bytes` walks dbstat (slow at a million rows), so only when asked. */
  stats(opts?: { bytes?: boolean }): VectorIndexStats;
  /** Removes the index's tables; the object is unusable afterwards. */
  drop(): void;
}

export interface OpenVectorIndexOptions {
  backend: BackendName;
  /** [a-z0-9_]+, e.g. the pack id sanitised; tables are named `vx_<name>_…`. */
  name: string;
  dim: number;
  /** sqlite-vss only: a Faiss index factory string, default 'Flat,IDMap2' (see faiss-factory.ts). */
  factory?: string;
  /** sqlite-vss only: rows per vss0 shard; default computed from dim and factory (tests make it tiny). */
  shardRows?: number;
  /**
   * 'quant' only: where exact scores read float vectors. Without it the index keeps its own copy
   * in `vx_<name>_floats`; with it (the engine passes the catalogue's embeddings, see
   * embeddingFloats in floats.ts) it stores codes only. Part of the index's identity.
   */
  floats?: FloatLoader;
  /** 'quant' only: candidates re-ranked (by sketch) per search (default: see quant/backend.ts). */
  rerank?: number;
  /** 'quant' only: seed of the random rotation (default DEFAULT_SEED); part of the index's identity. */
  seed?: number;
}

export type Db = Database.Database;
