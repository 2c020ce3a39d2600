import type { Command } from 'commander';
import path from 'node:path';
import { INPUT_KINDS } from '../../../app/modality.js';
import { inputKindArg, printJson, withService, type GlobalOptions } from '../context.js';

/**
 * `bindery embed <modality> <file-or-text>`: the L2-normalised vector the active pack gives one
 * input — what the index stores for it (the file-level vector for audio and video) — for
 * scripting, and so anyone can compare Bindery's output with ImageBind's.
 */
export function registerEmbed(program: Command, g: () => GlobalOptions): void {
  program
    .command('embed')
    .description('print the vector the active pack gives an input (what the index stores for it)')
    .argument('<modality>', INPUT_KINDS.join('|'))
    .argument('<input>', 'a file, or the text itself for text')
    .option('--json', 'print {"modality","pack","dim","vector":[…]}')
    .action((modality: string, input: string, o: { json?: boolean }) => {
      const kind = inputKindArg(modality);
      const req =
        kind === 'text' ? { modality: kind, text: input } : { modality: kind, path: path.resolve(input) };
      return withService(g(), async (s) => {
        const e = await s.embed(req);
        if (o.json) printJson(e);
        else
          console.log(
            `${e.modality} · ${e.pack} · ${e.dim} dims\n${e.vector.map((v) => v.toFixed(6)).join(' ')}`,
          );
      });
    });
}
