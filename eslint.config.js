// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { layersPlugin } from './tools/eslint-layers.js';

/**
 * Layering (docs/architecture.md §1) is enforced here, not by good intentions: every folder has an
 * allow-list of the folders it may import and the kinds of npm package that may load in it
 * (tools/eslint-layers.js; tests/lint proves a wrong import fails in each folder).
 */

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
    files: ['**/*.{ts,tsx,js,mjs}'],
    plugins: { layers: layersPlugin },
    rules: { 'layers/allowed-imports': 'error' },
  },
  { files: ['app/**/*.ts'], languageOptions: { globals: {} } },
  { files: ['renderer/**/*.{ts,tsx}'], languageOptions: { globals: { ...globals.browser } } },
  {
    files: ['tests/**/*.{ts,tsx}', 'bench/**/*.ts'],
    rules: { 'max-lines-per-function': 'off' },
  },
);
