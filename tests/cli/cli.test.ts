import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../support/cli.js';
import { FIXTURES_DIR, ORACLE_DIR } from '../support/paths.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(async () => cleanup?.());

function expectOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('bindery:'));
  expect(lines.length).toBe(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('bindery CLI errors', () => {
  it('rejects a search without terms', async () => {
    expectOneLineError(await runCli(['--db', path.join(dir, 'a.db'), 'search']), /at least one term/);
  });
  it('rejects an unknown backend', async () => {
    expectOneLineError(
      await runCli(['--db', path.join(dir, 'a.db'), '--backend', 'faiss', 'status']),
      /--backend/,
    );
  });
  it('rejects a bad --k', async () => {
    expectOneLineError(
      await runCli(['--db', path.join(dir, 'a.db'), 'search', '--text', 'x', '--k', 'ten']),
      /--k/,
    );
  });
  it('reports a missing query file in one line', async () => {
    expectOneLineError(
      await runCli(['--db', path.join(dir, 'a.db'), 'search', '--image', path.join(dir, 'nope.jpg')]),
      /nope\.jpg/,
    );
  });
  it('rejects weights outside [-1, 1] in --query', async () => {
    const q = path.join(dir, 'q.json');
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(q, JSON.stringify({ terms: [{ modality: 'text', text: 'waves', weight: 3 }] })),
    );
    expectOneLineError(await runCli(['--db', path.join(dir, 'a.db'), 'search', '--query', q]), /weight/);
  });
  it('rejects adding a folder that does not exist', async () => {
    expectOneLineError(
      await runCli(['--db', path.join(dir, 'a.db'), 'add', path.join(dir, 'missing')]),
      /no such folder/,
    );
  });
  it('rejects an unknown command with usage help', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
  });
});

describe('bindery preprocess matches ImageBind', () => {
  it('tokenizes every oracle case exactly', async () => {
    const oracle = JSON.parse(await readFile(path.join(ORACLE_DIR, 'clip_tokenizer_cases.json'), 'utf8'));
    for (const c of oracle.cases as { text: string; ids: number[] }[]) {
      const r = await runCli(['preprocess', 'text', c.text, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.ids, JSON.stringify(c.text)).toEqual(c.ids);
      expect(out).toMatchObject({ modality: 'text', dtype: 'int64', shape: [77] });
    }
  });

  it.each([
    ['image', 'dog_image.jpg', [3, 224, 224], { mean: 0.01, max: 0.1 }],
    ['audio', 'dog_audio.wav', [3, 1, 128, 204], { mean: 0.01, p99: 0.15 }],
  ] as const)('writes the %s tensor within tolerance of the oracle', async (modality, name, shape, tol) => {
    const out = path.join(dir, `${name}.f32`);
    const r = await runCli(['preprocess', modality, path.join(FIXTURES_DIR, name), '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).shape).toEqual(shape);
    const mine = toFloats(await readFile(out));
    const ref = toFloats(await readFile(path.join(ORACLE_DIR, 'imagebind-preprocess', `${name}.f32`)));
    expect(mine.length).toBe(ref.length);
    const d = mine.map((v, i) => Math.abs(v - ref[i])).sort();
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const p99 = d[Math.floor(d.length * 0.99)];
    const max = d[d.length - 1];
    console.log(
      `${modality} vs ImageBind: mean |Δ| ${mean.toFixed(5)}, p99 ${p99.toFixed(5)}, max ${max.toFixed(5)}`,
    );
    expect(mean).toBeLessThanOrEqual(tol.mean);
    if ('max' in tol) expect(max).toBeLessThanOrEqual(tol.max);
    if ('p99' in tol) expect(p99).toBeLessThanOrEqual(tol.p99);
  });
});

function toFloats(b: Buffer): Float32Array {
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
