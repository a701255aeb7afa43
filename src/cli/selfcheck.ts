/**
 * `stylegan selfcheck`: reports the linked libtorch, device and threads, runs the convolution probe and times one
 * 3×3 convolution. Exits non-zero when the probe disagrees with the reference.
 */
import type { Command } from 'commander';
import { conv2d, cudaDeviceCount, disposeAll, getNumThreads, noGrad, randn, tidy, torchVersion } from '../engine/index.js';
import { convProbe } from './conv-probe.js';
import { integerAtLeast, runtime } from './options.js';
import { timeCase } from './timing.js';

/** The benchmarked convolution: x [8, 128, 32, 32], weight [128, 128, 3, 3], padding 1, no bias. */
export const SELFCHECK_CONV = { batch: 8, channels: 128, size: 32, kernel: 3 } as const;

/** Multiply-adds ×2 of a stride-1 'same' convolution with square kernel. */
export function convFlops(c: { batch: number; channels: number; size: number; kernel: number }): number {
  return 2 * c.batch * c.channels * c.size * c.size * c.channels * c.kernel * c.kernel;
}

/** The line of libtorch's parallel info naming its backend, e.g. 'OpenMP'. */
function parallelBackend(info: string): string {
  return /ATen parallel backend: (.*)/.exec(info)?.[1]?.trim() ?? 'unknown';
}

interface SelfcheckOptions {
  iters: number;
  warmup: number;
}

function selfcheck(o: SelfcheckOptions, command: Command): void {
  const { device } = runtime(command);
  const version = torchVersion();
  const gpus = cudaDeviceCount();
  const row = (label: string, value: string) => console.log(`${label.padEnd(10)}${value}`);
  row('libtorch', `${version.torch} (parallel backend: ${parallelBackend(version.parallel)})`);
  row('device', `${device} (CUDA devices: ${gpus})`);
  row('threads', `${getNumThreads()} intra-op`);

  const probe = convProbe(device);
  row('probe', `${probe.ok ? 'ok' : 'FAILED'}: conv2d forward + input/weight gradients vs a float64 reference, ` +
    `max relative error ${probe.maxError.toExponential(1)}`);

  const c = SELFCHECK_CONV;
  const [x, w] = tidy(() => [
    randn([c.batch, c.channels, c.size, c.size], { device }),
    randn([c.channels, c.channels, c.kernel, c.kernel], { device }).div(Math.sqrt(c.channels * c.kernel * c.kernel)),
  ]);
  const timing = timeCase(() => noGrad(() => conv2d(x, w, null, { padding: c.kernel >> 1 })), { device, ...o });
  disposeAll([x, w]);
  const gflops = convFlops(c) / (timing.ms_per_iter * 1e6);
  row('conv', `${c.kernel}×${c.kernel} ${c.channels}→${c.channels} on ${c.batch}×${c.channels}×${c.size}×${c.size}, forward: ` +
    `${timing.ms_per_iter.toFixed(2)} ms (median of ${timing.iters}), ${gflops.toFixed(1)} GFLOP/s`);

  if (!probe.ok) throw new Error(`selfcheck: the convolution probe failed on ${device} (worst: ${probe.worst})`);
}

export function register(program: Command): void {
  program
    .command('selfcheck')
    .description('report libtorch, device and threads; check a convolution and its gradients; time a 3×3 convolution')
    .option('--iters <n>', 'timed iterations of the convolution', integerAtLeast(1), 10)
    .option('--warmup <n>', 'untimed iterations first', integerAtLeast(0), 3)
    .action((o: SelfcheckOptions, command: Command) => selfcheck(o, command));
}
