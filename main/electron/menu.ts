import type { MenuItemConstructorOptions } from 'electron';
import type { Status } from '../../app/api.js';
import { THEMES, type Theme } from './window-state.js';

/** The native menu as data (the tests read it without Electron) and the About text. */

export interface MenuActions {
  addFolder(): void;
  indexNow(): void;
  setTheme(theme: Theme): void;
  about(): void;
}

export interface MenuOptions {
  appName: string;
  isMac: boolean;
  /** Reload and developer tools appear only when not packaged. */
  dev: boolean;
  theme: Theme;
}

const THEME_LABELS: Record<Theme, string> = { system: 'Follow System', light: 'Light', dark: 'Dark' };

export function buildMenuTemplate(a: MenuActions, o: MenuOptions): MenuItemConstructorOptions[] {
  const about: MenuItemConstructorOptions = { label: `About ${o.appName}`, click: () => a.about() };
  const template: MenuItemConstructorOptions[] = [];
  if (o.isMac) {
    template.push({
      label: o.appName,
      submenu: [
        about,
        { type: 'separator' },
        { role: 'services' },
        { type: 'separator' },
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        { type: 'separator' },
        { role: 'quit' },
      ],
    });
  }
  template.push({
    label: '&File',
    submenu: [
      { label: 'Add Folder…', accelerator: 'CmdOrCtrl+O', click: () => a.addFolder() },
      { label: 'Index Now', accelerator: 'CmdOrCtrl+I', click: () => a.indexNow() },
      { type: 'separator' },
      o.isMac ? { role: 'close' } : { role: 'quit', label: 'Quit', accelerator: 'CmdOrCtrl+Q' },
    ],
  });
  template.push({ role: 'editMenu' });
  template.push({
    label: '&View',
    submenu: [
      ...(o.dev
        ? ([
            { role: 'reload' },
            { role: 'forceReload' },
            { role: 'toggleDevTools' },
            { type: 'separator' },
          ] as MenuItemConstructorOptions[])
        : []),
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
      { type: 'separator' },
      {
        label: 'Appearance',
        submenu: THEMES.map((t) => ({
          label: THEME_LABELS[t],
          type: 'radio' as const,
          checked: t === o.theme,
          click: () => a.setTheme(t),
        })),
      },
    ],
  });
  if (o.isMac) template.push({ role: 'windowMenu' });
  template.push({ label: '&Help', role: 'help', submenu: [about] });
  return template;
}

export interface AboutInfo {
  appName: string;
  version: string;
  versions: { electron?: string; chrome?: string; node?: string };
}

/** The About box: the app, its runtime, and the active model pack with its licence. */
export function aboutDetail(
  info: AboutInfo,
  model: Pick<Status['model'], 'name' | 'version' | 'licence' | 'testPack'> | null,
  engineError?: string,
): string {
  const lines = [
    `${info.appName} ${info.version} (MIT licence)`,
    `Electron ${info.versions.electron ?? '?'} · Chromium ${info.versions.chrome ?? '?'} · Node ${info.versions.node ?? '?'}`,
    '',
  ];
  if (model) {
    lines.push(`Model pack: ${model.name} ${model.version}`);
    lines.push(`Model licence: ${model.licence.label}${model.licence.url ? ` (${model.licence.url})` : ''}`);
    if (model.testPack)
      lines.push(
        '',
        'This is the bundled test pack (random weights): search results are not meaningful. Install a real pack to search your library.',
      );
  } else {
    lines.push(`Model pack: unavailable${engineError ? ` (${engineError})` : ''}`);
  }
  return lines.join('\n');
}

/** The licence page of the active pack, when it is a web address the OS browser may open. */
export function licenceUrl(model: Pick<Status['model'], 'licence'> | null): string | null {
  const url = model?.licence.url;
  return url && /^https?:\/\//i.test(url) ? url : null;
}
