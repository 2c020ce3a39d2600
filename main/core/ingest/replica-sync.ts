import path from 'node:path';
import { collectOrphans } from '../catalogue/contents.js';
import {
  applyContents,
  applyFiles,
  applyRoots,
  contentsLacking,
  replicaWatermark,
  setReplicaWatermark,
  type MountedRoot,
} from '../catalogue/replica.js';
import { getRoot } from '../catalogue/roots.js';
import type { CatalogueStore, ReplicaSource } from '../catalogue/store.js';
import type { IngestPorts } from './ports.js';
import { reachableMounts } from './shared-worker.js';

/**
 * Brings the app's replica of a shared catalogue up to date (docs/architecture.md §13): the roots
 * this machine mounts, then each root's file rows changed since its last pull, with the contents,
 * segments and serving-pack vectors behind them, a page per transaction. The vector index takes the
 * new vectors in the same transaction, so the replica and its index never disagree.
 */
export interface ReplicaSummary {
  roots: number;
  files: number;
  vectors: number;
}

const PAGE = 500;

export async function syncReplica(
  ports: IngestPorts,
  source: CatalogueStore & ReplicaSource,
  machine: string,
): Promise<ReplicaSummary> {
  const mounted = await mountedRoots(source, machine);
  const { db } = ports;
  db.transaction(() => {
    if (applyRoots(db, mounted)) ports.forgetSegments(collectOrphans(db));
  })();
  const summary: ReplicaSummary = { roots: mounted.length, files: 0, vectors: 0 };
  for (const root of mounted) {
    // A root that lost its folder to another root mounted at the same place here is not shown.
    if (!getRoot(db, root.id)) continue;
    const pulled = await pullRoot(ports, source, root);
    summary.files += pulled.files;
    summary.vectors += pulled.vectors;
  }
  if (summary.files > 0) db.transaction(() => ports.forgetSegments(collectOrphans(db)))();
  return summary;
}

async function mountedRoots(source: CatalogueStore, machine: string): Promise<MountedRoot[]> {
  const [roots, mounts] = await Promise.all([source.listRoots(), source.mounts(machine)]);
  const reachable = await reachableMounts(mounts);
  const byId = new Map(roots.map((r) => [r.id, r]));
  // A root added between the two reads has no row yet: it comes with the next pull.
  return mounts.flatMap((m) => {
    const root = byId.get(m.rootId);
    return root ? [{ ...root, folder: path.resolve(m.folder), reachable: reachable.has(m.rootId) }] : [];
  });
}

/** Pages through a root's changes; its watermark moves only once every page is in. */
async function pullRoot(
  ports: IngestPorts,
  source: ReplicaSource,
  root: MountedRoot,
): Promise<{ files: number; vectors: number }> {
  const { db } = ports;
  const packId = ports.writer.id;
  const since = replicaWatermark(db, packId, root.id);
  let next: string | undefined;
  let after = 0;
  const out = { files: 0, vectors: 0 };
  for (;;) {
    const page = await source.changedFiles(root.id, since, after, PAGE);
    next ??= page.watermark;
    if (page.files.length === 0) break;
    const referenced = page.files.flatMap((f) => (f.contentId === null ? [] : [f.contentId]));
    const remote = await source.contents(packId, contentsLacking(db, packId, referenced));
    db.transaction(() => {
      const added = applyContents(db, packId, remote);
      applyFiles(db, root.id, root.folder, page.files);
      ports.writer.index.add(added);
      out.vectors += added.length;
    })();
    out.files += page.files.length;
    after = page.files[page.files.length - 1].id;
    if (page.files.length < PAGE) break;
  }
  setReplicaWatermark(db, packId, root.id, next);
  return out;
}
