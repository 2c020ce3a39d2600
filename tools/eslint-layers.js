// @ts-check
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Layers as law (docs/architecture.md §1): every folder says which folders it may import and which
 * kinds of npm package may load in it, and anything not allowed fails lint. Allow-lists, not
 * deny-lists, so a new edge or a new dependency is refused until someone decides where it belongs
 * (the spirit of VS Code's `code-import-patterns` and of Signal's dependency categories).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every npm dependency, by the runtime it may load in. `node` means Node's built-in modules. */
export const PACKAGES = {
  /** Runs anywhere: the renderer, the engine, the shell. */
  pure: ['zod'],
  /** The engine's native and heavy libraries: never in the renderer, the shell or the preload. */
  engine: [
    'better-sqlite3',
    'pg',
    'sqlite-vss',
    'sqlite-vec',
    'onnxruntime-node',
    'sharp',
    'onnx-proto',
    'yauzl',
    'file-type',
    'libheif-js',
    'hash-wasm',
    'exifr',
    'fft.js',
    'entities',
    '@parcel/watcher',
  ],
  /** The loopback server of `bindery serve`. */
  server: ['ws'],
  /** The terminal. */
  terminal: ['commander', 'cli-progress'],
  /** Electron's main process and preload. */
  electron: ['electron'],
  /** The page. */
  browser: ['react', 'react-dom', '@tanstack/react-virtual'],
  /** Build, test and benchmark tools: never shipped in the app's runtime code. */
  tooling: [
    '@eslint/js',
    '@electric-sql/pglite',
    '@electric-sql/pglite-pgvector',
    '@electric-sql/pglite-socket',
    'pg-copy-streams',
    'axe-core',
    'chokidar',
    '@testing-library/dom',
    '@testing-library/react',
    '@vitejs/plugin-react',
    'electron-builder',
    'esbuild',
    'eslint',
    'globals',
    'jsdom',
    'playwright-core',
    'prettier',
    'protobufjs',
    'typescript',
    'typescript-eslint',
    'vite',
    'vitest',
  ],
};

/**
 * main/core in data-flow order (docs/architecture.md §1): a file's bytes become catalogue rows,
 * tensors, vectors and search results, folder by folder. Each folder may import the folders it
 * names (never a later one), the root's paths.ts (`main/core`), app/, Node's built-ins, and only
 * the npm packages it names: the native libraries each load in one place.
 */
const CORE_FLOW = [
  ['catalogue', [], ['better-sqlite3', 'pg']],
  ['codecs', [], ['sharp', 'libheif-js', 'exifr']],
  ['imagebind', ['codecs'], ['fft.js', 'entities']],
  ['modalities', ['imagebind', 'codecs'], []],
  ['encoders', ['imagebind'], ['onnxruntime-node', 'onnx-proto']],
  ['packs', ['encoders', 'imagebind', 'codecs'], ['yauzl']],
  ['vectors', [], ['better-sqlite3', 'sqlite-vss', 'sqlite-vec']],
  ['media', ['catalogue', 'codecs'], ['sharp']],
  [
    'ingest',
    ['catalogue', 'modalities', 'encoders', 'packs', 'vectors', 'codecs', 'media'],
    ['file-type', 'hash-wasm', '@parcel/watcher'],
  ],
  ['engine', ['catalogue', 'encoders', 'packs', 'vectors', 'ingest'], []],
  ['search', ['catalogue', 'engine', 'imagebind', 'modalities', 'encoders', 'vectors'], []],
  ['api', ['catalogue', 'engine', 'ingest', 'search', 'packs', 'encoders', 'vectors', 'media'], []],
];

/** Core folders by name: `core('engine', 'media')` → ['main/core/engine', 'main/core/media']. */
const core = (...names) => names.map((n) => `main/core/${n}`);

/**
 * Every layer, each with the folders it may import (itself included) and the package kinds (or
 * single packages) that may load in it. The longest matching folder decides. Tests, tools and
 * config files are not layers: they may reach everything.
 */
