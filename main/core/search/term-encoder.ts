import { stat } from 'node:fs/promises';
import { ApiError } from '../../../app/errors.js';
import { ENCODER_FOR_INPUT, type InputKind } from '../../../app/modality.js';
import type { QueryTerm } from '../../../app/query.js';
import { meanDirection } from '../../../app/vector-math.js';
import { getEmbedding } from '../catalogue/contents.js';
import type { Engine, PackHandle } from '../engine/engine.js';
import { prepareInput } from '../modalities/inputs.js';
import { ClipTokenizer } from '../imagebind/text.js';

const CACHE_SIZE = 256;

/**
 * Embeds query terms and remembers them, so moving a weight slider re-ranks without re-encoding
 * (the cache key includes a file's size and mtime, so an edited file is encoded afresh).
 */
export class TermEncoder {
  private readonly cache = new Map<string, Float32Array>();
  /** Whether each encoded video has a soundtrack (by cache key): searching it as audio needs one. */
  private readonly sound = new Map<string, boolean>();
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
    const { vector, extra } =
      term.modality === 'text'
        ? await this.embedInput(handle, 'text', term.text)
        : await this.embedInput(handle, term.modality, term.path);
    this.cache.set(key, vector);
    if (typeof extra.hasAudio === 'boolean') this.sound.set(key, extra.hasAudio);
    if (this.cache.size > CACHE_SIZE) {
      const oldest = this.cache.keys().next().value!;
      this.cache.delete(oldest);
      this.sound.delete(oldest);
    }
    return vector;
  }

  /** For a video term encoded before: whether it has a soundtrack; undefined for anything else. */
  async hasSound(term: QueryTerm, handle: PackHandle = this.engine.serving): Promise<boolean | undefined> {
    if (term.modality !== 'video') return undefined;
    return this.sound.get(`${handle.id}\0${await this.key(term)}`);
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
    if (!v)
      throw new ApiError(
        'not_found',
        `segment ${segmentId} has no embedding in ${this.engine.serving.id}, the pack that answers searches`,
      );
    return v;
  }

  /** Text or a file, through the one input registry; clips and views are averaged as ImageBind does. */
  private async embedInput(
    handle: PackHandle,
    kind: InputKind,
    input: string,
  ): Promise<{ vector: Float32Array; extra: Record<string, unknown> }> {
    const { tensor, extra } = await prepareInput(kind, input, handle.pack.manifest, () =>
      this.loadTokenizer(handle),
    );
    const vectors = await handle.runtime.embed(ENCODER_FOR_INPUT[kind], tensor);
    return { vector: vectors.length === 1 ? vectors[0] : meanDirection(vectors), extra };
  }

  private loadTokenizer(handle: PackHandle): Promise<ClipTokenizer> {
    const { id, pack } = handle;
    const { manifest } = pack;
    if (!manifest.tokenizer) throw new Error(`the model pack ${id} has no tokenizer`);
    let tok = this.tokenizers.get(id);
    if (!tok) {
      tok = ClipTokenizer.load(pack.filePath(manifest.tokenizer.file), manifest.encoders.text?.preprocess);
      this.tokenizers.set(id, tok);
    }
    return tok;
  }
}
