// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * Layering (docs/architecture.md §1) is enforced here, not by good intentions:
 *   renderer → app;  electron/worker/bridge/cli → core → app.
 * app/ is pure (no node:, no electron, no DOM), main/core never imports electron,
 * and the renderer reaches the engine only through the typed API in app/.
 */
const NODE_BUILTINS = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'crypto', 'worker_threads', 'http', 'net', 'url', 'stream', 'zlib', 'util', 'events'];
const ENGINE_LIBS = ['better-sqlite3', 'sqlite-vss', 'sqlite-vec', 'onnxruntime-node', 'sharp', 'ws'];

const restrict = (groups, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: groups, message }] }],
});

export default tseslint.config(
  { ignores: ['.gpu/**', 'dist/**', 'node_modules/**', 'out/**', 'release/**', 'bench/results/**', 'renderer/dist/**', 'models/test-pack/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['app/**/*.ts'],
    languageOptions: { globals: {} },
    rules: restrict(
      [...NODE_BUILTINS, ...ENGINE_LIBS, 'electron', 'react', 'react-dom', '**/main/**', '**/renderer/**'],
      'app/ is pure and shared: no Node, Electron, DOM or engine imports (docs/architecture.md §1).',
    ),
  },
  {
    files: ['main/core/**/*.ts'],
    rules: restrict(
      ['electron', 'electron/*', 'react', 'react-dom', '**/renderer/**', '**/electron/**', '**/preload/**', '**/bridge/**', '**/cli/**', '**/worker/**'],
      'main/core is plain Node: it never imports electron or an adapter above it (docs/architecture.md §1).',
    ),
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: restrict(
      [...NODE_BUILTINS, ...ENGINE_LIBS, 'electron', '**/main/**'],
      'renderer/ talks only to the typed API in app/ (docs/architecture.md §1).',
    ),
  },
  {
    files: ['tests/**/*.{ts,tsx}', 'bench/**/*.ts'],
    rules: { 'max-lines-per-function': 'off' },
  },
);
