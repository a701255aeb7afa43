#!/usr/bin/env node
/**
 * `node dist/bench/main.js engine|nets|train|generate [options]`: benchmarks against the PyTorch peers (same work, same
 * threads, one run). The benchmarks are a consumer of the library (repository only, not in the package): they import
 * src/, nothing in src/ imports them.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { integerAtLeast, integerList, nameList, runtime, register as registerGlobalOptions } from '../src/cli/options.js';
import { reportError } from '../src/cli/main.js';
import * as engine from './engine.js';
import * as nets from './nets.js';
import * as train from './train.js';
import * as trainVariants from './train-variants.js';
import * as generate from './generate.js';

/** The flags every bench shares. */
interface BenchFlags {
  iters: number;
  warmup: number;
  seed: number;
  python: string;
  peer: boolean;
  json: boolean;
}

/** The options of both sides from the shared flags; `quick` replaces the iteration counts. */
function compareOptions(flags: BenchFlags, command: Command, quick?: { warmup: number; iters: number } | null) {
  const { device, threads } = runtime(command);
  return {
    device, threads, iters: quick?.iters ?? flags.iters, warmup: quick?.warmup ?? flags.warmup, seed: flags.seed,
    python: flags.python, peer: flags.peer, json: flags.json,
    progress: process.stderr.isTTY ? (line: string) => void process.stderr.write(`${line}\n`) : undefined,
  };
}

interface EngineFlags extends BenchFlags {
  cases?: string[];
}

function benchEngine(flags: EngineFlags, command: Command): void {
  const bench = engine;
  bench.engineBench({ ...compareOptions(flags, command), cases: flags.cases ?? bench.CASES, config: bench.DEFAULT_CONFIG });
}

interface NetsFlags extends BenchFlags {
  quick: boolean;
  nets?: string[];
  gRes?: number[];
  gBatch?: number[];
  dRes?: number[];
  dBatch?: number[];
}

function benchNets(flags: NetsFlags, command: Command): void {
  const bench = nets;
  const d = bench.DEFAULT_CONFIG;
  bench.netsBench({
    ...compareOptions(flags, command, flags.quick ? bench.QUICK : null),
    config: {
      nets: flags.nets ?? d.nets, gRes: flags.gRes ?? d.gRes, gBatch: flags.gBatch ?? d.gBatch, dRes: flags.dRes ?? d.dRes,
      dBatch: flags.dBatch ?? d.dBatch, quick: flags.quick,
    },
  });
}

interface TrainFlags extends BenchFlags {
  quick: boolean;
  res?: number[];
  widths?: string[];
  batch?: number;
  ema: boolean;
}

function benchTrain(flags: TrainFlags, command: Command): void {
  const bench = train;
  const d = bench.DEFAULT_CONFIG;
  bench.trainBench({
    ...compareOptions(flags, command, flags.quick ? bench.QUICK : null),
    config: { res: flags.res ?? d.res, widths: flags.widths ?? d.widths, batch: flags.batch ?? null, ema: flags.ema, quick: flags.quick },
  });
}

interface TrainVariantsFlags {
  res: number[];
  widths: string;
  batch?: number;
  rounds: number;
  steps: number;
  warmup: number;
  variants?: string[];
  json: boolean;
}

