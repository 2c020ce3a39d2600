import { ENCODER_FOR_INPUT, type InputKind } from '../../../app/modality.js';
import type { PackManifest } from '../../../app/pack.js';
import { preprocessAudio } from '../imagebind/audio.js';
import { preprocessImage } from '../imagebind/image.js';
import { preprocessImu } from '../imagebind/imu.js';
import { preprocessDepth, preprocessThermal } from '../imagebind/single-channel.js';
import type { Tensor } from '../imagebind/tensor.js';
import { textTensor, type ClipTokenizer } from '../imagebind/text.js';
import { preprocessVideo } from '../imagebind/video.js';

/**
 * One home for "an input of this kind → the batch its encoder takes" (docs/architecture.md §5):
 * query terms, `bindery embed` and `bindery preprocess` all come through here, so a kind is handled,
 * and a missing encoder refused, in one way. (Library files go through modalities/segments.ts, which also
 * plans segments.) `extra` is what the preprocessing found: clip windows, frame times, token ids.
 */
export interface PreparedInput {
  /** [items, …]: one item for a photo, a depth or thermal image and a text; clips or windows otherwise. */
  tensor: Tensor;
  extra: Record<string, unknown>;
}

/** The pack's tokenizer, from the caller (which caches it per pack). */
export type TokenizerLoader = () => Promise<ClipTokenizer>;

export async function prepareInput(
  kind: InputKind,
  input: string,
  manifest: PackManifest,
  tokenizer: TokenizerLoader,
): Promise<PreparedInput> {
  const enc = manifest.encoders;
  const modality = ENCODER_FOR_INPUT[kind];
  if (!enc[modality])
    throw new Error(
      `the model pack ${manifest.id} has no ${modality} encoder, so it cannot embed ${kind} input`,
    );
  const one = (t: Tensor): Tensor => ({ ...t, dims: [1, ...t.dims] }) as Tensor;
  switch (kind) {
    case 'text': {
      const tok = await tokenizer();
      return { tensor: textTensor(tok, [input]), extra: { ids: tok.tokenize(input) } };
    }
    case 'image':
      return { tensor: one(await preprocessImage(input, enc.vision!.preprocess)), extra: {} };
    case 'audio': {
      const a = await preprocessAudio(input, enc.audio!.preprocess);
      return { tensor: a.tensor, extra: { clips: a.clips, durationS: a.durationS } };
    }
    case 'video': {
      const v = await preprocessVideo(input, enc.vision!.preprocess);
      return {
        tensor: v.tensor,
        extra: { clips: v.clips, frameTimesS: v.frameTimesS, durationS: v.durationS, hasAudio: v.hasAudio },
      };
    }
    case 'depth':
      return { tensor: one(await preprocessDepth(input, enc.depth!.preprocess)), extra: {} };
    case 'thermal':
      return { tensor: one(await preprocessThermal(input, enc.thermal!.preprocess)), extra: {} };
    case 'imu': {
      const w = await preprocessImu(input, enc.imu!.preprocess);
      return { tensor: w.tensor, extra: { windows: w.windows, durationS: w.durationS } };
    }
  }
}
