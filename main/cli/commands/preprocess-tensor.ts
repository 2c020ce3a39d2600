import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { InputKind } from '../../../app/modality.js';
import { loadPack } from '../../core/packs/pack.js';
import { bundledTestPackDir } from '../../core/paths.js';
import { prepareInput } from '../../core/modalities/inputs.js';
import { tensorBytes, type Tensor } from '../../core/imagebind/tensor.js';
import { ClipTokenizer } from '../../core/imagebind/text.js';
import { UsageError } from '../context.js';

/** Kinds ImageBind embeds one item at a time: the file's tensor has no batch axis. */
const SINGLE_ITEM: readonly InputKind[] = ['text', 'image', 'depth', 'thermal'];

/**
 * `bindery preprocess`'s work, loaded only when that command runs (decoders are heavy to import):
 * the per-input tensor, without the batch axis ImageBind adds when it stacks several inputs.
 */
export async function preprocessToFile(
  kind: InputKind,
  input: string,
  packDir: string | undefined,
  out: string | undefined,
): Promise<{ tensor: Tensor; extra: object }> {
  const pack = await loadPack(packDir ? path.resolve(packDir) : bundledTestPackDir());
  const { manifest } = pack;
  const tokenizer = () => {
    if (!manifest.tokenizer) throw new UsageError('this model pack has no tokenizer');
    return ClipTokenizer.load(pack.filePath(manifest.tokenizer.file), manifest.encoders.text?.preprocess);
  };
  const { tensor: batch, extra } = await prepareInput(kind, input, manifest, tokenizer);
  const tensor = SINGLE_ITEM.includes(kind) ? ({ ...batch, dims: batch.dims.slice(1) } as Tensor) : batch;
  if (out) await writeFile(out, tensorBytes(tensor));
  return { tensor, extra };
}
