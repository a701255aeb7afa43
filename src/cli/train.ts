/** `stylegan train`: training of ProGAN or StyleGAN on a dataset (from scratch or from a network), with a progress bar. */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { train, type Trainer } from '../train/trainer.js';
import { PRESETS } from '../train/presets.js';
import { AUGPIPES } from '../train/augment.js';
import { nextRunDir } from '../train/run-dir.js';
import { progressLine, tickLine, summaryText } from '../train/progress.js';
import { TRAIN_PRECISIONS, type AugMode, type TrainPrecision } from '../train/run-options.js';
import { proganConfig, styleganConfig } from '../nets/index.js';
import { integerAtLeast, runtime, asArgument } from './options.js';
import { launchWorkers, isWorker, commandLine } from './launch.js';
import { ProcessGroup, distributedConfigFromEnv } from '../engine/index.js';
import { DataParallelGroup } from '../train/distributed.js';
import { parseMetricList, checkMetrics, snapshotMetrics } from './train-metrics.js';
import { DETECTOR_ENV } from '../metrics/detector.js';
import { progressDisplay } from './progress.js';

export { nextRunDir } from '../train/run-dir.js';

const positive = asArgument((value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got '${value}'`);
  return n;
});
const nonNegative = asArgument((value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a number ≥ 0, got '${value}'`);
  return n;
});

