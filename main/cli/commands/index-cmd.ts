import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { IndexProgress, IndexSummary } from '../../../app/indexing.js';
import { printJson, withService, type GlobalOptions } from '../context.js';

interface IndexFlags {
  json?: boolean;
  retryFailed?: boolean;
}

export function registerIndex(program: Command, g: () => GlobalOptions): void {
  program
    .command('index')
    .description('scan the library folders and embed new or changed files (resumes after any interruption)')
    .option('--json', 'NDJSON progress lines, then {"summary":{…}}')
    .option('--retry-failed', 'try files that failed before again')
    .action(async (o: IndexFlags) => {
      await withService(g(), async (s) => {
        const view = o.json ? jsonView() : process.stderr.isTTY ? barView() : quietView();
        const off = s.onIndexProgress(view.progress);
        const abort = () => void s.cancelIndex();
        process.once('SIGINT', abort);
        try {
          view.done(await s.index({ retryFailed: o.retryFailed }));
        } finally {
          off();
          process.off('SIGINT', abort);
        }
      });
    });
}

interface View {
  progress(p: IndexProgress): void;
  done(summary: IndexSummary): void;
}

function jsonView(): View {
  return { progress: (p) => printJson({ progress: p }), done: (summary) => printJson({ summary }) };
}

function quietView(): View {
  return { progress: () => undefined, done: (s) => console.log(summaryLine(s)) };
}

/** A live bar on a terminal: files, rate, ETA and the file being read. */
function barView(): View {
  const bar = new cliProgress.SingleBar(
    {
      format: '{phase} [{bar}] {value}/{total} files · {rate}/s · ETA {eta_s} · {current}',
      hideCursor: true,
      clearOnComplete: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    progress(p) {
      const payload = {
        phase: p.phase.padEnd(7),
        rate: p.filesPerSec.toFixed(1),
        eta_s: p.etaS === null ? '–' : `${p.etaS}s`,
        current: shorten(p.current ?? ''),
      };
      if (!started) bar.start(Math.max(p.filesTotal, 1), p.filesDone, payload);
      started = true;
      bar.setTotal(Math.max(p.filesTotal, 1));
      bar.update(p.filesDone, payload);
    },
    done(s) {
      if (started) bar.stop();
      console.log(summaryLine(s));
    },
  };
}

export function summaryLine(s: IndexSummary): string {
  return `indexed ${s.indexed} · unchanged ${s.skipped} · moved ${s.moved} · failed ${s.failed} · removed ${s.removed} · segments embedded ${s.embedded}`;
}

function shorten(p: string): string {
  return p.length > 48 ? `…${p.slice(-47)}` : p;
}
