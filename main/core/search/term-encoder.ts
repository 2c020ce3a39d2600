import { stat } from 'node:fs/promises';
import { ApiError } from '../../../app/errors.js';
import { ENCODER_FOR_INPUT, type InputKind } from '../../../app/modality.js';
import type { QueryTerm } from '../../../app/query.js';
import { meanDirection } from '../../../app/vector-math.js';
import { getEmbedding } from '../db/contents.js';
import type { Engine, PackHandle } from '../engine.js';
import { preprocessAudio } from '../preprocess/audio.js';
import { preprocessImage } from '../preprocess/image.js';
import { preprocessImu } from '../preprocess/imu.js';
import { preprocessDepth, preprocessThermal } from '../preprocess/single-channel.js';
import type { Tensor } from '../preprocess/tensor.js';
import { ClipTokenizer, textTensor } from '../preprocess/text.js';
import { preprocessVideo } from '../preprocess/video.js';

const CACHE_SIZE = 256;

/**
 * Embeds query terms and remembers them, so moving a weight slider re-ranks without re-encoding
 * (the cache key includes a file's size and mtime, so an edited file is encoded afresh).
 */
export class TermEncoder {
  private readonly cache = new Map<string, Float32Array>();
  private readonly tokenizers = new Map<string, Promise<ClipTokenizer>>();

  constructor(private readonly engine: Engine) {}

  /** A term's vector from `handle`'s pack (default: the pack serving queries). */
  async encode(term: QueryTerm, handle: PackHandle = this.engine.serving): Promise<Float32Array> {
    if (term.modality === 'segment') return this.segmentVector(term.segmentId);
    // Keyed by pack too: after a pack is promoted, its vectors live in another space.
    const key = `${handle.id}\0${await this.key(term)}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const v =
      term.modality === 'text'
        ? await this.embedText(handle, term.text)
        : await this.embedFile(handle, term.modality, term.path);
    this.cache.set(key, v);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    return v;
  }

  private async key(term: Exclude<QueryTerm, { modality: 'segment' }>): Promise<string> {
    if (term.modality === 'text') return `text\0${term.text}`;
    const s = await stat(term.path).catch(() => {
      throw new ApiError('invalid_request', `cannot read the file ${JSON.stringify(term.path)}`);
    });
    // A FIFO, a device or a folder is never opened: reading one could block or never end.
    if (!s.isFile())
      throw new ApiError('invalid_request', `${JSON.stringify(term.path)} is not a regular file`);
    return `${term.modality}\0${term.path}\0${s.size}\0${s.mtimeMs}`;
  }

  private segmentVector(segmentId: number): Float32Array {
    const v = getEmbedding(this.engine.db, segmentId, this.engine.serving.id);
    if (!v) throw new ApiError('not_found', `segment ${segmentId} has no embedding in the active model pack`);
    return v;
  }

  private async embedText(handle: PackHandle, text: string): Promise<Float32Array> {
    const tok = await this.loadTokenizer(handle);
    const [v] = await handle.runtime.embed('text', textTensor(tok, [text]));
    return v;
  }

  private loadTokenizer(handle: PackHandle): Promise<ClipTokenizer> {
    const { id, pack } = handle;
    const { manifest } = pack;
    if (!manifest.tokenizer || !manifest.encoders.text)
      throw new Error('the active model pack has no text encoder');
    let tok = this.tokenizers.get(id);
    if (!tok) {
      tok = ClipTokenizer.load(pack.filePath(manifest.tokenizer.file), manifest.encoders.text.preprocess);
      this.tokenizers.set(id, tok);
    }
    return tok;
  }

  /** A file term: the same preprocessing as ingest; clips and views are averaged as ImageBind does. */
  private async embedFile(
    handle: PackHandle,
    kind: Exclude<InputKind, 'text'>,
    file: string,
  ): Promise<Float32Array> {
    const modality = ENCODER_FOR_INPUT[kind];
    if (!handle.pack.encoders.includes(modality))
      throw new Error(`the active model pack cannot embed ${kind} input`);
    const vectors = await handle.runtime.embed(modality, await preprocessQueryFile(handle, kind, file));
    return vectors.length === 1 ? vectors[0] : meanDirection(vectors);
  }
}

/** The batched tensor a query file of each kind turns into. */
export async function preprocessQueryFile(
  handle: PackHandle,
  kind: Exclude<InputKind, 'text'>,
  file: string,
): Promise<Tensor> {
  const enc = handle.pack.manifest.encoders;
  const single = (t: Tensor): Tensor => ({ ...t, dims: [1, ...t.dims] }) as Tensor;
  switch (kind) {
    case 'image':
      return single(await preprocessImage(file, enc.vision?.preprocess));
    case 'video':
      return (await preprocessVideo(file, enc.vision?.preprocess)).tensor;
    case 'audio':
      return (await preprocessAudio(file, enc.audio?.preprocess)).tensor;
    case 'depth':
      return single(await preprocessDepth(file, enc.depth!.preprocess));
    case 'thermal':
      return single(await preprocessThermal(file, enc.thermal!.preprocess));
    case 'imu':
      return (await preprocessImu(file, enc.imu!.preprocess)).tensor;
  }
}
