import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { InputKind } from '../../../app/modality.js';
import type { PackManifest } from '../../../app/pack.js';
import { loadPack, type LoadedPack } from '../../core/models/pack.js';
import { bundledTestPackDir } from '../../core/paths.js';
import { preprocessAudio } from '../../core/preprocess/audio.js';
import { preprocessImage } from '../../core/preprocess/image.js';
import { preprocessImu } from '../../core/preprocess/imu.js';
import { preprocessDepth, preprocessThermal } from '../../core/preprocess/single-channel.js';
import { tensorBytes, type Tensor } from '../../core/preprocess/tensor.js';
import { ClipTokenizer, textTensor } from '../../core/preprocess/text.js';
import { preprocessVideo } from '../../core/preprocess/video.js';
import { UsageError } from '../context.js';

/** `bindery preprocess`'s work, loaded only when that command runs (decoders are heavy to import). */
export async function preprocessToFile(
  kind: InputKind,
  input: string,
  packDir: string | undefined,
  out: string | undefined,
): Promise<{ tensor: Tensor; extra: object }> {
  const pack = await loadPack(packDir ? path.resolve(packDir) : bundledTestPackDir());
  const result = await preprocess(kind, input, pack);
  if (out) await writeFile(out, tensorBytes(result.tensor));
  return result;
}

/** The per-input tensor, without the batch axis ImageBind adds when it stacks several inputs. */
async function preprocess(
  kind: InputKind,
  input: string,
  pack: LoadedPack,
): Promise<{ tensor: Tensor; extra: object }> {
  const enc: PackManifest['encoders'] = pack.manifest.encoders;
  switch (kind) {
    case 'text': {
      if (!pack.manifest.tokenizer) throw new UsageError('this model pack has no tokenizer');
      const tok = await ClipTokenizer.load(pack.filePath(pack.manifest.tokenizer.file), enc.text?.preprocess);
      const t = textTensor(tok, [input]);
      return { tensor: { ...t, dims: t.dims.slice(1) }, extra: { ids: tok.tokenize(input) } };
    }
    case 'image':
      return { tensor: await preprocessImage(input, enc.vision?.preprocess), extra: {} };
    case 'audio': {
      const a = await preprocessAudio(input, enc.audio?.preprocess);
      return { tensor: a.tensor, extra: { clips: a.clips, durationS: a.durationS } };
    }
    case 'video': {
      const v = await preprocessVideo(input, enc.vision?.preprocess);
      return {
        tensor: v.tensor,
        extra: { clips: v.clips, frameTimesS: v.frameTimesS, durationS: v.durationS },
      };
    }
    case 'depth':
      return { tensor: await preprocessDepth(input, requireParams(enc.depth, 'depth')), extra: {} };
    case 'thermal':
      return { tensor: await preprocessThermal(input, requireParams(enc.thermal, 'thermal')), extra: {} };
    case 'imu': {
      const w = await preprocessImu(input, requireParams(enc.imu, 'imu'));
      return { tensor: w.tensor, extra: { windows: w.windows, durationS: w.durationS } };
    }
  }
}

function requireParams<P>(e: { preprocess: P } | undefined, name: string): P {
  if (!e) throw new UsageError(`this model pack has no ${name} encoder`);
  return e.preprocess;
}
