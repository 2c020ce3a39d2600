import type { AppApi } from '../../../app/api.js';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { InstallResult, ModelProgress, ModelSummary } from '../../../app/api.js';
import { PRECISIONS, type Precision } from '../../../app/precision.js';
import { printJson, UsageError, withService, type GlobalOptions } from '../context.js';

interface JsonFlag {
  json?: boolean;
}

interface InstallFlags extends JsonFlag {
  acceptLicence?: boolean;
  skipSelftest?: boolean;
  keepCheckpoint?: boolean;
  precision?: string;
}

/** Exit code of an install whose pack failed its self-test: installed, not made active. */
export class SelfTestFailed extends Error {}

/** `bindery models …`: the model packs of a catalogue (docs/architecture.md §4). */
export function registerModels(program: Command, g: () => GlobalOptions): void {
  const models = program.command('models').description('install, list, switch and remove model packs');
  models
    .command('available')
    .description('packs Bindery can install by name: size, disk needed, licence, source')
    .option('--json', 'print {"mirror":…,"models":[…]}')
    .action((o: JsonFlag) => withService(g(), (s) => available(s, o)));
  models
    .command('install <source>')
    .description(
      'install a pack by its id from `models available`, a pack (http(s) URL of its pack.json, or a ' +
        'folder), or an ImageBind checkpoint (.pth from torch.save or .safetensors, a file or a URL), ' +
        'converted here; downloads resume; the pack becomes active once its self-test passes',
    )
    .option(
      '--precision <p>',
      'checkpoints: fp16 (default; half the size, for GPUs on CUDA, DirectML, CoreML), fp32, int8 (a quarter of ' +
        'fp32; fastest on CPUs) or q8 (8-bit weights in blocks; fastest on WebGPU)',
    )
    .option('--accept-licence', "accept the weights' licence (ImageBind: non-commercial use only)")
    .option('--skip-selftest', 'do not run the self-test (the pack is then unverified and not made active)')
    .option('--keep-checkpoint', 'keep a downloaded checkpoint after a verified conversion')
    .option('--json', 'NDJSON {"progress":…} lines, then {"installed":{…,"verified":…}}')
    .action((source: string, o: InstallFlags) => withService(g(), (s) => install(s, source, o)));
  models
    .command('selftest <id>')
    .description("run an installed pack's self-test again (ImageBind: its README's matrices)")
    .option('--json', 'print {"model":{…}}')
    .action((id: string, o: JsonFlag) => withService(g(), (s) => selftest(s, id, o)));
  models
    .command('mirror [url]')
    .description('show, set or clear (--clear) the mirror used instead of the official download hosts')
    .option('--clear', 'use the official hosts again')
    .option('--json', 'print {"mirror":…}')
    .action((url: string | undefined, o: JsonFlag & { clear?: boolean }) =>
      withService(g(), (s) => mirror(s, url, o)),
    );
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

async function install(s: AppApi, source: string, o: InstallFlags): Promise<void> {
  if (o.precision !== undefined && !(PRECISIONS as readonly string[]).includes(o.precision))
    throw new UsageError(`--precision must be one of ${PRECISIONS.join(', ')}, not ${o.precision}`);
  const view = o.json ? jsonView() : process.stderr.isTTY ? barView() : quietView();
  const off = s.onModelProgress(view.progress);
  // Ctrl-C stops the install cleanly: the partial download stays, and the next install resumes it.
  const stop = () => void s.cancelModelInstall();
  process.once('SIGINT', stop);
  try {
    const installed = await s.installModel({
      source,
      precision: o.precision as Precision | undefined,
      acceptLicence: Boolean(o.acceptLicence),
      skipSelftest: Boolean(o.skipSelftest),
      keepCheckpoint: Boolean(o.keepCheckpoint),
    });
    view.stop();
    view.done(installed);
    if (!o.skipSelftest && !installed.verified && !installed.testPack) {
      throw new SelfTestFailed(
        `${installed.id} failed its self-test (${installed.selftest}); it is installed but not active ` +
          `(\`bindery models use ${installed.id}\` uses it anyway)`,
      );
    }
  } finally {
    process.off('SIGINT', stop);
    off();
    view.stop();
  }
}

async function available(s: AppApi, o: JsonFlag): Promise<void> {
  const a = await s.availableModels();
  if (o.json) return printJson(a);
  const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;
  for (const m of a.models) {
    console.log(`${m.id}${m.installed ? '  [installed]' : ''}`);
    console.log(`  ${m.name}: ${m.description}`);
    console.log(`  modalities: ${m.modalities.join(', ')}`);
    const download = m.localCheckpoint ? `none (using ${m.localCheckpoint})` : gb(m.downloadBytes);
    console.log(`  download: ${download}; disk needed: ${gb(m.diskBytes)}`);
    const terms = m.licence.terms.map((t) => `${t.name} (${t.statedIn})`).join(', ');
    console.log(`  licence: ${m.licence.summary.toUpperCase()}: ${terms}`);
    console.log(`  source: ${m.sourceUrl}`);
  }
  if (a.mirror) console.log(`mirror: ${a.mirror}`);
  console.log('install with: bindery models install <id> --accept-licence');
}

async function selftest(s: AppApi, id: string, o: JsonFlag): Promise<void> {
  const model = await s.selfTestModel({ id });
  if (o.json) printJson({ model });
  else console.log(`${id}: self-test ${model.verified ? 'passed' : 'failed'}: ${model.selftest}`);
  if (!model.verified) throw new SelfTestFailed(`${id} failed its self-test`);
}

async function mirror(s: AppApi, url: string | undefined, o: JsonFlag & { clear?: boolean }): Promise<void> {
  if (url && o.clear) throw new UsageError('give a mirror URL or --clear, not both');
  const a =
    url || o.clear ? await s.setModelMirror({ url: o.clear ? null : url! }) : await s.availableModels();
  if (o.json) return printJson({ mirror: a.mirror });
  console.log(a.mirror ? `mirror: ${a.mirror}` : 'no mirror: downloads come from the official hosts');
  if (process.env.BINDERY_MODEL_MIRROR) console.log('($BINDERY_MODEL_MIRROR is set and takes precedence)');
}

async function list(s: AppApi, o: JsonFlag): Promise<void> {
  const models = await s.listModels();
  if (o.json) printJson({ models });
  else printTable(models);
}

async function use(s: AppApi, id: string, o: JsonFlag): Promise<void> {
  const models = await s.useModel({ id });
  const serving = (await s.status()).servingModel;
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

async function remove(s: AppApi, id: string, o: JsonFlag): Promise<void> {
  const models = await s.removeModel({ id });
  if (o.json) printJson({ removed: id, models });
  else console.log(`removed ${id}`);
}

/** One line per pack, columns aligned; `*` marks the active one. */
function printTable(models: ModelSummary[]): void {
  const rows = models.map((m) => [
    `${m.active ? '*' : ' '} ${m.id}`,
    m.version,
    m.testPack ? 'test pack' : m.verified ? 'verified' : 'UNVERIFIED',
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
  console.log(`licence: ${m.licence}`);
  console.log(`self-test: ${m.verified ? 'passed' : 'not passed'}: ${m.selftest ?? 'not run'}`);
  if (m.testPack) console.log('test pack with random weights: search results will not be meaningful');
  if (!m.active) console.log(`make it active with: bindery models use ${m.id}`);
}

const MB = 1e6;

/** A live bar on a terminal: the phase, MB done of the total, speed and time left, the file. */
function barView(): View {
  const bar = new cliProgress.SingleBar(
    {
      format: '{phase} [{bar}] {done}/{total_mb} MB · {speed} MB/s · {eta} · {file}',
      hideCursor: true,
      clearOnComplete: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    progress(p) {
      const payload = {
        phase: p.phase.padEnd(8),
        done: (p.bytesDone / MB).toFixed(1),
        total_mb: ((p.bytesTotal ?? 0) / MB).toFixed(1),
        speed: p.bytesPerSec === null ? '–' : (p.bytesPerSec / MB).toFixed(1),
        eta: p.etaS === null ? 'ETA –' : `ETA ${formatDuration(p.etaS)}`,
        file: p.message ?? p.file ?? '',
      };
      if (!bar.isActive) bar.start(Math.max(p.bytesTotal ?? 1, 1), p.bytesDone, payload);
      bar.setTotal(Math.max(p.bytesTotal ?? 1, 1));
      bar.update(p.bytesDone, payload);
    },
    done: printInstalled,
    stop: () => bar.stop(),
  };
}

function formatDuration(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
