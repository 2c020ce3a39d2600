/**
 * Just enough of Faiss's index_factory grammar to size sqlite-vss shards and to know whether an
 * index needs training. sqlite-vss stores each vss0 index as one serialised BLOB, so a shard's row
 * cap follows from how many bytes one vector costs in that BLOB.
 *
 * Choosing a factory. Measured with bench/vectors.ts (20k clustered 1024-d vectors, 2 cores, the
 * reference BLAS of Debian's libblas3; sqlite-vss always searches IVF with nprobe = 1, which
 * neither it nor the factory string can change):
 *  - 'Flat,IDMap2' (default): exact, 4 KiB per vector, no training. Shards keep every BLOB
 *    small, so library size alone never forces a trained factory. p50 ≈ 3 ms at 20k, 17 ms at 100k.
 *  - 'SQfp16,IDMap2': 2× smaller, recall@10 1.0, no training (2.2 s build, p50 2.7 ms).
 *  - 'SQ8,IDMap2': 4× smaller, recall@10 0.97, trains min/max ranges (2.1 s build, p50 4.6 ms).
 *  - 'IVF256,Flat': recall@10 0.998 on clustered data, p50 0.1 ms, but training k-means made the
 *    build 45 s. For very large libraries rebuilt rarely, where a full scan is too slow.
 *  - 'PQ64,IDMap2': 64 B per vector (20k in 4.9 MB, 1M ≈ 72 MB), recall@10 only 0.62, 87 s build
 *    (training). 'IVF4096,PQ64' (the design's large-library option) adds the nprobe = 1 loss and
 *    needs ≥ 4096 training vectors (Faiss wants 160k); only when RAM, not recall, is the limit.
 * Trained factories train each new shard on the add() batch that opens it, so they belong to full
 * rebuilds (one add() of everything), not to incremental ingest.
 */

export interface FactorySpec {
  factory: string;
  dim: number;
  /** Bytes one vector adds to the serialised index (codes plus its 8-byte id). */
  bytesPerVector: number;
  /** Bytes independent of the row count (centroids, codebooks). */
  fixedBytes: number;
  /** Whether a new index must be trained before rows can be inserted. */
  trained: boolean;
  /** Fewest training vectors Faiss accepts (it errors below the number of centroids). */
  minTrainingRows: number;
  /** Training vectors passed: 64 per centroid (Faiss asks for ≥ 39 and samples down to 256). */
  maxTrainingRows: number;
}

interface Parsed {
  ivfLists: number;
  idMap: boolean;
  code?: { bytes: number; centroids: number; trained: boolean; fixed: number };
}

const SUPPORTED = 'IDMap, IDMap2, IVF<n>, Flat, PQ<m>[x<bits>], SQ4, SQ6, SQ8, SQfp16';

/** Training vectors travel as one SQLite value, so cap them well under SQLite's 1e9-byte limit. */
const MAX_TRAINING_BYTES = 256 * 2 ** 20;

function codeOf(part: string, dim: number): Parsed['code'] {
  if (part === 'Flat') return { bytes: 4 * dim, centroids: 0, trained: false, fixed: 0 };
  const pq = /^PQ(\d+)(?:x(\d+))?$/.exec(part);
  if (pq) {
    const m = Number(pq[1]);
    const bits = Number(pq[2] ?? 8);
    if (m < 1 || dim % m !== 0) throw new Error(`factory ${part}: ${m} must divide the dimension ${dim}`);
    return {
      bytes: Math.ceil((m * bits) / 8),
      centroids: 2 ** bits,
      trained: true,
      fixed: 2 ** bits * dim * 4,
    };
  }
  const sq = /^SQ(4|6|8|fp16)$/.exec(part);
  if (sq) {
    const bits = sq[1] === 'fp16' ? 16 : Number(sq[1]);
    return { bytes: Math.ceil((dim * bits) / 8), centroids: 2, trained: bits !== 16, fixed: 8 * dim };
  }
  return undefined;
}

