/**
 * The timing protocol shared by `stylegan selfcheck` and the benchmarks, identical to the PyTorch peer's
 * (bench/py/bench_common.py): `warmup` untimed calls, then `iters` calls each timed on its own, with the device
 * synchronized before starting and before stopping the clock; the median is the headline number.
 * Keys are the peer's, so both sides' JSON compare field by field.
 */
import { performance } from 'node:perf_hooks';
import { synchronize, tidy } from '../engine/index.js';

export interface Timing {
  /** Median of the timed calls. */
  ms_per_iter: number;
  ms_mean: number;
  ms_min: number;
  ms_max: number;
  iters: number;
  warmup: number;
  samples_ms: number[];
}

export interface TimingOptions {
  device: string;
  warmup: number;
  iters: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Times `fn`. Each call runs in its own `tidy` scope, so what it creates is freed inside the timed region, as
 * Python frees a discarded result before its clock stops.
 */
export function timeCase(fn: () => unknown, o: TimingOptions): Timing {
  if (!Number.isInteger(o.iters) || o.iters < 1) throw new Error(`timing: iters must be an integer >= 1, got ${o.iters}`);
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new Error(`timing: warmup must be an integer >= 0, got ${o.warmup}`);
  const cuda = o.device.startsWith('cuda');
  const sync = () => {
    if (cuda) synchronize();
  };
  const call = () => tidy(() => void fn());
  for (let i = 0; i < o.warmup; i++) call();
  sync();
  const samples: number[] = [];
  for (let i = 0; i < o.iters; i++) {
    sync();
    const start = performance.now();
    call();
    sync();
    samples.push(performance.now() - start);
  }
  return {
    ms_per_iter: median(samples),
    ms_mean: samples.reduce((a, b) => a + b, 0) / samples.length,
    ms_min: Math.min(...samples),
    ms_max: Math.max(...samples),
    iters: samples.length,
    warmup: o.warmup,
    samples_ms: samples,
  };
}
