/**
 * The data-parallel benchmark, on this machine over 127.0.0.1 with Gloo:
 *   allreduce   in-place all-reduce (sum) of 1, 4 and 25 Mi float32 between 2 processes (the timing protocol of
 *               src/cli/timing.ts), against torch.distributed with Gloo (bench/py/dist_bench.py) in the same run;
 *               reported as algorithm bandwidth (bytes / time) and bus bandwidth (× 2(W−1)/W, the ring's traffic).
 *   step        one StyleGAN training step (bench/train.ts's case: D step + Gs update + G step) at the global
 *               minibatch B in 1 process, then in 2 processes × B/2 (gradients all-reduced in 25 MiB buckets,
 *               w-average averaged) twice: with each bucket reduced while backward runs (c10d's Reducer, the
 *               default) and with all buckets reduced after backward, the two timed in turn in the same 2 processes;
 *               reported: median step times, the all-reduce time of the non-overlapped step, overlapped /
 *               non-overlapped, scaling efficiency (t1 / tW) / W for the same global minibatch.
 * Then a projection: T(W) = compute(B/W) + allreduce(gradient bytes, W), from the measured per-image compute and the
 * measured all-reduce cost (README "Several processes, GPUs and machines" carries the 8-GPU and 2×8-GPU version).
 *
 * Run: `node dist/bench/distributed.js [--sizes 1,4,25] [--res 32] [--widths small] [--batch 16] [--threads 1]
 * [--iters 5] [--warmup 1] [--no-peer] [--json]`. Every worker uses --threads intra-op threads (default 1).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Command } from 'commander';
import * as E from '../src/engine/index.js';
import { median, timeCase, type Timing } from '../src/cli/timing.js';
import { freePort } from '../src/cli/launch.js';
import { DataParallelGroup } from '../src/train/distributed.js';
import { trainingStepCase, WIDTHS, type WidthsName } from './train.js';
import { peerScript } from './compare.js';

interface Flags {
  sizes: number[]; res: number; widths: string; batch: number; threads: number; iters: number; warmup: number;
  peer: boolean; json: boolean; python: string; worker?: string; device: string; overlap: string;
}

const MI = 1 << 20;
const ints = (v: string) => v.split(',').map(Number);

/** Spawns `world` ranks of `args` (node: this script; python: the peer) on a fresh port; rank 0's JSON. */
async function ranks(world: number, cmd: string, args: (rank: number, port: number) => string[], threads: number): Promise<Record<string, unknown>> {
  const port = await freePort();
  const outs = await Promise.all(Array.from({ length: world }, (_, rank) => new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, args(rank, port), {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), WORLD_SIZE: String(world), RANK: String(rank), LOCAL_RANK: String(rank), STYLEGAN_THREADS: String(threads) },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`bench distributed: rank ${rank} of ${cmd} exited with code ${code}`))));
  })));
  return JSON.parse(outs[0]!.trim()) as Record<string, unknown>;
}

const self = fileURLToPath(import.meta.url);
const common = (f: Flags) => ['--iters', String(f.iters), '--warmup', String(f.warmup), '--threads', String(f.threads), '--device', f.device];

/** This rank's device: cuda:LOCAL_RANK (one GPU per process, NCCL) or the CPU (Gloo). */
const rankDevice = (f: Flags) => (f.device === 'cuda' ? `cuda:${process.env.LOCAL_RANK ?? 0}` : 'cpu');

/** A rank of the all-reduce case. */
function allReduceWorker(f: Flags): Record<string, unknown> {
  const device = rankDevice(f);
  const group = E.ProcessGroup.fromEnv(device)!;
  const results: Record<string, Timing> = {};
  for (const size of f.sizes) {
    const t = E.keep(E.full([size * MI], group.rank, { device }));
    results[size] = timeCase(() => group.allReduce([t], 'sum').wait(), { device, warmup: f.warmup, iters: f.iters });
    t.dispose();
  }
  group.barrier().wait();
  group.destroy();
  return { results };
}

/**
 * A rank of the training-step case (WORLD_SIZE 1: no process group at all). `--overlap both`: two copies of the
 * case, buckets reduced during backward and after it, timed in turn step by step so that the machine's load falls
 * on both alike.
 */
