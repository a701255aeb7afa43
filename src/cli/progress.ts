/**
 * One progress display for every long command: a cli-progress bar on a terminal; without one (logs, CI, pipes) a
 * plain line on stderr every 10 s (or `lineEverySec`) and at the end of work that took longer, so a long run never
 * stays silent. Lines printed through `log` (a training tick) go above the bar.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** `done` of `total` units finished; `detail` (the current file, a loss) shows after the count. */
  update(done: number, total?: number, detail?: string): void;
  /** Prints `line` on stderr above the display. */
  log(line: string): void;
  /** Ends the display (a final line without a terminal); again, does nothing. */
  stop(): void;
}

export interface ProgressOptions {
  /** Names the work. */
  label: string;
  unit: string;
  total: number;
  /**
   * `detail` is the whole status, count and time left included (a training run: kimg, resolution and lod, losses,
   * augmentation p, img/s, ETA to --kimg or --max-minutes): the bar shows its percentage and the detail, from the
   * first update whatever the total.
   */
  status?: boolean;
  /** Seconds between plain lines without a terminal (10). */
  lineEverySec?: number;
}

/** A progress display for `total` `unit`s; `label` names the work. Nothing shows for work of one step or less. */
export function progress(label: string, unit: string, total: number): Progress {
  return progressDisplay({ label, unit, total });
}

/** The display of `o` (see ProgressOptions). */
export function progressDisplay({ label, unit, total, status = false, lineEverySec = 10 }: ProgressOptions): Progress {
  let last = { done: 0, total, detail: '' };
  const shows = (n: number) => (status ? n > 0 : n > 1);
  if (process.stderr.isTTY) {
    const format = status ? ` ${label} {bar} {percentage}% | {detail}` : ` ${label} {bar} {value}/{total} ${unit} | {eta_formatted} left {detail}`;
    const bar = new cliProgress.SingleBar({ format, hideCursor: true }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
      update(done, n = last.total, detail = '') {
        last = { done, total: n, detail };
        if (!started && shows(n)) {
          bar.start(n, 0, { detail });
          started = true;
        }
        if (started) bar.update(done, { detail });
      },
      log(line) {
        if (!started) return void process.stderr.write(`${line}\n`);
        // The bar ends on its own line; the line takes that line's place and the bar goes on below it.
        bar.stop();
        process.stderr.write(`\x1b[1A\r\x1b[2K${line}\n`);
        bar.start(last.total, last.done, { detail: last.detail });
      },
      stop: () => started && bar.stop(),
    };
  }
  const everyMs = lineEverySec * 1000;
  const started = Date.now();
  let shown = started;
  let ended = false;
  const text = () => (status ? last.detail : `${last.done}/${last.total} ${unit}${last.detail === '' ? '' : ` ${last.detail}`}`);
  const line = () => process.stderr.write(`${label}: ${text()}\n`);
  return {
    update(done, n = last.total, detail = '') {
      last = { done, total: n, detail };
      if (Date.now() - shown >= everyMs) {
        shown = Date.now();
        line();
      }
    },
    log: (l) => process.stderr.write(`${l}\n`),
    stop() {
      if (!ended && Date.now() - started >= everyMs) line();
      ended = true;
    },
  };
}

/** Runs `work` with a progress display, stopping it however the work ends. */
export async function withProgress<T>(o: ProgressOptions, work: (p: Progress) => Promise<T> | T): Promise<T> {
  const p = progressDisplay(o);
  try {
    return await work(p);
  } finally {
    p.stop();
  }
}
