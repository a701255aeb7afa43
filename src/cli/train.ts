/** `stylegan train`: progressive training of ProGAN or StyleGAN on a dataset, with a progress bar. */
import path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { makeDirectory } from '../io/atomic.js';
import { InvalidArgumentError, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { train } from '../train/trainer.js';
import { PRESETS } from '../train/presets.js';
import { proganConfig, styleganConfig } from '../nets/index.js';
import { integerAtLeast, runtime, asArgument } from './options.js';
import { launchWorkers, isWorker, commandLine } from './launch.js';
import { ProcessGroup, distributedConfigFromEnv } from '../engine/index.js';
import { DataParallelGroup } from '../train/distributed.js';

const positive = asArgument((value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got '${value}'`);
  return n;
});

/** The next numbered run directory `<outdir>/NNNNN-<desc>` (the official convention). */
export function nextRunDir(outdir: string, desc: string): string {
  makeDirectory(outdir);
  const ids = readdirSync(outdir).map((f) => /^(\d{5})-/.exec(f)).filter((m) => m).map((m) => Number(m![1]));
  const id = ids.length ? Math.max(...ids) + 1 : 0;
  return path.join(outdir, `${String(id).padStart(5, '0')}-${desc}`);
}

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
    .description('train a progressively growing ProGAN or StyleGAN on a dataset (zip or folder of PNGs + dataset.json)')
    .requiredOption('--data <path>', 'dataset made by `stylegan dataset create` (or stylegan2-ada-pytorch dataset_tool)')
    .option('--outdir <dir>', 'parent of the numbered run directories', 'runs')
    .option('--run-dir <dir>', 'explicit run directory (instead of the next numbered one in --outdir)')
    .option('--preset <name>', `training preset: ${Object.keys(PRESETS).join(', ')}`, 'stylegan-cpu')
    .option('--kimg <n>', 'total thousands of images to train for (default: the preset\'s)', positive)
    .option('--net <key=value,...>', 'architecture overrides, e.g. fmapMax=256,latentSize=256', overrides)
    .option('--cond', 'class-conditional training (default when the dataset has labels)')
    .option('--no-cond', 'ignore the dataset labels')
    .option('--mirror', 'x-flip augmentation', false)
    .option('--seed <n>', 'random seed', integerAtLeast(0), 0)
    .option('--snap <ticks>', 'network snapshot every N ticks (default: the preset\'s)', integerAtLeast(1))
    .option('--resume <snapshot|true>', 'continue from a snapshot file, or the newest snapshot of --run-dir')
    .option('--max-minutes <n>', 'stop (with a snapshot) after this much wall time', positive)
    .option('--grid <cols>x<rows>', 'fixed-latent image grid size', '8x4')
    .option('--nproc <n>', 'data-parallel worker processes on this machine (one per GPU, or CPU workers)', integerAtLeast(1))
    .option('--nnodes <n>', 'machines taking part (each runs the same command with its --node-rank)', integerAtLeast(1), 1)
    .option('--node-rank <k>', 'this machine\'s index among --nnodes', integerAtLeast(0), 0)
    .option('--master-addr <host>', 'address of node 0, which hosts the rendezvous', '127.0.0.1')
    .option('--master-port <port>', 'TCP port of the rendezvous (default: a free one; required with --nnodes > 1)', integerAtLeast(1))
    .action(async (o: {
      data: string; outdir: string; runDir?: string; preset: string; kimg?: number; net?: Record<string, unknown>; cond?: boolean;
      mirror: boolean; seed: number; snap?: number; resume?: string; maxMinutes?: number; grid: string;
      nproc?: number; nnodes: number; nodeRank: number; masterAddr: string; masterPort?: number;
    }, cmd: Command) => {
      const rt = runtime(cmd);
      checkNetOverrides(o.preset, o.net);
      if (!existsSync(o.data)) throw new Error(`--data ${o.data}: no such file or folder`);
      const grid = /^(\d+)x(\d+)$/.exec(o.grid);
      if (!grid) throw new Error(`--grid: expected COLSxROWS, got '${o.grid}'`);
      const resume = o.resume === undefined ? undefined : o.resume === 'true' ? true : o.resume;
      if (resume === true && !o.runDir) throw new Error('--resume true needs --run-dir (the run to continue)');
      const launching = (o.nproc !== undefined || o.nnodes > 1) && !isWorker();
      if (launching && o.nnodes > 1 && !o.runDir) throw new Error('--nnodes > 1 needs --run-dir (the same directory, on storage every node sees)');
      const dist = launching ? null : distributedConfigFromEnv();
      const runDir = o.runDir ?? (typeof resume === 'string' ? path.dirname(resume) : nextRunDir(o.outdir, `${path.basename(o.data).replace(/\.zip$/, '')}-${o.preset}`));
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
      const bar = new cliProgress.SingleBar({
        format: ' {bar} {percentage}% | {value}/{total} kimg | {res}² lod {lod} | {ips} img/s | ETA {eta_formatted}',
        hideCursor: true, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 30000,
      }, cliProgress.Presets.shades_classic);
      let started = false;
      let ips = 0;
      if (!quiet && !dist) process.stderr.write(`run directory: ${runDir}\n`);
      // The bar's timer would keep a failed run's process alive: stop it whatever happens.
      const result = await train({
        data: o.data, runDir, preset: o.preset, net: o.net, totalKimg: o.kimg, conditional: o.cond, mirror: o.mirror, seed: o.seed,
        networkSnapshotTicks: o.snap, resume, maxSeconds: o.maxMinutes ? o.maxMinutes * 60 : undefined, device, parallel,
        gridSize: [Number(grid[1]), Number(grid[2])],
        onProgress: (p) => {
          if (quiet) return;
          const payload = { res: p.resolution, lod: p.lod.toFixed(2), ips: ips.toFixed(0) };
          if (!started) {
            bar.start(Number(p.totalKimg.toFixed(1)), 0, payload);
            started = true;
          }
          bar.update(Number(p.kimg.toFixed(1)), payload);
        },
        onTick: (t) => {
          if (quiet) return;
          ips = t.imagesPerSec;
          const line = `tick ${t.tick} kimg ${t.kimg.toFixed(1)} lod ${t.lod.toFixed(2)} res ${t.resolution} mb ${t.minibatch} ` +
            `G ${t.lossG.toFixed(3)} D ${t.lossD.toFixed(3)} pen ${t.penalty.toFixed(4)} ${t.secPerKimg.toFixed(1)} s/kimg${t.snapshot ? ` → ${t.snapshot}` : ''}`;
          if (process.stderr.isTTY) bar.stop();
          process.stderr.write(`${line}\n`);
          if (process.stderr.isTTY) bar.start(Number(t.totalKimg.toFixed(1)), Number(t.kimg.toFixed(1)), { res: t.resolution, lod: t.lod.toFixed(2), ips: ips.toFixed(0) });
        },
      }).finally(() => started && bar.stop());
      group?.destroy();
      if (!quiet) process.stdout.write(`${JSON.stringify(result)}\n`);
    });
}
