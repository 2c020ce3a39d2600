import type { LibrarySettings } from '../../../app/api.js';
import type { Db } from './open.js';
import { getMeta, setMeta } from './packs.js';

/** The library's settings, kept in the catalogue so every host (app, serve, watch) shares them. */
const KEYS: { [K in keyof LibrarySettings]: string } = { ignoreJunk: 'setting:ignore_junk' };
const DEFAULTS: LibrarySettings = { ignoreJunk: true };

export function librarySettings(db: Db): LibrarySettings {
  const raw = getMeta(db, KEYS.ignoreJunk);
  return { ignoreJunk: raw === undefined ? DEFAULTS.ignoreJunk : raw === '1' };
}

export function setLibrarySettings(db: Db, change: Partial<LibrarySettings>): LibrarySettings {
  if (change.ignoreJunk !== undefined) setMeta(db, KEYS.ignoreJunk, change.ignoreJunk ? '1' : '0');
  return librarySettings(db);
}
