import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/**
 * What the shell remembers between runs, in `<userData>/window-state.json`: the window's normal
 * bounds, whether it was maximised, and the theme choice. A damaged file or a display that is no
 * longer attached never leaves the window off-screen: bad fields fall back to defaults and a
 * position outside every display is dropped (the OS centres the window).
 */

export const MIN_WIDTH = 720;
export const MIN_HEIGHT = 480;
export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

export const DEFAULT_WINDOW_STATE = { width: 1280, height: 800, maximized: false, theme: 'system' as Theme };

const size = (min: number, fallback: number) => z.number().int().min(min).max(16_384).catch(fallback);
const coordinate = z.number().int().min(-100_000).max(100_000).optional().catch(undefined);

export const WindowStateSchema = z.object({
  width: size(MIN_WIDTH, DEFAULT_WINDOW_STATE.width),
  height: size(MIN_HEIGHT, DEFAULT_WINDOW_STATE.height),
  x: coordinate,
  y: coordinate,
  maximized: z.boolean().catch(false),
  theme: z.enum(THEMES).catch('system'),
});
export type WindowState = z.infer<typeof WindowStateSchema>;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function parseWindowState(raw: unknown): WindowState {
  const parsed = WindowStateSchema.safeParse(raw && typeof raw === 'object' ? raw : {});
  return parsed.success ? parsed.data : { ...DEFAULT_WINDOW_STATE };
}

/** Shrinks the window to fit the largest display and forgets a position no display shows. */
export function fitToDisplays(state: WindowState, workAreas: readonly Rect[]): WindowState {
  if (workAreas.length === 0) return state;
  const maxW = Math.max(...workAreas.map((a) => a.width));
  const maxH = Math.max(...workAreas.map((a) => a.height));
  const fitted: WindowState = {
    ...state,
    width: Math.max(Math.min(state.width, maxW), Math.min(MIN_WIDTH, maxW)),
    height: Math.max(Math.min(state.height, maxH), Math.min(MIN_HEIGHT, maxH)),
  };
  if (state.x === undefined || state.y === undefined) return { ...fitted, x: undefined, y: undefined };
  // The title bar (the top 48 px, inset 48 px from each side) must be visible to drag the window.
  const grip: Rect = { x: state.x + 48, y: state.y, width: Math.max(1, fitted.width - 96), height: 48 };
  const visible = workAreas.some((a) => intersects(grip, a));
  return visible ? fitted : { ...fitted, x: undefined, y: undefined };
}

function intersects(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

export async function loadWindowState(file: string): Promise<WindowState> {
  try {
    return parseWindowState(JSON.parse(await readFile(file, 'utf8')));
  } catch {
    return { ...DEFAULT_WINDOW_STATE };
  }
}

/** Written beside and renamed, so a crash mid-write never leaves half a file. */
export async function saveWindowState(file: string, state: WindowState): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(parseWindowState(state), null, 2)}\n`);
  await rename(tmp, file);
}

export interface TrackedWindow {
  on(event: 'resize' | 'move' | 'maximize' | 'unmaximize' | 'close', listener: () => void): unknown;
  getNormalBounds(): Rect;
  isMaximized(): boolean;
  isDestroyed(): boolean;
}

export interface WindowStateTracker {
  readonly state: WindowState;
  /** Changes what is remembered (the theme menu) and saves soon. */
  update(patch: Partial<WindowState>): void;
  /** Saves now (on close and before quitting). */
  flush(): Promise<void>;
}

/** Follows a window's moves, resizes and maximising, saving at most every `debounceMs`. */
export function trackWindowState(
  win: TrackedWindow,
  file: string,
  initial: WindowState,
  debounceMs = 500,
  save: (file: string, s: WindowState) => Promise<void> = saveWindowState,
): WindowStateTracker {
  let state = { ...initial };
  let timer: ReturnType<typeof setTimeout> | null = null;
  let writing: Promise<void> = Promise.resolve();

  const capture = () => {
    if (win.isDestroyed()) return;
    const maximized = win.isMaximized();
    const b = win.getNormalBounds();
    state = {
      ...state,
      maximized,
      x: b.x,
      y: b.y,
      width: Math.max(b.width, MIN_WIDTH),
      height: Math.max(b.height, MIN_HEIGHT),
    };
  };
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const snapshot = { ...state };
    writing = writing.then(() => save(file, snapshot)).catch(() => undefined);
    return writing;
  };
  const soon = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void flush(), debounceMs);
  };
  for (const event of ['resize', 'move', 'maximize', 'unmaximize'] as const) {
    win.on(event, () => {
      capture();
      soon();
    });
  }
  win.on('close', () => {
    capture();
    void flush();
  });
  return {
    get state() {
      return state;
    },
    update(patch) {
      state = parseWindowState({ ...state, ...patch });
      soon();
    },
    flush,
  };
}
