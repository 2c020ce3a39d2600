import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EncoderModality } from '../../app/modality.js';
import type { Tensor } from '../../main/core/imagebind/tensor.js';
import { packageRoot } from '../../main/core/paths.js';
import { formulaInput } from './compare.js';

/**
 * Golden fixtures made by models/imagebind/make_golden.py with the official ImageBind code: a
 * checkpoint of ImageBind's architecture (`checkpoint.pth`), the model's outputs on fixed inputs,
 * and `golden.json` saying what each input was. CI uses the small one committed under
 * tests/fixtures; the full-size check makes one for imagebind_huge.
 */

export const SMALL_GOLDEN_DIR = path.join(packageRoot(), 'tests', 'fixtures', 'imagebind-golden');

/** The shared ground truth beside the checkout (oracle tensors the inputs come from). */
export function oracleDir(): string {
  const shared = process.env.BINDERY_SHARED ?? path.resolve(packageRoot(), '..', 'shared');
  return path.join(shared, 'oracles');
}

export interface GoldenCase {
  name: string;
  modality: EncoderModality;
  shape: number[];
  input: { oracle?: string; formula?: number; ids?: number[][] };
  output: { file: string; shape: [number, number] };
}

export async function goldenCases(dir: string): Promise<GoldenCase[]> {
  return JSON.parse(await readFile(path.join(dir, 'golden.json'), 'utf8')).cases as GoldenCase[];
}

async function readF32(file: string): Promise<Float32Array> {
  const buf = await readFile(file);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export async function goldenInput(c: GoldenCase): Promise<Tensor> {
  if (c.input.ids)
    return { dtype: 'int64', dims: c.shape, data: BigInt64Array.from(c.input.ids.flat().map(BigInt)) };
  const count = c.shape.reduce((a, b) => a * b, 1);
  const data = c.input.oracle
    ? await readF32(path.join(oracleDir(), c.input.oracle))
    : formulaInput(count, c.input.formula!);
  return { dtype: 'float32', dims: c.shape, data };
}

/** The official model's output rows (with its logit scale). */
export async function goldenOutput(dir: string, c: GoldenCase): Promise<Float32Array[]> {
  const all = await readF32(path.join(dir, c.output.file));
  const [n, d] = c.output.shape;
  return Array.from({ length: n }, (_, i) => all.slice(i * d, (i + 1) * d));
}
