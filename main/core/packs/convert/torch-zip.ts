import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import {
  bytesPerElement,
  CheckpointError,
  readAt,
  toFloat32,
  type Checkpoint,
  type TensorDtype,
  type TensorInfo,
} from './checkpoint.js';
import { isTensor, PickleError, unpickle, type PickleValue, type TensorRef } from './pickle.js';

/**
 * PyTorch's checkpoint archive (`torch.save`, format since torch 1.6): an uncompressed zip with
 * `<name>/data.pkl` (the pickled object, storages replaced by persistent ids), one entry
 * `<name>/data/<key>` of raw little-endian bytes per storage, and `<name>/version`. Entries are
 * read in place: yauzl parses the central directory (Zip64 included, as 4.5 GB archives need),
 * and tensor bytes are read with positional reads at the entry's data offset.
 */

const MAX_PICKLE_BYTES = 256 * 1024 * 1024;
const FLOAT_DTYPES = new Set<string>(['F32', 'F16', 'BF16', 'F64']);

interface Storage {
  entry: yauzl.Entry;
  /** Absolute offset of the entry's first data byte, read from its local header once. */
  dataStart?: number;
}

export async function readTorchZip(file: string, fh: FileHandle, size: number): Promise<Checkpoint> {
  const zip = await openZip(file);
  try {
    const entries = await listEntries(zip);
    const prefix = archivePrefix(entries);
    checkByteOrder(prefix, await readSmallEntry(zip, entries.get(`${prefix}/byteorder`)));
    const pickle = await readSmallEntry(zip, entries.get(`${prefix}/data.pkl`));
    const refs = stateDictOf(unpickleChecked(pickle!));
    const storages = new Map<string, Storage>();
    const tensors = new Map<string, TensorInfo>();
    for (const [name, ref] of refs) {
      tensors.set(name, { name, dtype: floatDtype(name, ref), shape: ref.shape });
      storages.set(ref.storage.key, storageEntry(entries, prefix, ref, name));
    }
    return new TorchZipCheckpoint(file, fh, size, zip, tensors, refs, storages);
  } catch (e) {
    zip.close();
    throw e;
  }
}

class TorchZipCheckpoint implements Checkpoint {
  readonly format = 'pytorch' as const;

  constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    private readonly size: number,
    private readonly zip: yauzl.ZipFile,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    private readonly refs: ReadonlyMap<string, TensorRef>,
    private readonly storages: Map<string, Storage>,
  ) {}

  async read(name: string): Promise<Float32Array> {
    const ref = this.refs.get(name);
    if (!ref) throw new CheckpointError(`${this.file}: no tensor named ${name}`);
    const dtype = this.tensors.get(name)!.dtype;
    const width = bytesPerElement(dtype);
    const start = await this.dataStart(ref);
    const span = spanOf(ref);
    const end = start + (ref.offset + span) * width;
    if (end > this.size) {
      throw new CheckpointError(
        `${this.file}: tensor ${name} ends at byte ${end} but the file has ${this.size} bytes (truncated download?)`,
      );
    }
    const raw = await readAt(this.fh, start + ref.offset * width, span * width);
    this.checkCrc(name, ref, raw);
    const values = toFloat32(raw, dtype);
    return isContiguous(ref) ? values : gather(values, ref.shape, ref.stride);
  }

  /**
   * torch.save records a CRC-32 per storage. A tensor that is its whole storage (every tensor
   * of a state dict, in practice) is checked against it, so flipped bytes inside the weights are
   * caught, not converted. Views into a larger storage are not checked.
   */
  private checkCrc(name: string, ref: TensorRef, raw: Buffer): void {
    const { entry } = this.storages.get(ref.storage.key)!;
    if (ref.offset !== 0 || raw.length !== entry.uncompressedSize) return;
    if (crc32(raw) >>> 0 !== entry.crc32 >>> 0) {
      throw new CheckpointError(
        `${this.file}: tensor ${name} fails its CRC-32 check; the checkpoint is corrupt (download it again)`,
      );
    }
  }

  private async dataStart(ref: TensorRef): Promise<number> {
    const s = this.storages.get(ref.storage.key)!;
    if (s.dataStart === undefined) {
      const header = await this.zip.readLocalFileHeaderPromise(s.entry, { minimal: true });
      s.dataStart = header.fileDataStart;
    }
    return s.dataStart;
  }

  async close(): Promise<void> {
    this.zip.close();
    await this.fh.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The archive

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, strictFileNames: false }, (err, zip) => {
      if (err)
        reject(new CheckpointError(`${file}: not a readable zip archive (${err.message}; truncated?)`));
      else resolve(zip);
    });
  });
}

function listEntries(zip: yauzl.ZipFile): Promise<Map<string, yauzl.Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, yauzl.Entry>();
    zip.on('entry', (e: yauzl.Entry) => {
      entries.set(e.fileName, e);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', (err: Error) => reject(new CheckpointError(`corrupt zip archive: ${err.message}`)));
    zip.readEntry();
  });
}

