import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ZodError } from 'zod';
import { ENCODER_MODALITIES, type EncoderModality } from '../../../app/modality.js';
import { PackManifestSchema, type PackFile, type PackManifest } from '../../../app/pack.js';

/**
 * Loading a model pack (docs/architecture.md §4): pack.json is parsed with the shared zod schema, and every
 * file it names is checked on disk before any ONNX session is created, so a broken or
 * half-copied pack fails at load with a message that names the field, not later inside
 * onnxruntime with a native error.
 */

export const MANIFEST_FILE = 'pack.json';

export interface LoadedPack {
  /** Absolute folder of the pack. */
  readonly dir: string;
  readonly manifest: PackManifest;
  /** The encoders this pack has, in ENCODER_MODALITIES order. */
  readonly encoders: EncoderModality[];
  /** Absolute path of a file named in the manifest (refuses paths that leave the pack folder). */
  filePath(rel: string): string;
}

/** A pack that cannot be used. `field` is the manifest path at fault (e.g. `encoders.vision.onnx.sha256`). */
export class PackError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'PackError';
  }
}

export interface LoadPackOptions {
  /** Hash every file (slow for multi-GB packs; size is always checked). Default false. */
  verifyHashes?: boolean;
}

export async function loadPack(dir: string, opts: LoadPackOptions = {}): Promise<LoadedPack> {
  const absDir = path.resolve(dir);
  const manifest = parseManifest(await readManifestJson(absDir), path.join(absDir, MANIFEST_FILE));
  const filePath = (rel: string) => resolveInside(absDir, rel);
  for (const ref of referencedFiles(manifest)) await checkFile(absDir, ref, opts.verifyHashes ?? false);
  const encoders = ENCODER_MODALITIES.filter((m) => manifest.encoders[m] !== undefined);
  return { dir: absDir, manifest, encoders, filePath };
}

async function readManifestJson(dir: string): Promise<unknown> {
  const file = path.join(dir, MANIFEST_FILE);
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new PackError(`${file}: ${e.code === 'ENOENT' ? 'not found' : e.message}`);
  });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new PackError(`${file}: invalid JSON (${(e as Error).message})`);
  }
}

/** Validates a parsed pack.json; every problem becomes one line naming the field. `label` names the file. */
export function parseManifest(json: unknown, label: string): PackManifest {
  const parsed = PackManifestSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  throw new PackError(`${label}: ${describeIssues(parsed.error.issues)}`, fieldOf(first));
}

type Issue = ZodError['issues'][number];

function fieldOf(issue: Issue): string {
  return issue.path.length ? issue.path.map(String).join('.') : '(root)';
}

/** One line: "encoders.vision.onnx.sha256: sha256 must be …; embeddingDim: Invalid input: expected number". */
function describeIssues(issues: Issue[]): string {
  return issues.map((i) => `${fieldOf(i)}: ${i.message}`).join('; ');
}

export interface FileRef {
  field: string;
  entry: PackFile;
}

/** Every file a manifest names (tokenizer, graphs, external data), with the field that names it. */
export function referencedFiles(manifest: PackManifest): FileRef[] {
  const refs: FileRef[] = [];
  if (manifest.tokenizer) refs.push({ field: 'tokenizer', entry: manifest.tokenizer });
  for (const m of ENCODER_MODALITIES) {
    const spec = manifest.encoders[m];
    if (!spec) continue;
    refs.push({ field: `encoders.${m}.onnx`, entry: spec.onnx });
    spec.externalData.forEach((entry, i) => refs.push({ field: `encoders.${m}.externalData.${i}`, entry }));
  }
  return refs;
}

/** Resolves `rel` under `dir`; the schema already refuses `..`, this also catches drive letters and the like. */
function resolveInside(dir: string, rel: string, field = 'file'): string {
  const abs = path.resolve(dir, rel);
  const back = path.relative(dir, abs);
  if (!back || back.startsWith('..') || path.isAbsolute(back)) {
    throw new PackError(`${field}: ${JSON.stringify(rel)} is not a file inside the pack folder`, field);
  }
  return abs;
}

async function checkFile(dir: string, ref: FileRef, verifyHash: boolean): Promise<void> {
  const field = `${ref.field}.file`;
  const abs = resolveInside(dir, ref.entry.file, field);
  const info = await stat(abs).catch(() => undefined);
  if (!info?.isFile()) throw new PackError(`${field}: ${ref.entry.file} not found in ${dir}`, field);
  if (info.size !== ref.entry.bytes) {
    const msg = `${ref.entry.file} is ${info.size} bytes but the manifest says ${ref.entry.bytes}`;
    throw new PackError(`${ref.field}.bytes: ${msg} (incomplete copy?)`, `${ref.field}.bytes`);
  }
  if (verifyHash) {
    const actual = await sha256File(abs);
    if (actual !== ref.entry.sha256) {
      const msg = `${ref.entry.file} has sha256 ${actual}, the manifest says ${ref.entry.sha256}`;
      throw new PackError(`${ref.field}.sha256: ${msg}`, `${ref.field}.sha256`);
    }
  }
}

/** Streams the file through the hash, so multi-GB weight files never sit in memory. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