/** Parses `key=value,key=value` network overrides (numbers, booleans, 'auto'). */
function overrides(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const out = { ...previous };
  for (const part of value.split(',')) {
    const m = /^\s*([A-Za-z]\w*)\s*=\s*(.+?)\s*$/.exec(part);
    if (!m) throw new InvalidArgumentError(`expected key=value, got '${part}'`);
    const v = m[2]!;
    out[m[1]!] = v === 'true' ? true : v === 'false' ? false : Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}

interface TrainFlags {
  data: string; outdir: string; runDir?: string; preset?: string; kimg?: number; net?: Record<string, unknown>; cond?: boolean;
  mirror?: boolean; seed?: number; snap?: number; resume?: string; resumeFrom?: string; maxMinutes?: number; grid: string;
  gamma?: number; batch?: number; glr?: number; dlr?: number; aug?: AugMode; augpipe?: string; target?: number; p?: number; freezeD?: number;
  metrics?: string[]; detectorDir?: string; precision?: TrainPrecision; nproc?: number; nnodes: number; nodeRank: number; masterAddr: string; masterPort?: number;
}

/** Refuses --net keys the preset's architecture does not have, and values outside their ranges, before any work. */
function checkNetOverrides(preset: string, net: Record<string, unknown> | undefined): void {
  const p = PRESETS[preset];
  if (!net || !p) return;
  try {
    const overridden: Record<string, unknown> = { ...p.net, ...net };
    if (p.arch === 'stylegan') styleganConfig(overridden);
    else proganConfig(overridden);
  } catch (e) {
    throw new Error(`--net: ${(e as Error).message}`);
  }
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train ProGAN or StyleGAN on a dataset (zip or folder of PNGs + dataset.json), from scratch or from a network')
    .requiredOption('--data <path>', 'dataset made by `stylegan dataset create` (or stylegan2-ada-pytorch dataset_tool)')
    .option('--outdir <dir>', 'parent of the numbered run directories', 'runs')
    .option('--run-dir <dir>', 'explicit run directory (instead of the next numbered one in --outdir)')
    .option('--preset <name>', `training preset: ${Object.keys(PRESETS).join(', ')} (default stylegan-cpu)`)
    .option('--resume-from <network>', 'transfer learning: start from an official .pkl or a .safetensors network (full resolution, fresh optimizers)')
    .option('--kimg <n>', 'total thousands of images to train for (default: the preset\'s)', positive)
    .option('--gamma <n>', 'R1 regularization weight γ (StyleGAN)', nonNegative)
    .option('--batch <n>', 'global minibatch at every resolution (default: the preset\'s schedule)', integerAtLeast(1))
    .option('--glr <n>', 'G learning rate at every resolution', positive)
    .option('--dlr <n>', 'D learning rate at every resolution', positive)
    .option('--net <key=value,...>', 'architecture overrides, e.g. fmapMax=256,latentSize=256', overrides)
    .option('--cond', 'class-conditional training (default when the dataset has labels)')
    .option('--no-cond', 'ignore the dataset labels')
    .option('--mirror', 'x-flip the dataset')
    .addOption(new Option('--aug <mode>', 'discriminator augmentation: ada (adaptive p), fixed (--p), noaug (default)').choices(['ada', 'fixed', 'noaug']))
    .addOption(new Option('--augpipe <name>', 'augmentation pipeline (default bgc)').choices(AUGPIPES))
    .option('--target <r>', 'ADA target for r_t = E[sign(D(real))] (default 0.6)', positive)
    .option('--p <prob>', 'augmentation probability: fixed p, or the initial p of ADA', nonNegative)
    .option('--freeze-d <n>', 'FreezeD: keep D\'s first N layers (from the input side) fixed', integerAtLeast(0))
    .option('--metrics <names>', 'metrics of each snapshot\'s Gs, as `stylegan metric` names them (fid50k_full,kid50k_full,fid2k,fid-fmnist,…) or none',
      asArgument(parseMetricList))
    .option('--detector-dir <dir>', `folder of the metrics' detector files (default $${DETECTOR_ENV})`)
    .option('--seed <n>', 'random seed', integerAtLeast(0))
    .addOption(new Option('--precision <p>', 'training arithmetic: fp32, or bf16 mixed precision (bfloat16 convolutions and matrix products; float32 norms, losses, weights and optimizer state)')
      .choices([...TRAIN_PRECISIONS]))
    .option('--snap <ticks>', 'network snapshot every N ticks (default: the preset\'s)', integerAtLeast(1))
    .option('--resume <snapshot|true>', 'continue from a snapshot file, or the newest snapshot of --run-dir')
    .option('--max-minutes <n>', 'stop (with a snapshot) within one minibatch of this much wall time', positive)
    .option('--grid <cols>x<rows>', 'fixed-latent image grid size', '8x4')
    .option('--nproc <n>', 'data-parallel worker processes on this machine (one per GPU, or CPU workers)', integerAtLeast(1))
    .option('--nnodes <n>', 'machines taking part (each runs the same command with its --node-rank)', integerAtLeast(1), 1)
    .option('--node-rank <k>', 'this machine\'s index among --nnodes', integerAtLeast(0), 0)
    .option('--master-addr <host>', 'address of node 0, which hosts the rendezvous', '127.0.0.1')
    .option('--master-port <port>', 'TCP port of the rendezvous (default: a free one; required with --nnodes > 1)', integerAtLeast(1))
    .action(async (o: TrainFlags, cmd: Command) => {
      const rt = runtime(cmd);
      checkNetOverrides(o.preset ?? 'stylegan-cpu', o.net);
      checkMetrics(o.metrics ?? [], o.detectorDir);
      if (!existsSync(o.data)) throw new Error(`--data ${o.data}: no such file or folder`);
      if (o.resumeFrom && !existsSync(o.resumeFrom)) throw new Error(`--resume-from ${o.resumeFrom}: no such network file`);
      const grid = /^(\d+)x(\d+)$/.exec(o.grid);
      if (!grid) throw new Error(`--grid: expected COLSxROWS, got '${o.grid}'`);
      const resume = o.resume === undefined ? undefined : o.resume === 'true' ? true : o.resume;
      if (resume === true && !o.runDir) throw new Error('--resume true needs --run-dir (the run to continue)');
      const desc = `${path.basename(o.data).replace(/\.zip$/, '')}-${o.preset ?? 'stylegan-cpu'}${o.resumeFrom ? '-transfer' : ''}`;
      const launching = (o.nproc !== undefined || o.nnodes > 1) && !isWorker();
      if (launching && o.nnodes > 1 && !o.runDir) throw new Error('--nnodes > 1 needs --run-dir (the same directory, on storage every node sees)');
      const dist = launching ? null : distributedConfigFromEnv();
      const runDir = o.runDir ?? (typeof resume === 'string' ? path.dirname(resume) : nextRunDir(o.outdir, desc));
      if (launching) {
        process.stderr.write(`run directory: ${runDir}\n`);
        await launchWorkers({
          nproc: o.nproc ?? 1, nnodes: o.nnodes, nodeRank: o.nodeRank, masterAddr: o.masterAddr, masterPort: o.masterPort,
          args: [...commandLine(cmd), '--run-dir', runDir], threads: cmd.optsWithGlobals<{ threads?: number }>().threads,
        });
        return;
      }
      const device = dist && rt.device.startsWith('cuda') ? `cuda:${dist.localRank}` : rt.device;
      const group = dist ? ProcessGroup.init(dist, device) : null;
      const parallel = group ? new DataParallelGroup(group, device) : undefined;
      const quiet = parallel !== undefined && !parallel.isWriter;
      // Ranks other than the writer stay quiet. Without a terminal a progress line every 30 s, between the tick lines.
      const bar = quiet ? null : progressDisplay({ label: 'train', unit: 'kimg', total: 0, status: true, lineEverySec: 30 });
      if (!quiet && !dist) process.stderr.write(`run directory: ${runDir}\n`);
      const signals = ['SIGINT', 'SIGTERM'] as const;
      let trainer: Trainer | null = null;
      const onSignal = (sig: string) => {
        process.stderr.write(`\n${sig}: stopping after this minibatch with a snapshot (again to abort)\n`);
        trainer?.requestStop(sig);
        for (const s of signals) process.removeListener(s, onSignal);
      };
      for (const s of signals) process.on(s, onSignal);
      try {
        const result = await train({
          data: o.data, runDir, preset: o.preset, net: o.net, totalKimg: o.kimg, conditional: o.cond, mirror: o.mirror, seed: o.seed,
          gamma: o.gamma, batch: o.batch, glr: o.glr, dlr: o.dlr, aug: o.aug, augpipe: o.augpipe, target: o.target, p: o.p, freezeD: o.freezeD, metrics: o.metrics, precision: o.precision,
          snapshotMetrics: snapshotMetrics({ data: o.data, runDir, detectorDir: o.detectorDir, device, parallel }),
          transfer: o.resumeFrom, networkSnapshotTicks: o.snap, resume, maxSeconds: o.maxMinutes ? o.maxMinutes * 60 : undefined,
          device, parallel, gridSize: [Number(grid[1]), Number(grid[2])],
          onWarning: (w) => process.stderr.write(`warning: ${w}\n`),
          onProgress: (p) => bar?.update(Math.min(p.kimg, p.totalKimg), p.totalKimg, progressLine(p)),
          onTick: (t) => bar?.log(tickLine(t)),
        }, (t) => (trainer = t));
        bar?.stop();
        if (!quiet) process.stdout.write(`${summaryText(result)}\n`);
      } finally {
        // The bar's timer would keep a failed run's process alive: stop it whatever happens.
        bar?.stop();
        for (const s of signals) process.removeListener(s, onSignal);
        group?.destroy();
      }
    });
}