function parseParts(factory: string, dim: number): Parsed {
  const parsed: Parsed = { ivfLists: 0, idMap: false };
  for (const part of factory.split(',').map((p) => p.trim())) {
    const ivf = /^IVF(\d+)$/.exec(part);
    const code = codeOf(part, dim);
    if (part === 'IDMap' || part === 'IDMap2') parsed.idMap = true;
    else if (ivf && !parsed.code && !parsed.ivfLists) parsed.ivfLists = Number(ivf[1]);
    else if (code && !parsed.code) parsed.code = code;
    else
      throw new Error(
        `unsupported or misplaced factory component '${part}' in '${factory}' (supported: ${SUPPORTED})`,
      );
  }
  return parsed;
}

export function parseFactory(factory: string, dim: number): FactorySpec {
  if (!/^[A-Za-z0-9_,]+$/.test(factory)) throw new Error(`invalid Faiss factory string '${factory}'`);
  const p = parseParts(factory, dim);
  if (!p.code) throw new Error(`factory '${factory}' has no storage component (Flat, PQ<m> or SQ<n>)`);
  // Only IVF stores ids itself; every other index needs an IDMap for sqlite-vss's add_with_ids.
  if (!p.ivfLists && !p.idMap)
    throw new Error(`factory '${factory}' needs IDMap2 (e.g. '${factory},IDMap2')`);
  const centroids = Math.max(p.ivfLists, p.code.centroids);
  const trained = p.ivfLists > 0 || p.code.trained;
  return {
    factory,
    dim,
    bytesPerVector: p.code.bytes + 8,
    fixedBytes: p.code.fixed + p.ivfLists * dim * 4,
    trained,
    minTrainingRows: trained ? Math.max(centroids, 1) : 0,
    maxTrainingRows: trained ? Math.min(64 * centroids, Math.floor(MAX_TRAINING_BYTES / (4 * dim))) : 0,
  };
}

/**
 * SQLite's default SQLITE_MAX_LENGTH is 1e9 bytes per BLOB; a shard stays under half of it
 * because a commit briefly holds three copies of it (the live index, Faiss's serialisation and
 * SQLite's copy of the bound BLOB).
 */
export const SAFE_BLOB_BYTES = 500_000_000;

/**
 * Most a shard should hold for writes to stay cheap: every commit rewrites each touched shard's
 * whole BLOB (~3 ms per MB here), while searching more, smaller shards costs almost nothing for a
 * scan. Building 100k 1024-d vectors (quick bench, 2 cores) with 8 / 16 / 32 / 64 MiB shards took
 * 9.9 / 12.3 / 15.3 / 28.2 s, with the same search p50 of 15–17 ms. 16 MiB (≈ 4k rows) keeps an
 * ingest commit near 50–100 ms and 1M vectors at ~250 shards.
 */
export const TARGET_SHARD_BYTES = 16 * 2 ** 20;

/**
 * Trained factories get big shards instead: each new shard is trained from scratch (sqlite-vss
 * cannot share a trained quantiser), which costs far more than rewriting a compact BLOB. With the
 * 16 MiB target, IVF256,Flat over 20k vectors made 5 shards and took 225 s to build.
 */
export const TRAINED_SHARD_BYTES = 256 * 2 ** 20;

/** Rows per shard: the write-cost target, never above what one BLOB can safely hold. */
export function defaultShardRows(spec: FactorySpec): number {
  const safe = Math.floor((SAFE_BLOB_BYTES - spec.fixedBytes) / spec.bytesPerVector);
  if (safe < 1) throw new Error(`factory '${spec.factory}' at ${spec.dim}-d does not fit one SQLite BLOB`);
  const target = spec.trained ? TRAINED_SHARD_BYTES : TARGET_SHARD_BYTES;
  return Math.max(1, Math.min(safe, Math.floor(target / spec.bytesPerVector)));
}