function stepWorker(f: Flags): Record<string, unknown> {
  const device = rankDevice(f);
  const group = Number(process.env.WORLD_SIZE) > 1 ? E.ProcessGroup.fromEnv(device) : null;
  const modes = group && f.overlap === 'both' ? [true, false] : [f.overlap !== 'off'];
  const runs = modes.map((overlap) => {
    const parallel = group ? new DataParallelGroup(group, device, { overlap }) : undefined;
    return { parallel, c: trainingStepCase(f.res, f.widths as WidthsName, f.batch, true, device, 0, parallel) };
  });
  const samples = runs.map(() => [] as number[]);
  for (let i = 0; i < f.iters; i++) {
    runs.forEach((r, k) => samples[k]!.push(timeCase(() => r.c.step(), { device, warmup: i === 0 ? f.warmup : 0, iters: 1 }).ms_per_iter));
  }
  const c = runs[0]!.c;
  const gradBytes = 4 * (c.nets.G.parameters().concat(c.nets.D.parameters())).reduce((a, p) => a + p.numel, 0);
  const result = runs.map((r, k) => ({
    timing: { ms_per_iter: median(samples[k]!), iters: f.iters, warmup: f.warmup, samples_ms: samples[k]! },
    reduceMsPerStep: r.parallel ? r.parallel.reduceMs / (f.warmup + f.iters) : 0,
  }));
  for (const r of runs) {
    r.c.dispose?.();
    r.parallel?.dispose();
  }
  group?.destroy();
  return { ...result[0], after: result[1], gradBytes, config: c.config };
}

interface StepTiming { timing: Pick<Timing, 'ms_per_iter' | 'samples_ms'>; reduceMsPerStep: number }
interface StepResult extends StepTiming { gradBytes: number; after?: StepTiming }

