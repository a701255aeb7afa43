/**
 * What every benchmark against the PyTorch peer shares: timing our cases (the protocol of src/cli/timing.ts, which
 * mirrors bench/py/bench_common.py), running the peer script with the same work, pairing both medians into
 * PyTorch time / our time (> 1: stylegan-ts is faster), the report and its table, and the script entry point.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from '../src/engine/index.js';
import { timeCase, type Timing } from '../src/cli/timing.js';

/** One case's timing, as the peer reports it. */
export type CaseTiming = Timing & { config: Record<string, unknown>; us_per_call?: number; images_per_s?: number };

export interface PeerReport {
  env: Record<string, unknown>;
  results: Record<string, CaseTiming>;
}

export type PeerOutcome =
  | { status: 'ok'; report: PeerReport }
  | { status: 'unavailable' | 'skipped' | 'failed'; reason: string };

export interface ComparedCase {
  stylegan_ts: CaseTiming;
  pytorch: CaseTiming | null;
  /** PyTorch's median / ours (> 1: we are faster); null without the peer. */
  ratio: number | null;
}

export interface BenchReport<B extends string = string> {
  bench: B;
  env: { stylegan_ts: Record<string, unknown>; pytorch: Record<string, unknown> | null };
  peer: { status: PeerOutcome['status']; reason?: string; command: string };
  results: Record<string, ComparedCase>;
  /** Native tensors alive after the TypeScript side finished minus before it started (0 = nothing leaked). */
  leaked_tensors: number;
}

/** What both sides share: where and how long to run, and how to reach the peer. */
export interface CompareOptions {
  device: string;
  threads: number;
  iters: number;
  warmup: number;
  seed: number;
  /** Interpreter of the peer (one with torch). */
  python: string;
  /** false: time stylegan-ts only. */
  peer: boolean;
  /** Progress lines (case names as they start); silent when omitted. */
  progress?: (line: string) => void;
}

/** One case of our side: the timed call, the configuration it reports (the peer's keys) and its images per call. */
export interface BenchCase {
  step: () => unknown;
  config: Record<string, unknown>;
  /** Images per call: adds images_per_s = batch / median. */
  batch?: number;
  /** Frees what the case built (called right after it was timed). */
  dispose?: () => void;
}

/** Absolute path of a peer script in bench/py/ (this module runs from dist/bench/). */
export const peerScript = (file: string): string => fileURLToPath(new URL(`../../bench/py/${file}`, import.meta.url));

/** `{ a: 1, quick: true, skip: false }` → ['--a', '1', '--quick']: the peer's command-line flags. */
export function flagArgs(flags: Record<string, string | number | boolean>): string[] {
  return Object.entries(flags).flatMap(([k, v]) => (v === false ? [] : v === true ? [`--${k}`] : [`--${k}`, String(v)]));
}

/** images / s from a median, as bench_common.images_per_s. */
export const imagesPerSecond = (t: Timing, batch: number): number => (batch * 1e3) / t.ms_per_iter;

/** Our side's timings, the native tensors the cases leaked, and those their first calls left alive (caches). */
export interface OurTimings {
  results: Record<string, CaseTiming>;
  leaked: number;
  firstCallTensors: number;
}

/**
 * Runs our side of a bench with `o.threads` threads and the global generator seeded with `o.seed`. `leaked` is the
 * larger of what the cases leaked (see `timeCases`) and what the whole run left alive beyond what first calls cached.
 */
export function runOurSide(o: CompareOptions, timeAll: () => OurTimings): { results: Record<string, CaseTiming>; leaked: number } {
  E.setNumThreads(o.threads);
  const before = E.memoryStats().liveTensors;
  E.manualSeed(o.seed);
  const t = timeAll();
  return { results: t.results, leaked: Math.max(t.leaked, E.memoryStats().liveTensors - before - t.firstCallTensors) };
}

const liveTensors = () => E.memoryStats().liveTensors;

/**
 * Times `names` in order; each case is built by `build` just before it is timed and disposed right after. A case's
 * leak is the larger of the growth over its calls after the first (a step that leaks leaks every time) and what it
 * left after disposal beyond the growth of its first call (which may fill caches: blur kernels, prepared weights);
 * with a single call that growth cannot be told apart and counts as leaked.
 */
export function timeCases(names: readonly string[], build: (name: string) => BenchCase, o: CompareOptions): OurTimings {
  const results: Record<string, CaseTiming> = {};
  let leaked = 0;
  let firstCallTensors = 0;
  for (const name of names) {
    o.progress?.(`stylegan-ts: ${name}`);
    const beforeBuild = liveTensors();
    const c = E.tidy(() => build(name));
    // Live tensors as each call starts, i.e. after the previous call's scope closed, and after the last one.
    const starts: number[] = [];
    let end = 0;
    try {
      const step = () => {
        starts.push(liveTensors());
        return c.step();
      };
      const timing: CaseTiming = { config: c.config, ...timeCase(step, o) };
      end = liveTensors();
      if (c.batch !== undefined) timing.images_per_s = imagesPerSecond(timing, c.batch);
      results[name] = timing;
    } finally {
      c.dispose?.();
    }
    const [first, later] = starts.length > 1 ? [starts[1]! - starts[0]!, end - starts[1]!] : [0, 0];
    leaked += Math.max(later, liveTensors() - beforeBuild - first);
    firstCallTensors += first;
  }
  return { results, leaked, firstCallTensors };
}

