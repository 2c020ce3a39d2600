import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { InstallResult, ModelProgress, ModelSummary } from '../../../app/api.js';
import type { CoreService } from '../../core/service.js';
import { printJson, UsageError, withService, type GlobalOptions } from '../context.js';

interface JsonFlag {
  json?: boolean;
}

interface InstallFlags extends JsonFlag {
  acceptLicence?: boolean;
  skipSelftest?: boolean;
  precision?: string;
}

/** `bindery models install|list|use|remove`: the model packs of a catalogue (docs/architecture.md §4). */
export function registerModels(program: Command, g: () => GlobalOptions): void {
  const models = program.command('models').description('install, list, switch and remove model packs');
  models
    .command('install <source>')
    .description(
      'download a pack (http(s) URL of its pack.json), import one (folder), or convert an ImageBind ' +
        'checkpoint (.pth from torch.save, or .safetensors); resumes downloads',
    )
    .option('--precision <p>', 'checkpoints: fp16 (default; half the size, fast on GPUs) or fp32')
    .option('--accept-licence', "accept the weights' licence (ImageBind: non-commercial use only)")
    .option('--skip-selftest', 'do not run the self-test after installing (the pack is then not verified)')
    .option('--json', 'NDJSON {"progress":…} lines, then {"installed":{…,"verified":…}}')
    .action((source: string, o: InstallFlags) => withService(g(), (s) => install(s, source, o)));
  models
    .command('list')
    .description('installed packs, the active one, and how much of the library each has embedded')
    .option('--json', 'print {"models":[…]}')
    .action((o: JsonFlag) => withService(g(), (s) => list(s, o)));
  models
    .command('use <id>')
    .description('make a pack active; the next `bindery index` re-embeds the library with it')
    .option('--json', 'print {"models":[…],"active":…,"servingModel":…}')
    .action((id: string, o: JsonFlag) => withService(g(), (s) => use(s, id, o)));
  models
    .command('remove <id>')
    .description('delete an installed pack that is not in use')
    .option('--json', 'print {"removed":…,"models":[…]}')
    .action((id: string, o: JsonFlag) => withService(g(), (s) => remove(s, id, o)));
}

async function install(s: CoreService, source: string, o: InstallFlags): Promise<void> {
  if (o.precision !== undefined && o.precision !== 'fp16' && o.precision !== 'fp32')
    throw new UsageError(`--precision must be fp16 or fp32, not ${o.precision}`);
  const view = o.json ? jsonView() : process.stderr.isTTY ? barView() : quietView();
  const off = s.onModelProgress(view.progress);
  try {
    const installed = await s.installModel({
      source,
      precision: o.precision as 'fp16' | 'fp32' | undefined,
      acceptLicence: Boolean(o.acceptLicence),
      skipSelftest: Boolean(o.skipSelftest),
    });
    view.stop();
    view.done(installed);
  } finally {
    off();
    view.stop();
  }
}

async function list(s: CoreService, o: JsonFlag): Promise<void> {
  const models = await s.listModels();
  if (o.json) printJson({ models });
  else printTable(models);
}

async function use(s: CoreService, id: string, o: JsonFlag): Promise<void> {
  const models = await s.useModel({ id });
  const serving = s.engine.serving.id;
  if (o.json) return printJson({ models, active: id, servingModel: serving });
  const m = models.find((x) => x.id === id)!;
  console.log(`active pack: ${m.id} (${m.name} ${m.version})`);
  if (serving === id) console.log('it has embedded the whole library and answers searches now');
  else {
    console.log(
      `the next \`bindery index\` re-embeds the library with it (${m.embeddedContents} of ${m.totalContents} done); ` +
        `until it finishes, search keeps using ${serving}`,
    );
  }
}

async function remove(s: CoreService, id: string, o: JsonFlag): Promise<void> {
  const models = await s.removeModel({ id });
  if (o.json) printJson({ removed: id, models });
  else console.log(`removed ${id}`);
}

/** One line per pack, columns aligned; `*` marks the active one. */
function printTable(models: ModelSummary[]): void {
  const rows = models.map((m) => [
    `${m.active ? '*' : ' '} ${m.id}`,
    m.version,
    m.licence,
    `${m.embeddedContents}/${m.totalContents} embedded`,
    m.testPack ? `${m.name} [test pack]` : m.name,
  ]);
  const widths = rows.reduce((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), [] as number[]);
  for (const r of rows) console.log(r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]) : c)).join('  '));
}

interface View {
  progress(p: ModelProgress): void;
  done(m: InstallResult): void;
  /** Leaves the terminal clean, whether the install succeeded or not. */
  stop(): void;
}

function jsonView(): View {
  return {
    progress: (p) => printJson({ progress: p }),
    done: (installed) => printJson({ installed }),
    stop: () => undefined,
  };
}

function quietView(): View {
  return { progress: () => undefined, done: printInstalled, stop: () => undefined };
}

function printInstalled(m: InstallResult): void {
  console.log(`installed ${m.name} ${m.version} (${m.id}) in ${m.dir}`);
  console.log(`self-test: ${m.verified ? 'passed' : 'not passed'}: ${m.selftest}`);
  if (m.testPack) console.log('test pack with random weights: search results will not be meaningful');
  if (!m.active) console.log(`make it active with: bindery models use ${m.id}`);
}

const MB = 1e6;

/** A live bar on a terminal: the file, MB done of the pack's total, and the speed of this run. */
function barView(): View {
  const bar = new cliProgress.SingleBar(
    {
      format: '{phase} [{bar}] {done}/{total_mb} MB · {speed} MB/s · {file}',
      hideCursor: true,
      clearOnComplete: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let start: { at: number; bytes: number } | null = null;
  return {
    progress(p) {
      // Speed counts only this run's bytes: resumed ones arrived earlier.
      start ??= { at: Date.now(), bytes: p.bytesDone };
      const secs = (Date.now() - start.at) / 1000;
      const payload = {
        phase: p.phase.padEnd(8),
        done: (p.bytesDone / MB).toFixed(1),
        total_mb: ((p.bytesTotal ?? 0) / MB).toFixed(1),
        speed: secs > 0 ? ((p.bytesDone - start.bytes) / MB / secs).toFixed(1) : '–',
        file: p.file ?? '',
      };
      if (!bar.isActive) bar.start(Math.max(p.bytesTotal ?? 1, 1), p.bytesDone, payload);
      bar.setTotal(Math.max(p.bytesTotal ?? 1, 1));
      bar.update(p.bytesDone, payload);
    },
    done: printInstalled,
    stop: () => bar.stop(),
  };
}