function benchTrainVariants(flags: TrainVariantsFlags, command: Command): void {
  const all = trainVariants.VARIANTS;
  const unknown = (flags.variants ?? []).filter((n) => !all.some((v) => v.name.replace(' ', '-') === n));
  if (unknown.length) throw new Error(`--variants: unknown ${unknown.join(', ')}; known: ${all.map((v) => v.name.replace(' ', '-')).join(', ')}`);
  trainVariants.trainVariantsBench({
    res: flags.res, widths: flags.widths as train.WidthsName, batch: flags.batch ?? null, rounds: flags.rounds, steps: flags.steps, warmup: flags.warmup,
    threads: runtime(command).threads, json: flags.json,
    variants: flags.variants ? all.filter((v) => flags.variants!.includes(v.name.replace(' ', '-'))) : all,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
}

interface GenerateFlags extends BenchFlags {
  res?: number[];
  batch?: number[];
}

function benchGenerate(flags: GenerateFlags, command: Command): void {
  const bench = generate;
  const d = bench.DEFAULT_CONFIG;
  bench.generateBench({ ...compareOptions(flags, command), config: { res: flags.res ?? d.res, batch: flags.batch ?? d.batch } });
}

/** Adds the shared flags, with the bench's default iteration counts. */
function sharedFlags(command: Command, iters: number, warmup: number): Command {
  return command
    .option('--iters <n>', 'timed iterations per case (median reported)', integerAtLeast(1), iters)
    .option('--warmup <n>', 'untimed iterations first', integerAtLeast(0), warmup)
    .option('--seed <n>', 'random seed of both sides', integerAtLeast(0), 0)
    .option('--python <path>', 'interpreter of the PyTorch peer', '/usr/bin/python3')
    .option('--no-peer', 'time stylegan-ts only')
    .option('--json', 'also print the whole report as one JSON line', false);
}

/** The benchmarks' command line: one command per benchmark, with the library's global options. */
export function benchProgram(): Command {
  const bench = new Command('bench').description('benchmarks against PyTorch (same work, same threads, one run)');
  registerGlobalOptions(bench);
  sharedFlags(bench.command('engine'), 20, 3)
    .description('conv 3×3 forward / forward+backward, 8-layer MLP, R1 step, per-call overhead: stylegan-ts vs PyTorch')
    .option('--cases <list>', 'comma-separated subset: conv3x3_fwd,conv3x3_fwd_bwd,mlp_fwd_bwd,r1_step,tiny_add', nameList)
    .action((flags: EngineFlags, command: Command) => benchEngine(flags, command));
  sharedFlags(bench.command('nets'), 5, 1)
    .description('G forward images/s (official 1024² and 256² networks) and D forward+backward at 64²: stylegan-ts vs PyTorch')
    .option('--quick', '1 warm-up and 1 timed iteration per case', false)
    .option('--nets <list>', 'subset of: stylegan,progan', nameList)
    .option('--g-res <list>', 'G resolutions (default 1024,256)', integerList(4))
    .option('--g-batch <list>', 'G batch sizes (default 1,8)', integerList(1))
    .option('--d-res <list>', 'D resolutions (default 64)', integerList(4))
    .option('--d-batch <list>', 'D batch sizes (default 16)', integerList(1))
    .action((flags: NetsFlags, command: Command) => benchNets(flags, command));
  sharedFlags(bench.command('train'), 5, 2)
    .description('one StyleGAN training step (D: logistic + R1, Gs EMA; G: non-saturating; Adam) at 32² and 64²: stylegan-ts vs PyTorch')
    .option('--quick', '1 warm-up and 2 timed steps per case', false)
    .option('--res <list>', 'resolutions (default 32,64)', integerList(4))
    .option('--widths <list>', 'subset of: official,small', nameList)
    .option('--batch <n>', 'minibatch of every case (default: 4 official / 16 small on CPU, the official 1-GPU minibatch on CUDA)', integerAtLeast(1))
    .option('--no-ema', 'skip the Gs moving-average update')
    .action((flags: TrainFlags, command: Command) => benchTrain(flags, command));
  bench.command('train-variants')
    .description('the training step of `train` in fp32/bf16 × unfused/fused epilogue, interleaved in one process (ratios to fp32 unfused)')
    .option('--res <list>', 'resolutions', integerList(4), [32, 64, 128])
    .option('--widths <name>', 'width preset: official or small', 'small')
    .option('--batch <n>', 'minibatch (default: 16 small / 4 official)', integerAtLeast(1))
    .option('--rounds <n>', 'rounds over the variants', integerAtLeast(1), 3)
    .option('--steps <n>', 'timed steps per variant per round', integerAtLeast(1), 2)
    .option('--warmup <n>', 'untimed steps per variant first', integerAtLeast(0), 1)
    .option('--variants <list>', 'subset of: fp32-unfused,fp32-fused,bf16-unfused,bf16-fused (the first is the baseline)', nameList)
    .option('--json', 'also print the results as one JSON line', false)
    .action((flags: TrainVariantsFlags, command: Command) => benchTrainVariants(flags, command));
  sharedFlags(bench.command('generate'), 1, 1)
    .description('generateImages images/s and peak memory (official StyleGAN at 1024² and 256², random weights): stylegan-ts vs PyTorch Gs')
    .option('--res <list>', 'resolutions (default 1024,256)', integerList(4))
    .option('--batch <list>', 'batch sizes (default 1,8)', integerList(1))
    .action((flags: GenerateFlags, command: Command) => benchGenerate(flags, command));
  return bench;
}

/** Runs the benchmarks' command line on `argv` (the arguments after the script). */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await benchProgram().parseAsync([...argv], { from: 'user' });
  } catch (e) {
    reportError(e);
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