const lastLines = (text: string, n: number) => text.trim().split('\n').slice(-n).join(' | ');

/**
 * Runs a peer script (`args` = the script and its flags) and reads its one JSON object; a missing interpreter, torch
 * or device makes it 'unavailable', anything else that goes wrong (including a missing case) 'failed'.
 */
export function runPeerScript(o: CompareOptions, args: readonly string[], cases: readonly string[]): PeerOutcome {
  if (!o.peer) return { status: 'skipped', reason: 'disabled with --no-peer' };
  const script = args[0]!;
  if (!existsSync(script)) return { status: 'unavailable', reason: `${script} is missing (it ships with the repository)` };
  o.progress?.(`PyTorch: ${cases.join(', ')}`);
  const r = spawnSync(o.python, args, { encoding: 'utf8', maxBuffer: 1 << 26, timeout: 60 * 60 * 1000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? { status: 'unavailable', reason: `${o.python} not found` }
      : { status: 'failed', reason: `${o.python}: ${r.error.message}` };
  }
  if (r.status !== 0) {
    if (/No module named '?torch'?/.test(r.stderr)) {
      return { status: 'unavailable', reason: `${o.python} cannot import torch (apt install python3-torch, or pip install torch)` };
    }
    if (/CUDA is not available/.test(r.stderr)) return { status: 'unavailable', reason: lastLines(r.stderr, 1) };
    return { status: 'failed', reason: `exit ${r.status ?? r.signal}: ${lastLines(r.stderr, 3)}` };
  }
  try {
    const report = JSON.parse(r.stdout) as PeerReport;
    for (const name of cases) if (!report.results?.[name]) throw new Error(`no result for ${name}`);
    return { status: 'ok', report };
  } catch (e) {
    return { status: 'failed', reason: `unreadable output (${(e as Error).message}): ${r.stdout.slice(0, 200)}` };
  }
}

/** Pairs our results with the peer's into a report (the peer's command line included, to rerun it alone). */
export function compareWithPeer<B extends string>(
  bench: B, ours: { results: Record<string, CaseTiming>; leaked: number }, peer: PeerOutcome, o: CompareOptions, peerArgs: readonly string[],
): BenchReport<B> {
  const peerResults = peer.status === 'ok' ? peer.report.results : null;
  const results: Record<string, ComparedCase> = {};
  for (const [name, t] of Object.entries(ours.results)) {
    const p = peerResults?.[name] ?? null;
    results[name] = { stylegan_ts: t, pytorch: p, ratio: p ? p.ms_per_iter / t.ms_per_iter : null };
  }
  return {
    bench,
    env: {
      stylegan_ts: { torch: E.torchVersion().torch, node: process.versions.node, device: o.device, threads: E.getNumThreads(), dtype: 'float32', seed: o.seed },
      pytorch: peer.status === 'ok' ? peer.report.env : null,
    },
    peer: { status: peer.status, ...(peer.status === 'ok' ? {} : { reason: peer.reason }), command: [o.python, ...peerArgs].join(' ') },
    results,
    leaked_tensors: ours.leaked,
  };
}

/** A median as milliseconds, with images / s in front when the case has them. */
export function showThroughput(t: CaseTiming): string {
  const ms = `${t.ms_per_iter.toFixed(t.ms_per_iter < 100 ? 2 : 0)} ms`;
  return t.images_per_s === undefined ? ms : `${t.images_per_s.toFixed(t.images_per_s < 10 ? 3 : 1)} img/s (${ms})`;
}

/** The table: case, our median, PyTorch's, PyTorch time / our time (> 1: we are faster), or why the peer is missing. */
export function formatComparison(r: BenchReport, show: (t: CaseTiming) => string = showThroughput): string {
  const ts = r.env.stylegan_ts;
  const py = r.env.pytorch;
  const first = Object.values(r.results)[0]?.stylegan_ts;
  const lines = [
    `${r.bench} bench: ${ts.device}, ${ts.threads} threads, float32, median of ${first?.iters ?? 0} after ${first?.warmup ?? 0} warm-up`,
    `stylegan-ts: libtorch ${ts.torch}, Node ${ts.node}` +
      (py ? ` | PyTorch ${py.torch} (Python ${py.python}, ${py.threads} threads)` : ` | PyTorch peer ${r.peer.status}: ${r.peer.reason}`),
    '',
  ];
  const rows = [['case', 'stylegan-ts', 'PyTorch', 'PyTorch/TS']];
  for (const [name, { stylegan_ts: t, pytorch: p, ratio }] of Object.entries(r.results)) {
    rows.push([name, show(t), p ? show(p) : '—', ratio === null ? '—' : ratio.toFixed(2)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) lines.push(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   '));
  if (py && py.threads !== ts.threads) lines.push(`warning: the peer ran with ${py.threads} threads, stylegan-ts with ${ts.threads}`);
  if (r.leaked_tensors !== 0) lines.push(`warning: ${r.leaked_tensors} native tensors were not freed by the stylegan-ts side`);
  return lines.join('\n');
}

/** Prints the table (and the report as one JSON line with `json`); a failed peer is an error after printing. */
export function printReport(r: BenchReport, json: boolean, show?: (t: CaseTiming) => string): void {
  console.log(formatComparison(r, show));
  if (json) console.log(JSON.stringify(r));
  if (r.peer.status === 'failed') throw new Error(`bench ${r.bench}: the PyTorch peer failed: ${r.peer.reason}`);
}
