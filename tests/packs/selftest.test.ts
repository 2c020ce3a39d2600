import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../../main/core/packs/convert/convert.js';
import { loadPack } from '../../main/core/packs/pack.js';
import { EncoderRuntime } from '../../main/core/encoders/runtime.js';
import {
  README_MATRICES,
  readmeMatrices,
  selfTestPack,
  softmaxRows,
} from '../../main/core/packs/selftest.js';
import { SMALL_GOLDEN_DIR } from '../../models/converter-check/golden.js';
import { FIXTURES_DIR, TEST_PACK_DIR } from '../support/paths.js';

/**
 * The self-test: ImageBind's README matrices on its example files. No trained weights exist here,
 * so the pass path is checked with a pack that states its own matrices (as a fine-tuned pack may),
 * and the fail path with random weights against the README's.
 */

let dir: string;
let manifest: Record<string, unknown>;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-selftest-'));
  const conv = await convertCheckpoint(path.join(SMALL_GOLDEN_DIR, 'checkpoint.pth'), {
    outDir: dir,
    precision: 'fp32',
  });
  manifest = conv.manifest as unknown as Record<string, unknown>;
  await writeFile(path.join(dir, 'pack.json'), JSON.stringify(manifest));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('softmaxRows', () => {
  it('is softmax over each row of a·bᵀ', () => {
    const a = [Float32Array.from([1, 0]), Float32Array.from([0, 2])];
    const b = [Float32Array.from([1, 0]), Float32Array.from([0, 1])];
    const m = softmaxRows(a, b);
    expect(m[0][0]).toBeCloseTo(Math.E / (Math.E + 1), 6);
    expect(m[1][1]).toBeCloseTo(Math.exp(2) / (Math.exp(2) + 1), 6);
    for (const row of m) expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 9);
  });
});

describe('selfTestPack', () => {
  it("fails random weights against ImageBind's README, naming the matrix, the cell and the difference", async () => {
    const r = await selfTestPack(dir, FIXTURES_DIR);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(
      /^(Vision×Text|Audio×Text|Vision×Audio) differs from ImageBind's README by \d\.\d{3} \((dog|car|bird) × (dog|car|bird): \d\.\d{4}, expected \d\.\d{4}\)$/,
    );
    expect(Object.keys(README_MATRICES)).toEqual(['Vision×Text', 'Audio×Text', 'Vision×Audio']);
  });

  it('passes a pack that reproduces the matrices it states, and fails one nudged by 0.02', async () => {
    const pack = await loadPack(dir);
    const runtime = new EncoderRuntime(pack, { providers: ['cpu'] });
    const own = await readmeMatrices(pack, runtime, FIXTURES_DIR).finally(() => runtime.close());
    await writeFile(
      path.join(dir, 'pack.json'),
      JSON.stringify({ ...manifest, selftest: { expected: own } }),
    );
    expect((await selfTestPack(dir, FIXTURES_DIR)).ok).toBe(true);
    const nudged = structuredClone(own);
    nudged['Audio×Text'][1][2] += 0.02;
    await writeFile(
      path.join(dir, 'pack.json'),
      JSON.stringify({ ...manifest, selftest: { expected: nudged } }),
    );
    const r = await selfTestPack(dir, FIXTURES_DIR);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^Audio×Text differs from the matrices the pack states by 0\.020 \(car × bird/);
    await writeFile(path.join(dir, 'pack.json'), JSON.stringify(manifest));
  });

  it('says it did not run when the example files are missing', async () => {
    expect(await selfTestPack(dir, null)).toEqual({
      ok: false,
      detail: "not run: ImageBind's example files are not available",
    });
  });

  it('tests a pack without vision, text and audio structurally', async () => {
    const only = await mkdtemp(path.join(os.tmpdir(), 'bindery-selftest-imu-'));
    try {
      const test = (await import(path.join(TEST_PACK_DIR, 'pack.json'), { with: { type: 'json' } })).default;
      const { cp } = await import('node:fs/promises');
      await cp(TEST_PACK_DIR, only, { recursive: true });
      const encoders = { imu: test.encoders.imu, depth: test.encoders.depth };
      await writeFile(path.join(only, 'pack.json'), JSON.stringify({ ...test, encoders }));
      const r = await selfTestPack(only, null);
      expect(r).toEqual({ ok: true, detail: 'depth, imu encoders load and respond to their input' });
    } finally {
      await rm(only, { recursive: true, force: true });
    }
  });
});
