import watcher, { type AsyncSubscription, type Event } from '@parcel/watcher';
import { lstat, readdir, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { markMissingAt, recordSeen } from '../catalogue/files.js';
import type { Db } from '../catalogue/open.js';
import { listRoots, setRootStatus, type RootRow } from '../catalogue/roots.js';
import { librarySettings } from '../catalogue/settings.js';
import { passedOver, walk, type WalkReport } from './scan.js';

/**
 * Keeps the catalogue true by itself (docs/architecture.md §7, "Watching"): library folders are
 * watched with @parcel/watcher (inotify, FSEvents, ReadDirectoryChangesW; measured against
 * chokidar in bench/watch.ts), and every change reaches the same pipeline a manual index runs.
 *
 * - A new or changed file is recorded once its size and mtime have settled (a copy in progress is
 *   not read half-written); a new folder (moved in) is walked.
 * - A deleted file or folder is marked missing at once, so it leaves results now; the garbage pass
 *   keeps its content for a grace period, so a move finds it by content and never re-embeds.
 * - A folder that disappears (an unplugged drive, an unmounted share, a renamed root) goes offline:
 *   nothing is marked missing, its files stay searchable, and a health check every few seconds
 *   brings it back online with a rescan (unchanged files are recognised by size and mtime).
 * - Network filesystems deliver no events for changes made by other machines, so they are also
 *   rescanned every `pollMs`.
 */

export interface WatchOptions {
  /** A file is recorded once its size and mtime have not changed for this long (default 1000 ms). */
  settleMs?: number;
  /** How often every root is checked for going offline or coming back (default 3000 ms). */
  healthMs?: number;
  /** How often roots on network filesystems are rescanned (default 5 minutes). */
  pollMs?: number;
  /** How long missing files keep their content before the garbage pass (default 10 minutes). */
  missingGraceMs?: number;
}

/** What the watcher asks of indexing: one run at a time is indexing's own rule. */
export type RunIndex = (opts: {
  skipScan?: boolean;
  roots?: readonly number[];
  missingGraceMs: number;
}) => Promise<unknown>;

interface Watched {
  root: RootRow;
  subscription: AsyncSubscription;
  network: boolean;
  polledAt: number;
}

interface Settling {
  rootId: number;
  size: number;
  mtimeMs: number;
  since: number;
}

/** Filesystem magic numbers (statfs f_type) of network mounts: NFS, SMB/CIFS, SMB2, AFS, FUSE (sshfs, rclone). */
/** How often a watched root that a scan found offline is scanned again. */
const RECHECK_MS = 30_000;

const NETWORK_FS = new Set([0x6969, 0xff534d42, 0xfe534d42, 0x517b, 0x5346414f, 0x65735546]);

export class LibraryWatcher {
  private readonly watched = new Map<number, Watched>();
  private readonly settling = new Map<string, Settling>();
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<void> | null = null;
  private again = false;
  private pendingRoots: number[] = [];
  private stopped = false;
  private readonly opts: Required<WatchOptions>;

  constructor(
    private readonly db: Db,
    private readonly runIndex: RunIndex,
    opts: WatchOptions = {},
  ) {
    this.opts = { settleMs: 1000, healthMs: 3000, pollMs: 300_000, missingGraceMs: 600_000, ...opts };
  }

  /** Subscribes to every reachable root, then keeps checking them. */
  async start(): Promise<void> {
    await this.checkRoots();
    // A tick is skipped while the previous one still runs (a slow mount, a big settle).
    const every = (ms: number, fn: () => Promise<void>) => {
      let busy = false;
      const t = setInterval(() => {
        if (busy) return;
        busy = true;
        void fn()
          .catch(() => undefined)
          .finally(() => (busy = false));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.healthMs, () => this.checkRoots());
    every(Math.max(100, this.opts.settleMs / 2), () => this.settle());
  }

  /**
   * Stops watching. A run it started goes on until the caller cancels indexing (hosts do, right
   * after), so stopping never waits for a library's worth of embedding.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    this.timers = [];
    await Promise.all(
      [...this.watched.values()].map((w) => w.subscription.unsubscribe().catch(() => undefined)),
    );
    this.watched.clear();
  }

  /** Roots added, removed, unplugged or back: subscriptions follow the catalogue and the disks. */
  private async checkRoots(): Promise<void> {
    const roots = listRoots(this.db);
    for (const [id, w] of this.watched) if (!roots.some((r) => r.id === id)) await this.unwatch(w, null);
    for (const root of roots) {
      const online = await isFolder(root.path);
      const w = this.watched.get(root.id);
      if (w && !online) await this.unwatch(w, 'offline');
      else if (!w && online) await this.watch(root);
      else if (!w && !online && root.status !== 'offline') setRootStatus(this.db, root.id, 'offline');
      else if (w && this.dueForRescan(w, root)) {
        w.polledAt = Date.now();
        this.kick([root.id]);
      }
    }
  }

  /**
   * A network mount every pollMs (shares report no other machine's changes); a watched root a
   * scan found offline (an empty mount point, a listing error) every RECHECK_MS: the scan decides.
   */
  private dueForRescan(w: Watched, root: RootRow): boolean {
    const since = Date.now() - w.polledAt;
    return (w.network && since > this.opts.pollMs) || (root.status === 'offline' && since > RECHECK_MS);
  }

  private async watch(root: RootRow): Promise<void> {
    if (this.stopped) return;
    let subscription: AsyncSubscription;
    try {
      subscription = await watcher.subscribe(root.path, (err, events) => {
        if (!err) void this.onEvents(root, events).catch(() => undefined);
      });
    } catch {
      return; // Not watchable now (permissions, a mount in flux): the next health check tries again.
    }
    if (this.stopped || this.watched.has(root.id)) {
      await subscription.unsubscribe().catch(() => undefined);
      return;
    }
    const network = await isNetworkFs(root.path);
    this.watched.set(root.id, { root, subscription, network, polledAt: Date.now() });
    // Whatever changed while nobody watched (the app was closed, the drive was away) is found by a scan.
    if (root.status === 'offline') setRootStatus(this.db, root.id, 'online');
    this.kick([root.id]);
  }

  private async unwatch(w: Watched, status: 'offline' | null): Promise<void> {
    this.watched.delete(w.root.id);
    await w.subscription.unsubscribe().catch(() => undefined);
    if (!status) return;
    setRootStatus(this.db, w.root.id, status);
    // A run with nothing to embed still ends with a progress event, which tells every window that
    // the library changed (its tiles are now offline).
    this.kick();
  }

  private async onEvents(root: RootRow, events: Event[]): Promise<void> {
    const ignoreJunk = librarySettings(this.db).ignoreJunk;
    const deletes: string[] = [];
    for (const e of events) {
      if (passesOver(root.path, e.path, ignoreJunk)) continue;
      if (e.type === 'delete') {
        this.settling.delete(e.path);
        deletes.push(e.path);
      } else this.settling.set(e.path, { rootId: root.id, size: -1, mtimeMs: -1, since: Date.now() });
    }
    if (deletes.length === 0) return;
    // A root that went away, or is now an empty mount point, takes nothing with it: it is offline.
    if (!(await isFolder(root.path)) || (await isEmptyFolder(root.path))) {
      const w = this.watched.get(root.id);
      return w ? this.unwatch(w, 'offline') : undefined;
    }
    const marked = this.db.transaction(() => deletes.reduce((n, p) => n + markMissingAt(this.db, p), 0))();
    if (marked > 0) this.kick();
  }

  /** Records the files whose size and mtime held still for settleMs; walks folders that arrived. */
  private async settle(): Promise<void> {
    const now = Date.now();
    const ready: [string, Settling][] = [];
    for (const [file, s] of this.settling) {
      const st = await lstat(file).catch(() => null);
      if (!st || st.isSymbolicLink()) {
        this.settling.delete(file);
      } else if (st.isDirectory()) {
        this.settling.delete(file);
        ready.push([file, s]);
      } else if (st.size !== s.size || st.mtimeMs !== s.mtimeMs) {
        this.settling.set(file, { ...s, size: st.size, mtimeMs: st.mtimeMs, since: now });
      } else if (now - s.since >= this.opts.settleMs) {
        this.settling.delete(file);
        ready.push([file, s]);
      }
    }
    if (ready.length === 0) return;
    const scanId = Date.now();
    for (const [file, s] of ready) {
      // One file that cannot be recorded (its folder was just removed) does not lose the others.
      await this.record(file, s, scanId).catch(() => undefined);
    }
    this.kick();
  }

  private async record(file: string, s: Settling, scanId: number): Promise<void> {
    if (!this.watched.has(s.rootId)) return;
    if (s.size < 0) {
      // A folder moved or copied in: everything under it, as a scan would find it.
      const report: WalkReport = { unreadable: [], skipped: [] };
      const opts = librarySettings(this.db);
      for await (const f of walk(file, report, opts)) recordSeen(this.db, s.rootId, scanId, f);
      return;
    }
    recordSeen(this.db, s.rootId, scanId, { path: file, size: s.size, mtimeMs: s.mtimeMs });
  }

  /**
   * Runs indexing for what changed: a drain of the queue, or a rescan of some roots. Changes that
   * arrive during a run are picked up by one more run after it.
   */
  private kick(roots?: number[]): void {
    if (this.stopped) return;
    if (roots) this.pendingRoots.push(...roots);
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => (this.running = null));
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const roots = [...new Set(this.pendingRoots)];
      this.pendingRoots = [];
      const grace = this.opts.missingGraceMs;
      await this.runIndex(
        roots.length > 0 ? { roots, missingGraceMs: grace } : { skipScan: true, missingGraceMs: grace },
      ).catch(() => undefined);
    } while (this.again && !this.stopped);
  }
}

/** Hidden and junk names anywhere below the root, as the scan passes them over. */
function passesOver(root: string, file: string, ignoreJunk: boolean): boolean {
  const rel = path.relative(root, file);
  return rel.split(path.sep).some((part) => passedOver(part, ignoreJunk) !== null);
}

async function isFolder(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function isEmptyFolder(p: string): Promise<boolean> {
  return readdir(p).then(
    (names) => names.length === 0,
    () => false,
  );
}

async function isNetworkFs(p: string): Promise<boolean> {
  return statfs(p).then(
    (s) => NETWORK_FS.has(Number(s.type)),
    () => false,
  );
}
