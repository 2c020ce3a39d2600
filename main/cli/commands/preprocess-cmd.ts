import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { INPUT_KINDS, type InputKind } from '../../../app/modality.js';
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
import { inputKindArg, printJson, UsageError, type GlobalOptions } from '../context.js';

interface Flags {
  out?: string;
  json?: boolean;
}

export function registerPreprocess(program: Command, g: () => GlobalOptions): void {
  program
    .command('preprocess')
    .description('write the exact tensor an encoder receives (raw little-endian float32, int64 for text)')
    .argument('<modality>', INPUT_KINDS.join('|'))
    .argument('<input>', 'a file, or the text itself for text')
    .option('--out <file>', 'write the tensor here')
    .option('--json', 'print {"modality","shape","dtype"} (and "ids" for text)')
    .action(async (modality: string, input: string, o: Flags) => {
      const kind = inputKindArg(modality);
      const pack = await loadPack(g().pack ? path.resolve(g().pack!) : bundledTestPackDir());
      const { tensor, extra } = await preprocess(kind, input, pack);
      if (o.out) await writeFile(o.out, tensorBytes(tensor));
      const info = { modality, shape: tensor.dims, dtype: tensor.dtype, ...extra };
      if (o.json) printJson(info);
      else
        console.log(`${modality}: ${tensor.dtype} [${tensor.dims.join(', ')}]${o.out ? ` → ${o.out}` : ''}`);
    });
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
