import { ESLint } from 'eslint';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGES } from '../../tools/eslint-layers.js';
import { REPO_ROOT } from '../support/paths.js';

/**
 * The layer allow-lists must fail closed (issue 12): in every folder, one import that breaks the
 * layers and one that keeps them are linted as if they were a file there, through the project's
 * own ESLint configuration. The first must be refused by layers/allowed-imports, the second not.
 */

const CASES: { folder: string; wrong: string; right: string }[] = [
  { folder: 'app', wrong: "import 'node:fs';", right: "import { z } from 'zod';" },
  { folder: 'app', wrong: "import '../main/core/engine/engine.js';", right: "import './api.js';" },
  // main/core, folder by folder in data-flow order: each refuses a later folder and a foreign native library.
  { folder: 'main/core', wrong: "import './catalogue/open.js';", right: "import 'node:path';" },
  { folder: 'main/core/catalogue', wrong: "import '../engine/engine.js';", right: "import '../paths.js';" },
  { folder: 'main/core/catalogue', wrong: "import 'onnxruntime-node';", right: "import 'better-sqlite3';" },
  { folder: 'main/core/codecs', wrong: "import '../imagebind/image.js';", right: "import 'sharp';" },
  {
    folder: 'main/core/codecs',
    wrong: "import 'better-sqlite3';",
    right: "import '../../../app/modality.js';",
  },
  {
    folder: 'main/core/imagebind',
    wrong: "import '../encoders/runtime.js';",
    right: "import '../codecs/ffmpeg.js';",
  },
  { folder: 'main/core/imagebind', wrong: "import 'better-sqlite3';", right: "import 'fft.js';" },
  {
    folder: 'main/core/modalities',
    wrong: "import '../catalogue/contents.js';",
    right: "import '../imagebind/image.js';",
  },
  {
    folder: 'main/core/encoders',
    wrong: "import '../packs/pack.js';",
    right: "import '../imagebind/tensor.js';",
  },
  { folder: 'main/core/encoders', wrong: "import 'sharp';", right: "import 'onnxruntime-node';" },
  {
    folder: 'main/core/packs',
    wrong: "import '../engine/engine.js';",
    right: "import '../encoders/runtime.js';",
  },
  { folder: 'main/core/packs', wrong: "import 'better-sqlite3';", right: "import 'yauzl';" },
  { folder: 'main/core/vectors', wrong: "import '../catalogue/open.js';", right: "import 'sqlite-vec';" },
  { folder: 'main/core/media', wrong: "import '../ingest/scan.js';", right: "import '../codecs/ffmpeg.js';" },
  {
    folder: 'main/core/ingest',
    wrong: "import '../engine/engine.js';",
    right: "import '../catalogue/files.js';",
  },
  { folder: 'main/core/ingest', wrong: "import 'onnxruntime-node';", right: "import 'hash-wasm';" },
  {
    folder: 'main/core/engine',
    wrong: "import '../search/search.js';",
    right: "import '../ingest/ports.js';",
  },
  {
    folder: 'main/core/search',
    wrong: "import '../api/service.js';",
    right: "import '../engine/engine.js';",
  },
  {
    folder: 'main/core/api',
    wrong: "import '../../bridge/server.js';",
    right: "import '../search/search.js';",
  },
  { folder: 'main/core/api', wrong: "import 'electron';", right: "import 'zod';" },
  { folder: 'main/worker', wrong: "import '../cli/main.js';", right: "import '../core/engine/engine.js';" },
  {
    folder: 'main/worker',
    wrong: "import '../core/catalogue/open.js';",
    right: "import '../core/api/service.js';",
  },
  { folder: 'main/worker', wrong: "import 'ws';", right: "import 'node:worker_threads';" },
  {
    folder: 'main/bridge',
    wrong: "import '../electron/main.js';",
    right: "import '../core/media/media.js';",
  },
  {
    folder: 'main/bridge',
    wrong: "import '../core/catalogue/roots.js';",
    right: "import '../core/paths.js';",
  },
  { folder: 'main/bridge', wrong: "import 'onnxruntime-node';", right: "import 'ws';" },
  { folder: 'main/bridge', wrong: "import 'better-sqlite3';", right: "import 'node:http';" },
  { folder: 'main/cli', wrong: "import '../../bench/run.js';", right: "import '../bridge/server.js';" },
  {
    folder: 'main/cli',
    wrong: "import '../core/catalogue/open.js';",
    right: "import '../core/api/service.js';",
  },
  { folder: 'main/cli', wrong: "import 'electron';", right: "import 'commander';" },
  { folder: 'main/electron', wrong: "import '../bridge/files.js';", right: "import '../worker/client.js';" },
  { folder: 'main/electron', wrong: "import 'react';", right: "import 'electron';" },
  { folder: 'main/preload', wrong: "import 'node:fs';", right: "import '../../app/api.js';" },
  { folder: 'main/preload', wrong: "import '../core/engine/engine.js';", right: "import 'electron';" },
  {
    folder: 'renderer/src',
    wrong: "import '../../main/core/engine/engine.js';",
    right: "import '../../app/query.js';",
  },
  { folder: 'renderer/src', wrong: "import 'better-sqlite3';", right: "import 'react';" },
  {
    folder: 'bench',
    wrong: "import '../main/cli/main.js';",
    right: "import '../main/core/engine/engine.js';",
  },
  { folder: 'bench', wrong: "import 'electron';", right: "import 'playwright-core';" },
  { folder: 'models', wrong: "import '../main/electron/main.js';", right: "import '../main/core/paths.js';" },
  { folder: 'models', wrong: "import 'left-pad';", right: "import 'node:path';" },
  // Dynamic imports and re-exports are imports too.
  {
    folder: 'main/core/engine',
    wrong: "await import('../../cli/main.js');",
    right: "await import('../paths.js');",
  },
  { folder: 'app', wrong: "export * from '../main/core/paths.js';", right: "export * from './api.js';" },
];

const eslint = new ESLint({ cwd: REPO_ROOT });

async function layerErrors(folder: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\n`, {
    filePath: path.join(REPO_ROOT, folder, 'lint-fixture.ts'),
  });
  return result.messages.filter((m) => m.ruleId === 'layers/allowed-imports').map((m) => m.message);
}

describe('layer allow-lists (tools/eslint-layers.js)', () => {
  it.each(CASES)('$folder: refuses `$wrong`, accepts `$right`', async ({ folder, wrong, right }) => {
    const refused = await layerErrors(folder, wrong);
    expect(refused, wrong).toHaveLength(1);
    console.log(`${folder}: ${refused[0]}`);
    expect(await layerErrors(folder, right), right).toEqual([]);
  });

  it('tests, tools and config files may reach every layer', async () => {
    expect(await layerErrors('tests/lint', "import '../../main/electron/main.js';")).toEqual([]);
  });

  it('categorises every npm dependency by the runtime it may load in', async () => {
    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const known = new Set(Object.values(PACKAGES).flat());
    const names = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)];
    // Type packages are never loaded at run time.
    expect(names.filter((n) => !n.startsWith('@types/') && !known.has(n))).toEqual([]);
  });
});
