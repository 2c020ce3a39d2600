import path from 'node:path';
import type { Command } from 'commander';
import { printJson, UsageError, withService, type GlobalOptions } from '../context.js';

export function registerLibrary(program: Command, g: () => GlobalOptions): void {
  program
    .command('add')
    .description('add folders to the library (then run `bindery index`)')
    .argument('<folder...>', 'folders of photos, recordings and videos')
    .option('--json', 'print JSON')
    .action(async (folders: string[], o: { json?: boolean }) => {
      await withService(g(), async (s) => {
        const added = [];
        for (const f of folders) added.push(await s.addRoot({ path: path.resolve(f) }));
        if (o.json) printJson({ roots: added });
        else for (const r of added) console.log(`added ${r.path} (id ${r.id})`);
      });
    });

  program
    .command('remove')
    .description('remove a folder from the library (its files are never touched)')
    .argument('<folder>', 'a folder added before, or its id')
    .option('--json', 'print JSON')
    .action(async (folder: string, o: { json?: boolean }) => {
      await withService(g(), async (s) => {
        const id = /^\d+$/.test(folder)
          ? Number(folder)
          : (await s.listRoots()).find((r) => r.path === path.resolve(folder))?.id;
        if (!id)
          throw new UsageError(`${path.resolve(folder)} is not a library folder (see \`bindery status\`)`);
        const r = await s.removeRoot({ id });
        if (o.json) printJson(r);
        else console.log(`removed ${folder} (${r.removed} files forgotten)`);
      });
    });
}