/** The one top-level folder holding data.pkl; TorchScript archives are told apart. */
function archivePrefix(entries: Map<string, yauzl.Entry>): string {
  const names = [...entries.keys()];
  if (names.some((n) => /^[^/]+\/(constants\.pkl|code\/)/.test(n)))
    throw new CheckpointError('a TorchScript model (torch.jit.save), not a state dict saved with torch.save');
  const pickles = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    throw new CheckpointError(
      `a zip archive but not a PyTorch checkpoint (${pickles.length ? 'several' : 'no'} data.pkl)`,
    );
  }
  return pickles[0].slice(0, -'/data.pkl'.length);
}

async function readSmallEntry(zip: yauzl.ZipFile, entry: yauzl.Entry | undefined): Promise<Buffer | null> {
  if (!entry) return null;
  if (entry.uncompressedSize > MAX_PICKLE_BYTES)
    throw new CheckpointError(
      `${entry.fileName} is ${entry.uncompressedSize} bytes; too large for a state dict`,
    );
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function checkByteOrder(prefix: string, bytes: Buffer | null): void {
  const order = bytes?.toString('ascii').trim() ?? 'little';
  if (order !== 'little')
    throw new CheckpointError(`${prefix}/byteorder says "${order}"; only little-endian checkpoints are read`);
}

function storageEntry(
  entries: Map<string, yauzl.Entry>,
  prefix: string,
  ref: TensorRef,
  name: string,
): Storage {
  const entry = entries.get(`${prefix}/data/${ref.storage.key}`);
  if (!entry)
    throw new CheckpointError(`tensor ${name}: its storage ${ref.storage.key} is missing from the archive`);
  if (entry.compressionMethod !== 0)
    throw new CheckpointError(
      `tensor ${name}: its storage is compressed; torch.save never compresses storages`,
    );
  const need = ref.storage.numel * bytesPerElement(ref.storage.dtype as TensorDtype);
  if (entry.uncompressedSize < need) {
    throw new CheckpointError(
      `tensor ${name}: its storage has ${entry.uncompressedSize} bytes, ${need} expected (corrupt checkpoint)`,
    );
  }
  return { entry };
}

// ---------------------------------------------------------------------------------------------
// The pickle

function unpickleChecked(bytes: Buffer): PickleValue {
  try {
    return unpickle(bytes);
  } catch (e) {
    if (e instanceof PickleError) throw new CheckpointError(e.message);
    throw e;
  }
}

/** The name → tensor map: the pickled object itself, or its `state_dict` / `model` entry. */
function stateDictOf(root: PickleValue): Map<string, TensorRef> {
  let dict = root instanceof Map ? root : null;
  for (const key of ['state_dict', 'model', 'module']) {
    const inner = dict?.get(key);
    if (inner instanceof Map && !isTensor(inner)) dict = inner;
  }
  if (!dict) throw new CheckpointError('the checkpoint holds no state dict (a dict of tensors)');
  const out = new Map<string, TensorRef>();
  for (const [k, v] of dict) {
    if (typeof k !== 'string') throw new CheckpointError('the state dict has a key that is not a string');
    if (!isTensor(v)) throw new CheckpointError(`state dict entry ${k} is not a tensor`);
    out.set(k, v);
  }
  return out;
}

function floatDtype(name: string, ref: TensorRef): TensorDtype {
  if (!FLOAT_DTYPES.has(ref.storage.dtype)) {
    throw new CheckpointError(
      `tensor ${name} holds ${ref.storage.dtype} values; model weights are floating point`,
    );
  }
  return ref.storage.dtype as TensorDtype;
}

// ---------------------------------------------------------------------------------------------
// Strided tensors

/** Elements from the tensor's first to its last element in its storage (inclusive). */
function spanOf(ref: TensorRef): number {
  if (ref.shape.some((d) => d === 0)) return 0;
  return ref.shape.reduce((n, d, i) => n + (d - 1) * ref.stride[i], 0) + 1;
}

function isContiguous(ref: TensorRef): boolean {
  let expected = 1;
  for (let i = ref.shape.length - 1; i >= 0; i--) {
    if (ref.shape[i] !== 1 && ref.stride[i] !== expected) return false;
    expected *= ref.shape[i];
  }
  return true;
}

/** Row-major copy of a strided view (a transposed weight saved as a view, for instance). */
function gather(span: Float32Array, shape: readonly number[], stride: readonly number[]): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    let at = 0;
    for (let d = 0; d < shape.length; d++) at += index[d] * stride[d];
    out[i] = span[at];
    for (let d = shape.length - 1; d >= 0 && ++index[d] === shape[d]; d--) index[d] = 0;
  }
  return out;
}
