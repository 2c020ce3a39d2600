import type { Command } from 'commander';
import { INPUT_KINDS } from '../../../app/modality.js';
import { inputKindArg, printJson, type GlobalOptions } from '../context.js';

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
      const { preprocessToFile } = await import('./preprocess-tensor.js');
      const { tensor, extra } = await preprocessToFile(kind, input, g().pack, o.out);
      const info = { modality, shape: tensor.dims, dtype: tensor.dtype, ...extra };
      if (o.json) printJson(info);
      else
        console.log(`${modality}: ${tensor.dtype} [${tensor.dims.join(', ')}]${o.out ? ` → ${o.out}` : ''}`);
    });
}
