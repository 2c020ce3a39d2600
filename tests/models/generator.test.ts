import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PackManifestSchema } from '../../app/pack.js';
import {
  buildTestPack,
  diffAgainst,
  LOGIT_SCALES,
  writeTestPack,
} from '../../models/test-pack-generator/generate.js';
import { mulberry32 } from '../../app/random.js';
import { halfBits as toHalfBits } from '../../main/core/encoders/half.js';
import { seedFrom } from '../../models/test-pack-generator/random-weights.js';
import { BPE_VOCAB, TEST_PACK_DIR } from '../support/paths.js';

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-gen-'));
  temps.push(dir);
  return dir;
}
afterAll(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

async function readAll(dir: string): Promise<Map<string, Buffer>> {
  const names = (await readdir(dir)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(path.join(dir, n))] as const)));
}

describe('test-pack generator', () => {
  it('writes byte-identical packs on every run, identical to the committed models/test-pack', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const first = await writeTestPack(a, BPE_VOCAB);
    await writeTestPack(b, BPE_VOCAB);
    const [filesA, filesB, committed] = [await readAll(a), await readAll(b), await readAll(TEST_PACK_DIR)];
    expect([...filesA.keys()]).toEqual([...first.files].sort());
    expect([...filesB.keys()]).toEqual([...filesA.keys()]);
    expect([...committed.keys()]).toEqual([...filesA.keys()]);
    for (const [name, bytes] of filesA) {
      expect(bytes.equals(filesB.get(name)!), `${name} differs between runs`).toBe(true);
      expect(
        bytes.equals(committed.get(name)!),
        `${name} differs from models/test-pack (regenerate it)`,
      ).toBe(true);
    }
  });

  it('reports stale files through diffAgainst', async () => {
    const files = buildTestPack(await readFile(BPE_VOCAB));
    expect(await diffAgainst(TEST_PACK_DIR, files)).toEqual([]);
    const changed = new Map(files).set('imu.onnx', new Uint8Array([1, 2, 3]));
    expect(await diffAgainst(TEST_PACK_DIR, changed)).toEqual(['imu.onnx']);
  });

  it('produces a valid, clearly labelled manifest within the size budget', async () => {
    const raw = JSON.parse(await readFile(path.join(TEST_PACK_DIR, 'pack.json'), 'utf8'));
    const manifest = PackManifestSchema.parse(raw);
    expect(manifest).toMatchObject({
      id: 'bindery-test-pack',
      testPack: true,
      embeddingDim: 1024,
      licence: { name: 'MIT' },
    });
    expect(manifest.name).toBe('Test pack (random weights — results are not meaningful)');
    expect(manifest.tokenizer?.file).toBe('bpe_simple_vocab_16e6.txt.gz');
    expect(Object.keys(manifest.encoders)).toEqual(['vision', 'text', 'audio', 'depth', 'thermal', 'imu']);
    for (const [m, spec] of Object.entries(manifest.encoders)) {
      expect(spec.logitScale).toBe(LOGIT_SCALES[m as keyof typeof LOGIT_SCALES]);
      expect(spec.externalData).toEqual([]);
    }
    expect(manifest.encoders.text?.logitScale).toBeCloseTo(1 / 0.07, 5);
    const onnxBytes = Object.values(manifest.encoders).reduce((n, s) => n + s.onnx.bytes, 0);
    expect(onnxBytes).toBeLessThan(3 * 1024 * 1024);
  });

  it('uses exact, platform-independent number helpers', () => {
    expect([1, -2, 65504, 1e-8, 2 ** -24, 0.1].map(toHalfBits)).toEqual([
      0x3c00, 0xc000, 0x7bff, 0, 1, 0x2e66,
    ]);
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    const next = mulberry32(seedFrom('bindery'));
    const draws = [next(), next(), next()];
    const again = mulberry32(seedFrom('bindery'));
    expect([again(), again(), again()]).toEqual(draws);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