export const LAYERS = [
  { dir: 'app', may: ['app'], packages: ['pure'] },
  // The root of main/core holds only paths.ts: where Bindery's files are, and path confinement.
  { dir: 'main/core', may: ['main/core', 'app'], packages: ['node'] },
  ...CORE_FLOW.map(([name, may, packages]) => ({
    dir: `main/core/${name}`,
    may: [...core(name, ...may), 'main/core', 'app'],
    packages: ['pure', 'node', ...packages],
  })),
  {
    dir: 'main/worker',
    may: ['main/worker', ...core('api', 'engine', 'media'), 'app'],
    packages: ['pure', 'node'],
  },
  {
    dir: 'main/bridge',
    may: ['main/bridge', ...core('media'), 'main/core', 'app'],
    packages: ['pure', 'node', 'server'],
  },
  {
    dir: 'main/cli',
    may: [
      'main/cli',
      'main/bridge',
      'main/worker',
      'main/core',
      'app',
      // `bindery preprocess` writes the tensors a pack's encoders are fed, as the engine makes them.
      ...core('api', 'engine', 'vectors', 'encoders', 'packs', 'modalities', 'imagebind'),
    ],
    packages: ['pure', 'node', 'terminal'],
  },
  {
    dir: 'main/electron',
    may: ['main/electron', 'main/worker', ...core('engine', 'media'), 'main/core', 'app'],
    packages: ['pure', 'node', 'electron'],
  },
  { dir: 'main/preload', may: ['main/preload', 'app'], packages: ['pure', 'electron'] },
  { dir: 'renderer', may: ['renderer', 'app'], packages: ['pure', 'browser'] },
  // Benchmarks and model tools measure and build the engine's parts one by one, so they reach all
  // of core; benchmarks generate their inputs with the tests' generators (tests/support).
  {
    dir: 'bench',
    may: [
      'bench',
      'tests/support',
      'models',
      'main/core',
      ...CORE_FLOW.map(([n]) => `main/core/${n}`),
      'app',
    ],
    packages: ['pure', 'node', 'engine', 'tooling'],
  },
  {
    dir: 'models',
    may: ['models', 'main/core', ...CORE_FLOW.map(([n]) => `main/core/${n}`), 'app'],
    packages: ['pure', 'node', 'engine', 'tooling'],
  },
];

const UNLAYERED = ['tests', 'tools', 'resources'];
const CONFIG_FILE = /(^|\/)[^/]+\.config\.(ts|js|mjs|cjs)$/;

/** @param {string} rel a path relative to the repository root, with forward slashes */
export function layerOf(rel) {
  const matches = LAYERS.filter((l) => rel === l.dir || rel.startsWith(`${l.dir}/`));
  return matches.sort((a, b) => b.dir.length - a.dir.length)[0] ?? null;
}

/** The package a bare specifier names: `react-dom/client` → `react-dom`, `@a/b/c` → `@a/b`. */
function packageOf(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The kind of a bare specifier: `node`, a PACKAGES key, or null when no one has categorised it. */
export function kindOf(spec) {
  if (spec.startsWith('node:') || isBuiltin(spec)) return 'node';
  const name = packageOf(spec);
  for (const [kind, names] of Object.entries(PACKAGES)) if (names.includes(name)) return kind;
  return null;
}

/** Why `spec`, imported from `rel`, breaks the layers; null when it is allowed. */
export function violation(rel, spec) {
  const layer = layerOf(rel);
  if (!layer || UNLAYERED.some((d) => rel.startsWith(`${d}/`)) || CONFIG_FILE.test(rel)) return null;
  if (spec.startsWith('.')) {
    const target = path
      .relative(ROOT, path.resolve(ROOT, path.dirname(rel), spec))
      .split(path.sep)
      .join('/');
    const to = layerOf(target);
    // An unlayered target (tests/support) is allowed by a `may` entry naming its folder.
    if (to ? layer.may.includes(to.dir) : layer.may.some((d) => target.startsWith(`${d}/`))) return null;
    return `${layer.dir}/ may not import ${to ? `${to.dir}/` : target} (it may import: ${layer.may.map((d) => `${d}/`).join(', ')})`;
  }
  const kind = kindOf(spec);
  if (kind === null)
    return `${packageOf(spec)} is not categorised: add it to PACKAGES in tools/eslint-layers.js`;
  if (layer.packages.includes(kind) || layer.packages.includes(packageOf(spec))) return null;
  return `${packageOf(spec)} (${kind}) may not load in ${layer.dir}/ (allowed there: ${layer.packages.join(', ')})`;
}

/** @type {import('eslint').ESLint.Plugin} */
export const layersPlugin = {
  rules: {
    'allowed-imports': {
      meta: { type: 'problem', docs: { description: 'per-folder import allow-lists' }, schema: [] },
      create(context) {
        const rel = path.relative(ROOT, context.filename).split(path.sep).join('/');
        /** @param {any} node */
        const check = (node) => {
          const source = node.source;
          if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
          const why = violation(rel, source.value);
          if (why) context.report({ node: source, message: why });
        };
        return {
          ImportDeclaration: check,
          ExportNamedDeclaration: check,
          ExportAllDeclaration: check,
          ImportExpression: check,
        };
      },
    },
  },
};
