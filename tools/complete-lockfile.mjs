#!/usr/bin/env node
// Adds lock entries for platform-specific optional packages that this machine's npm registry
// mirror does not serve (e.g. @rollup/rollup-win32-x64-msvc). npm leaves them out of
// package-lock.json when it cannot fetch their metadata, and `npm ci` then refuses the lock as out
// of sync. Each stub names the package's os/cpu (read from its name, <os>-<cpu>[-libc]), so npm
// skips it on every other platform and never fetches it. Run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const pkgs = lock.packages;
const OS = ['android', 'darwin', 'freebsd', 'linux', 'openbsd', 'openharmony', 'win32', 'sunos', 'aix', 'netbsd'];
let added = 0;

for (const entry of Object.values(pkgs)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const at = `node_modules/${name}`;
    if (pkgs[at] || name === 'fsevents') continue;
    const tokens = name.split('/').pop().split('-');
    const osIndex = tokens.findIndex((t) => OS.includes(t));
    if (osIndex < 0) continue;
    const stub = { version: range.replace(/^[~^]/, ''), cpu: [tokens[osIndex + 1]], optional: true, os: [tokens[osIndex]] };
    if (entry.dev) stub.dev = true;
    if (tokens[osIndex] === 'linux') stub.libc = [tokens.slice(osIndex + 2).join('-').includes('musl') ? 'musl' : 'glibc'];
    pkgs[at] = stub;
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform stub entries`);
