/**
 * Runs the `stylegan` CLI in a child process under /usr/bin/time and checks how it ends on a hostile input: exit
 * code 1, one `stylegan: <file>: <problem>` line naming the file, and wall time and peak RSS within a budget.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './python.js';

/** The CLI under test (STYLEGAN_HOSTILE_CLI runs the suite against another build, e.g. to see a defect before its fix). */
export const CLI = process.env.STYLEGAN_HOSTILE_CLI ?? join(ROOT, 'dist', 'src', 'cli', 'main.js');
/** GNU time (Debian package `time`): reports the child's peak RSS. */
export const GNU_TIME = '/usr/bin/time';

export interface Budget {
  seconds: number;
  rssMiB: number;
}

/** The suite's default budget per case (the machine may be shared: the bounds are generous, the bugs were not). */
export const BUDGET: Budget = { seconds: 60, rssMiB: 1536 };

export interface ChildRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  seconds: number;
  rssMiB: number;
}

/** Runs the CLI with `args` in a child; a run past the time budget is killed (and then fails the checks). */
export function runChild(args: readonly string[], options: { env?: Record<string, string>; budget?: Budget } = {}): ChildRun {
  const budget = options.budget ?? BUDGET;
  const dir = mkdtempSync(join(tmpdir(), 'stylegan-time-'));
  const report = join(dir, 'rss');
  try {
    const started = process.hrtime.bigint();
    const r = spawnSync(GNU_TIME, ['-f', '%M', '-o', report, process.execPath, CLI, '--threads', '1', ...args], {
      encoding: 'utf8', env: { ...process.env, ...options.env }, timeout: budget.seconds * 1000 + 5000, killSignal: 'SIGKILL',
      maxBuffer: 16 << 20,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const kib = Number(/(\d+)\s*$/.exec(readFileSync(report, 'utf8').trim())?.[1] ?? NaN);
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, seconds, rssMiB: kib / 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Peak RSS of the worst case seen per reader, printed at the end of a suite (for reports). */
export const worstRss = new Map<string, { rssMiB: number; seconds: number; label: string }>();

/**
 * Asserts a hostile input was refused: exit 1, stderr `stylegan: <file>: …` matching `problem`, and wall time and
 * peak RSS within `budget`. `reader` groups the case in `worstRss`.
 */
export function assertRefused(r: ChildRun, file: string, problem: RegExp, reader: string, label: string, budget: Budget = BUDGET): void {
  const context = `${label}: code ${r.code} signal ${r.signal}, ${r.seconds.toFixed(1)} s, ${r.rssMiB.toFixed(0)} MiB, stderr ${JSON.stringify(r.stderr.slice(-600))}`;
  assert.equal(r.code, 1, context);
  const line = r.stderr.split(/[\r\n]/).find((l) => l.startsWith('stylegan: '));
  assert.ok(line !== undefined && line.startsWith(`stylegan: ${file}`), `names the file: ${context}`);
  assert.match(r.stderr, problem, context);
  assert.ok(r.seconds < budget.seconds, `time budget: ${context}`);
  assert.ok(r.rssMiB < budget.rssMiB, `memory budget: ${context}`);
  const worst = worstRss.get(reader);
  if (!worst || worst.rssMiB < r.rssMiB) worstRss.set(reader, { rssMiB: r.rssMiB, seconds: r.seconds, label });
}

/**
 * Asserts a damaged input either did no harm (exit 0: a flipped byte may land where it changes nothing that is
 * checked) or was refused as `assertRefused` requires; never a signal, a hang or a budget overrun.
 */
export function assertCleanEnd(r: ChildRun, file: string, reader: string, label: string, budget: Budget = BUDGET): void {
  const context = `${label}: code ${r.code} signal ${r.signal}, ${r.seconds.toFixed(1)} s, ${r.rssMiB.toFixed(0)} MiB, stderr ${JSON.stringify(r.stderr.slice(-600))}`;
  assert.ok(r.code === 0 || r.code === 1, context);
  assertRefused(r.code === 0 ? { ...r, code: 1, stderr: `stylegan: ${file}: (no harm)` } : r, file, /./, reader, label, budget);
}
