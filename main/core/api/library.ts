import type {
  AddRootRequestSchema,
  BrowseRequestSchema,
  DirListing,
  Failure,
  FileIdRequestSchema,
  FileInfo,
  LibrarySettings,
  ListDirsRequestSchema,
  RemoveRootRequestSchema,
  RootInfo,
  SetSettingsRequestSchema,
  Status,
  TimelinePage,
} from '../../../app/api.js';
import { ApiError } from '../../../app/errors.js';
import { collectGarbage, segmentsOfContent } from '../catalogue/contents.js';
import { failures as listFailures, fileDetail, rootFileCounts, rootFileTotal } from '../catalogue/files.js';
import { addRoot, getRoot, listRoots, removeRoot, scanProblems, type RootRow } from '../catalogue/roots.js';
import type { Engine } from '../engine/engine.js';
import { fileFacts, timelinePage, type TimelineRow } from '../catalogue/search-reads.js';
import { librarySettings, setLibrarySettings } from '../catalogue/settings.js';
import { checkLibraryFolder } from '../ingest/folders.js';
import { listSubfolders } from './folders.js';
import type { Req } from './parsed.js';

function timelineItem(r: TimelineRow): TimelinePage['items'][number] {
  return { ...fileFacts(r), durationS: r.duration_s };
}

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

    /** The folder picker of browser mode: one folder's subfolders (api/folders.ts). */
    async listDirs({ path }: Req<typeof ListDirsRequestSchema>): Promise<DirListing> {
      const roots = listRoots(db).map((r) => r.path);
      return listSubfolders(path, roots);
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

    async browse({ limit, after, filters }: Req<typeof BrowseRequestSchema>): Promise<TimelinePage> {
      const { rows, total } = timelinePage(db, filters, limit, after);
      const last = rows.length === limit ? rows[rows.length - 1] : undefined;
      return {
        items: rows.map(timelineItem),
        next: last ? { takenMs: last.taken_ms, fileId: last.id } : null,
        total,
      };
    },

    async settings(): Promise<LibrarySettings> {
      return librarySettings(db);
    },

    async setSettings(change: Req<typeof SetSettingsRequestSchema>): Promise<LibrarySettings> {
      return setLibrarySettings(db, change);
    },

    async fileInfo({ fileId }: Req<typeof FileIdRequestSchema>): Promise<FileInfo> {
      const f = fileDetail(db, fileId);
      if (!f) throw new ApiError('not_found', `no file with id ${fileId}`);
      return {
        fileId: f.id,
        path: f.path,
        kind: f.kind,
        status: f.status,
        error: f.error,
        size: f.size,
        mtimeMs: f.mtime_ms,
        takenMs: f.taken_ms,
        dateSource: f.taken_source,
        place: f.lat !== null && f.lon !== null ? { lat: f.lat, lon: f.lon } : null,
        offline: f.offline === 1,
        durationS: f.duration_s,
        rootId: f.root_id,
        segments: f.content_id ? segmentsOfContent(db, f.content_id) : [],
      };
    },
  };
}
