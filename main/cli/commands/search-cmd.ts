import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MEDIA_KINDS, type MediaKind } from '../../../app/modality.js';
import type { QueryInput, QueryTerm, SearchResponse } from '../../../app/query.js';
import { printJson, positiveInt, UsageError, withService, type GlobalOptions } from '../context.js';

interface SearchFlags {
  text: string[];
  image: string[];
  audio: string[];
  video: string[];
  depth: string[];
  thermal: string[];
  imu: string[];
  query?: string;
  k?: string;
  kind?: string;
  level?: string;
  json?: boolean;
}

const FILE_FLAGS = ['image', 'audio', 'video', 'depth', 'thermal', 'imu'] as const;
const collect = (v: string, prev: string[]) => [...prev, v];

export function registerSearch(program: Command, g: () => GlobalOptions): void {
  const cmd = program
    .command('search')
    .description('search the library with any mix of words and files (weights via --query)')
    .option('--text <words>', 'a text term (repeatable)', collect, [])
    .option(
      '--query <file>',
      'a JSON Query: {"terms":[{"modality":"image","path":"a.jpg","weight":0.7},…],"k":10}',
    )
    .option('--k <n>', 'number of results (default 20)')
    .option('--kind <kind>', `only ${MEDIA_KINDS.join('|')} files`)
    .option('--level <level>', 'files (default) or segments (every matching moment)')
    .option('--json', 'print JSON');
  for (const f of FILE_FLAGS) cmd.option(`--${f} <file>`, `a ${f} file as a term (repeatable)`, collect, []);
  cmd.action(async (o: SearchFlags) => {
    const query = await buildQuery(o);
    await withService(g(), async (s) => {
      const r = await s.search(query);
      if (o.json) printJson(r);
      else printHuman(r);
    });
  });
}

async function buildQuery(o: SearchFlags): Promise<QueryInput> {
  const base: QueryInput = o.query ? await readQueryFile(o.query) : { terms: [] };
  const terms: QueryInput['terms'] = [...base.terms.map(absolutise)];
  for (const text of o.text) terms.push({ modality: 'text', text, weight: 1 });
  for (const f of FILE_FLAGS)
    for (const p of o[f]) terms.push({ modality: f, path: path.resolve(p), weight: 1 });
  if (terms.length === 0)
    throw new UsageError('give at least one term: --text, --image, --audio, --video, … or --query');
  const query: QueryInput = { ...base, terms };
  if (o.k) query.k = positiveInt(o.k, '--k');
  if (o.kind) query.filters = { ...base.filters, kinds: [parseKind(o.kind)] };
  if (o.level) query.level = o.level as 'files';
  // zod loads only when a command needs it: `bindery --help` stays fast.
  const { QuerySchema } = await import('../../../app/query.js');
  const parsed = QuerySchema.safeParse(query);
  if (!parsed.success)
    throw new UsageError(`invalid query: ${parsed.error.issues.map(issueText).join('; ')}`);
  return query;
}

async function readQueryFile(file: string): Promise<QueryInput> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new UsageError(`cannot read query file ${file}`);
  });
  try {
    return JSON.parse(text) as QueryInput;
  } catch {
    throw new UsageError(`${file} is not valid JSON`);
  }
}

function absolutise(t: QueryInput['terms'][number]): QueryInput['terms'][number] {
  return 'path' in t && typeof t.path === 'string' ? { ...t, path: path.resolve(t.path) } : t;
}

function parseKind(k: string): MediaKind {
  if (!(MEDIA_KINDS as readonly string[]).includes(k))
    throw new UsageError(`--kind must be one of ${MEDIA_KINDS.join(', ')}`);
  return k as MediaKind;
}

function issueText(i: { path: PropertyKey[]; message: string }): string {
  return i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message;
}

function printHuman(r: SearchResponse): void {
  if (r.notMeaningful)
    console.log(
      'note: the pack answering searches is the random-weight test pack; rankings carry no meaning',
    );
  if (r.results.length === 0) console.log('no results');
  r.results.forEach((h, i) => {
    const at = h.segment ? ` @ ${h.segment.start.toFixed(2)}–${h.segment.end.toFixed(2)}s` : '';
    console.log(`${String(i + 1).padStart(3)}. ${h.score.toFixed(4)}  ${h.kind.padEnd(5)} ${h.path}${at}`);
  });
  console.log(`${r.results.length} results in ${r.tookMs} ms (${r.model}, ${r.backend})`);
}

export type { QueryTerm };
