/**
 * One progress display for every long command: a cli-progress bar on a terminal; without one (logs, CI, pipes) a
 * plain line on stderr every 10 s and at the end of work that took longer, so a long run never stays silent.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** `done` of `total` units finished; `detail` (the current file, a loss) shows after the count. */
  update(done: number, total?: number, detail?: string): void;
  /** Ends the display (a final line without a terminal). */
  stop(): void;
}

const LINE_EVERY_MS = 10_000;

/** A progress display for `total` `unit`s; `label` names the work. Nothing shows for work of one step or less. */
export function progress(label: string, unit: string, total: number): Progress {
  let last = { done: 0, total, detail: '' };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({ format: ` ${label} {bar} {value}/{total} ${unit} | {eta_formatted} left {detail}`, hideCursor: true }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
      update(done, n = last.total, detail = '') {
        last = { done, total: n, detail };
        if (!started && n > 1) {
          bar.start(n, 0, { detail });
          started = true;
        }
        if (started) bar.update(done, { detail });
      },
      stop: () => started && bar.stop(),
    };
  }
  const started = Date.now();
  let shown = started;
  const line = () => process.stderr.write(`${label}: ${last.done}/${last.total} ${unit}${last.detail === '' ? '' : ` ${last.detail}`}\n`);
  return {
    update(done, n = last.total, detail = '') {
      last = { done, total: n, detail };
      if (Date.now() - shown >= LINE_EVERY_MS) {
        shown = Date.now();
        line();
      }
    },
    stop: () => Date.now() - started >= LINE_EVERY_MS && line(),
  };
}

/** Runs `work` with a progress display, stopping it however the work ends. */
export async function withProgress<T>({ label, unit, total }: { label: string; unit: string; total: number }, work: (p: Progress) => Promise<T> | T): Promise<T> {
  const p = progress(label, unit, total);
  try {
    return await work(p);
  } finally {
    p.stop();
  }
}
