import type { FileInfo, Failure, RootInfo, Status } from '../../../app/api.js';
import type { AddRootRequestSchema, FileIdRequestSchema, RemoveRootRequestSchema } from '../../../app/api.js';
import { ApiError } from '../../../app/errors.js';
import { collectGarbage, segmentsOfContent } from '../catalogue/contents.js';
import {
  failures as listFailures,
  fileWithDuration,
  rootFileCounts,
  rootFileTotal,
} from '../catalogue/files.js';
import { addRoot, getRoot, listRoots, removeRoot, scanProblems, type RootRow } from '../catalogue/roots.js';
import type { Engine } from '../engine/engine.js';
import { checkLibraryFolder } from '../ingest/folders.js';
import type { Req } from './parsed.js';

export type FileCounts = Status['files'];
export const zeroCounts = (): FileCounts => ({ pending: 0, indexed: 0, failed: 0, missing: 0 });

/** The library half of AppApi (docs/architecture.md §2): its folders, its files and their failures. */
export function libraryApi(engine: Engine) {
  const { db } = engine;

  function rootInfo(r: RootRow): RootInfo {
    const counts = zeroCounts();
    for (const row of rootFileCounts(db, r.id)) counts[row.status] = row.n;
    const { total, problems, skippedTotal, skipped } = scanProblems(db, r.id);
    return {
      id: r.id,
      path: r.path,
      status: r.status,
      lastScanAt: r.last_scan_at,
      files: counts,
      unreachable: problems,
      unreachableTotal: total,
      skipped,
      skippedTotal,
    };
  }

  return {
    async listRoots(): Promise<RootInfo[]> {
      return listRoots(db).map(rootInfo);
    },

    async addRoot({ path }: Req<typeof AddRootRequestSchema>): Promise<RootInfo> {
      return rootInfo(addRoot(db, await checkLibraryFolder(path)));
    },

    /** The folder's files leave the catalogue, and their segments every pack's index. */
    async removeRoot({ id }: Req<typeof RemoveRootRequestSchema>): Promise<{ removed: number }> {
      if (!getRoot(db, id)) throw new ApiError('not_found', `no library folder with id ${id}`);
      const removed = rootFileTotal(db, id);
      db.transaction(() => {
        removeRoot(db, id);
        engine.forgetSegments(collectGarbage(db));
      })();
      return { removed };
    },

    async failures(): Promise<Failure[]> {
      return listFailures(db).map((f) => ({ fileId: f.id, path: f.path, error: f.error ?? 'unknown error' }));
    },

    async fileInfo({ fileId }: Req<typeof FileIdRequestSchema>): Promise<FileInfo> {
      const f = fileWithDuration(db, fileId);
      if (!f) throw new ApiError('not_found', `no file with id ${fileId}`);
      return {
        fileId: f.id,
        path: f.path,
        kind: f.kind,
        status: f.status,
        error: f.error,
        size: f.size,
        mtimeMs: f.mtime_ms,
        durationS: f.duration_s,
        rootId: f.root_id,
        segments: f.content_id ? segmentsOfContent(db, f.content_id) : [],
      };
    },
  };
}
