import type { Command } from 'commander';
import type { Status } from '../../../app/api.js';
import { printJson, withService, type GlobalOptions } from '../context.js';

export function registerStatus(program: Command, g: () => GlobalOptions): void {
  program
    .command('status')
    .description('library counts, failures, model pack, execution provider and vector backend')
    .option('--json', 'print JSON')
    .option('--load-encoders', 'load every encoder first, so the execution provider of each is reported')
    .action(async (o: { json?: boolean; loadEncoders?: boolean }) => {
      await withService(g(), async (s) => {
        const st = await s.status({ loadEncoders: o.loadEncoders });
        if (o.json) printJson(st);
        else printHuman(st);
      });
    });
}

function printHuman(st: Status): void {
  const m = st.model;
  console.log(`catalogue  ${st.catalogue}`);
  console.log(`model      ${m.name} ${m.version} (${m.id}) · licence ${m.licence.name}`);
  if (m.testPack) console.log('           test pack with random weights: search results are not meaningful');
  const eps = Object.entries(m.providers).map(([k, v]) => `${k}:${v.provider}`);
  console.log(
    `providers  order ${m.providerOrder.join(' → ')}${eps.length ? ` · active ${eps.join(' ')}` : ''}`,
  );
  for (const [k, v] of Object.entries(m.providers))
    for (const f of v.fallbacks) console.log(`           ${k}: ${f.provider} unavailable (${f.reason})`);
  console.log(
    `vectors    ${st.vectors.backend} · ${st.vectors.count} vectors of ${st.vectors.dim}-d · ${st.segments} segments`,
  );
  const f = st.files;
  console.log(
    `files      ${f.indexed} indexed · ${f.pending} pending · ${f.failed} failed · ${f.missing} missing`,
  );
  for (const [kind, c] of Object.entries(st.byKind))
    console.log(`  ${kind.padEnd(8)} ${c.indexed} indexed · ${c.failed} failed`);
  for (const r of st.roots) {
    console.log(`folder     ${r.path} (${r.status}) · ${r.files.indexed} indexed`);
    // What the last scan could not read: its files are kept until it can be read again.
    for (const u of r.unreachable) console.log(`  unreadable ${u.path}: ${u.error} (its files are kept)`);
    if (r.unreachableTotal > r.unreachable.length)
      console.log(`  … and ${r.unreachableTotal - r.unreachable.length} more unreadable paths`);
    for (const k of r.skipped) console.log(`  skipped ${k.path}: ${k.reason}`);
    if (r.skippedTotal > r.skipped.length)
      console.log(`  … and ${r.skippedTotal - r.skipped.length} more skipped entries`);
  }
  if (st.failures.length) console.log('failures:');
  for (const x of st.failures) console.log(`  ${x.path}: ${x.error}`);
}