async function main(f: Flags): Promise<void> {
  if (f.worker) {
    process.stdout.write(`${JSON.stringify(f.worker === 'allreduce' ? allReduceWorker(f) : stepWorker(f))}\n`);
    return;
  }
  if (!(f.widths in WIDTHS)) throw new Error(`bench distributed: unknown widths ${f.widths}`);
  const ours = (await ranks(2, process.execPath, () => [self, '--worker', 'allreduce', '--sizes', f.sizes.join(','), ...common(f)], f.threads)).results as Record<string, Timing>;
  const peer = f.peer
    ? (await ranks(2, f.python, (rank, port) => [peerScript('dist_bench.py'), '--rank', String(rank), '--world', '2', '--port', String(port), '--sizes', f.sizes.join(','), ...common(f)], f.threads)).results as Record<string, Timing>
    : null;
  const stepArgs = ['--worker', 'step', '--res', String(f.res), '--widths', f.widths, '--batch', String(f.batch), ...common(f)];
  const one = await ranks(1, process.execPath, () => [self, ...stepArgs], f.threads) as unknown as StepResult;
  const two = await ranks(2, process.execPath, () => [self, ...stepArgs, '--overlap', 'both'], f.threads) as unknown as StepResult;
  const twoAfter = two.after!;

  const bw = (bytes: number, ms: number) => bytes / (ms / 1e3) / 1e9;
  const allreduce = f.sizes.map((size) => {
    const bytes = size * MI * 4;
    const o = ours[size]!.ms_per_iter;
    const p = peer?.[size]?.ms_per_iter ?? null;
    return { mib: size * 4, ms: o, algbw_GBps: bw(bytes, o), busbw_GBps: bw(bytes, o) * 2 * (2 - 1) / 2, peer_ms: p, peer_over_ours: p === null ? null : p / o };
  });
  const t1 = one.timing.ms_per_iter;
  const t2 = two.timing.ms_per_iter;
  const t2after = twoAfter.timing.ms_per_iter;
  // Projection with W workers that each have the cores of one: compute scales as 1/W, the gradient all-reduce costs
  // 2(W−1)/W · bytes at the measured bus bandwidth of the largest size.
  const largest = allreduce[allreduce.length - 1]!;
  const computeMs = t1;
  const project = (w: number) => computeMs / w + (w > 1 ? (2 * (w - 1) / w) * one.gradBytes / (largest.busbw_GBps * 1e9) * 1e3 : 0);
  const report = {
    bench: 'distributed', device: f.device, backend: f.device === 'cuda' ? 'nccl' : 'gloo', threads: f.threads,
    allreduce, step: {
      res: f.res, widths: f.widths, global_batch: f.batch, grad_MiB: one.gradBytes / MI,
      one_process_ms: t1, two_process_ms: t2, two_process_reduce_after_backward_ms: t2after, overlapped_over_after: t2 / t2after,
      allreduce_ms_per_step: twoAfter.reduceMsPerStep,
      speedup: t1 / t2, scaling_efficiency: t1 / t2 / 2,
      projection_ms: Object.fromEntries([1, 2, 4, 8, 16].map((w) => [w, project(w)])),
    },
    samples: { ours, peer, one: one.timing, two: two.timing, twoAfter: twoAfter.timing },
  };
  if (f.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const lines = [`all-reduce (sum) of float32, 2 processes, ${report.backend} over 127.0.0.1`, '  MiB      ours ms  algbw GB/s  busbw GB/s  pytorch ms  pytorch/ours'];
  for (const a of allreduce) {
    lines.push(`  ${String(a.mib).padStart(4)}  ${a.ms.toFixed(1).padStart(10)}  ${a.algbw_GBps.toFixed(2).padStart(10)}  ${a.busbw_GBps.toFixed(2).padStart(10)}  ${a.peer_ms === null ? '         —' : a.peer_ms.toFixed(1).padStart(10)}  ${a.peer_over_ours === null ? '—' : a.peer_over_ours.toFixed(2)}`);
  }
  const s = report.step;
  lines.push(`training step ${f.res}² ${f.widths}, global minibatch ${f.batch}, gradients ${s.grad_MiB.toFixed(1)} MiB, ${f.threads} thread(s) per process`);
  lines.push(`  1 process × ${f.batch}: ${t1.toFixed(0)} ms   2 processes × ${f.batch / 2}: ${t2.toFixed(0)} ms with the buckets reduced during backward`);
  lines.push(`  2 processes, buckets reduced after backward: ${t2after.toFixed(0)} ms (all-reduce ${s.allreduce_ms_per_step.toFixed(1)} ms of it); overlapped / after: ${s.overlapped_over_after.toFixed(2)}`);
  lines.push(`  speed-up ${s.speedup.toFixed(2)}×, scaling efficiency ${(100 * s.scaling_efficiency).toFixed(0)}% (2 cores shared with other processes)`);
  lines.push(`  projection T(W) = T1/W + 2(W−1)/W · grad bytes / busbw: ${Object.entries(s.projection_ms).map(([w, ms]) => `W=${w} ${ms.toFixed(0)} ms`).join(', ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

const program = new Command('bench-distributed')
  .option('--sizes <list>', 'all-reduce sizes in Mi floats', ints, [1, 4, 25])
  .option('--res <n>', 'training-step resolution', Number, 32)
  .option('--widths <name>', `training-step widths: ${Object.keys(WIDTHS).join(', ')}`, 'small')
  .option('--batch <n>', 'global minibatch (even)', Number, 16)
  .option('--threads <n>', 'intra-op threads of every process', Number, 1)
  .option('--iters <n>', 'timed calls', Number, 5)
  .option('--warmup <n>', 'untimed calls first', Number, 1)
  .option('--device <cpu|cuda>', 'cpu (Gloo) or cuda (one GPU per process, NCCL; needs 2 GPUs)', 'cpu')
  .option('--python <path>', "the peer's interpreter", '/usr/bin/python3')
  .option('--no-peer', 'time stylegan-ts only')
  .option('--json', 'one JSON line', false)
  .option('--worker <case>', '(internal) run one rank of a case')
  .option('--overlap <on|off|both>', '(internal) step case: reduce gradient buckets during backward, after it, or both in turn', 'on');

if (process.argv[1] && path.resolve(process.argv[1]) === self) {
  program.parse();
  E.setNumThreads(program.opts<Flags>().threads);
  await main(program.opts<Flags>()).catch((e: Error) => {
    process.stderr.write(`stylegan: bench distributed: ${e.message}\n`);
    process.exitCode = 1;
  });
}
