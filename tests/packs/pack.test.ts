import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPack, PackError } from '../../main/core/packs/pack.js';
import { TEST_PACK_DIR } from '../support/paths.js';

const temps: string[] = [];
afterAll(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A private copy of the test pack whose pack.json has been passed through `edit`. */
async function editedPack(edit: (m: Json) => void): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bindery-pack-'));
  temps.push(dir);
  await cp(TEST_PACK_DIR, dir, { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(dir, 'pack.json'), 'utf8')) as Json;
  edit(manifest);
  await writeFile(path.join(dir, 'pack.json'), JSON.stringify(manifest));
  return dir;
}

async function loadError(dir: string, verifyHashes = false): Promise<PackError> {
  const err = await loadPack(dir, { verifyHashes }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PackError);
  const packErr = err as PackError;
  expect(packErr.message).not.toContain('\n');
  return packErr;
}

describe('loadPack', () => {
  it('loads the committed test pack with verified hashes', async () => {
    const pack = await loadPack(TEST_PACK_DIR, { verifyHashes: true });
    expect(pack.dir).toBe(path.resolve(TEST_PACK_DIR));
    expect(pack.encoders).toEqual(['vision', 'text', 'audio', 'depth', 'thermal', 'imu']);
    expect(pack.manifest.testPack).toBe(true);
    expect(pack.filePath('vision.onnx')).toBe(path.join(pack.dir, 'vision.onnx'));
    expect(() => pack.filePath('../escape.onnx')).toThrow(/not a file inside the pack/);
    expect(pack.manifest.encoders.audio?.input.shape).toEqual(['N', 'S', 1, 128, 204]);
  });

  it('names a missing top-level field', async () => {
    const err = await loadError(await editedPack((m) => delete m.embeddingDim));
    expect(err.field).toBe('embeddingDim');
    expect(err.message).toMatch(/pack\.json: embeddingDim: /);
  });

  it('names a missing nested field', async () => {
    const err = await loadError(await editedPack((m) => delete m.encoders.vision.output));
    expect(err.field).toBe('encoders.vision.output');
  });

  it('rejects a malformed sha256', async () => {
    const err = await loadError(await editedPack((m) => (m.encoders.text.onnx.sha256 = 'XYZ')));
    expect(err.field).toBe('encoders.text.onnx.sha256');
    expect(err.message).toMatch(/64 lower-case hex/);
  });

  it('catches a wrong sha256 only when hashes are verified', async () => {
    const dir = await editedPack((m) => (m.encoders.text.onnx.sha256 = '0'.repeat(64)));
    await expect(loadPack(dir)).resolves.toBeDefined();
    const err = await loadError(dir, true);
    expect(err.field).toBe('encoders.text.onnx.sha256');
    expect(err.message).toMatch(/text\.onnx has sha256 [0-9a-f]{64}, the manifest says 0{64}/);
  });

  it('reports a missing file', async () => {
    const dir = await editedPack(() => undefined);
    await rm(path.join(dir, 'audio.onnx'));
    const err = await loadError(dir);
    expect(err.field).toBe('encoders.audio.onnx.file');
    expect(err.message).toMatch(/audio\.onnx not found/);
  });

  it('reports a missing external-data file and a size mismatch', async () => {
    const extra = { file: 'vision.weights', sha256: '0'.repeat(64), bytes: 10 };
    const missing = await loadError(await editedPack((m) => (m.encoders.vision.externalData = [extra])));
    expect(missing.field).toBe('encoders.vision.externalData.0.file');
    const size = await loadError(await editedPack((m) => (m.encoders.imu.onnx.bytes += 1)));
    expect(size.field).toBe('encoders.imu.onnx.bytes');
    expect(size.message).toMatch(/incomplete copy/);
  });

  it('refuses path traversal and absolute paths in file names', async () => {
    for (const bad of ['../outside.onnx', 'sub/../../outside.onnx', '/etc/passwd', 'a\\..\\b.onnx']) {
      const err = await loadError(await editedPack((m) => (m.encoders.depth.onnx.file = bad)));
      expect(err.field).toBe('encoders.depth.onnx.file');
      expect(err.message).toMatch(/plain relative path/);
    }
    const tok = await loadError(await editedPack((m) => (m.tokenizer.file = '../../shared/vocab.gz')));
    expect(tok.field).toBe('tokenizer.file');
  });

  it('reports an absent or unreadable pack.json', async () => {
    const dir = await editedPack(() => undefined);
    await writeFile(path.join(dir, 'pack.json'), '{ not json');
    expect((await loadError(dir)).message).toMatch(/invalid JSON/);
    await rm(path.join(dir, 'pack.json'));
    expect((await loadError(dir)).message).toMatch(/pack\.json: not found/);
  });

  it('rejects a pack without encoders', async () => {
    const err = await loadError(await editedPack((m) => (m.encoders = {})));
    expect(err.field).toBe('encoders');
  });
});
