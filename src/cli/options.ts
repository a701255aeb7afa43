/**
 * The options every `stylegan` command shares (`--threads`, `--device`) and the argument parsers the commands use.
 * The global options are applied once, before any command's action runs.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { NetworkRole } from '../io/checkpoint.js';
import { checkThreadCount, cudaAvailable, cudaDeviceCount, defaultDevice, getNumThreads, setNumThreads, torchVersion } from '../engine/index.js';

/** What the global options resolve to. */
export interface Runtime {
  /** 'cpu', 'cuda' or 'cuda:N'. */
  device: string;
  /** libtorch intra-op threads. */
  threads: number;
}

/** A commander argument parser for integers ≥ `min`. */
export function integerAtLeast(min: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected an integer >= ${min}, got '${value}'`);
    }
    return n;
  };
}

/** A commander argument parser for comma-separated integers ≥ `min` (e.g. `--g-res 1024,256`). */
export function integerList(min: number): (value: string) => number[] {
  const one = integerAtLeast(min);
  return (value: string) => {
    const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (parts.length === 0) throw new InvalidArgumentError(`expected comma-separated integers >= ${min}, got '${value}'`);
    return parts.map(one);
  };
}

/** A commander parser from a library parser: its Error becomes an InvalidArgumentError (same message). */
export const asArgument = <T>(parse: (value: string) => T) => (value: string): T => {
  try {
    return parse(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

/** --threads: an integer from 1 to the number of cores. */
const threadCount = (value: string): number => {
  integerAtLeast(1)(value);
  return asArgument((v) => checkThreadCount(v, '--threads'))(value);
};

export const finiteNumber = asArgument((v) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`expected a number, got '${v}'`);
  return n;
});
export const oneOf = <T extends string>(allowed: readonly T[]) => asArgument((v): T => {
  if (!allowed.includes(v as T)) throw new Error(`expected one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
});

/** A commander parser for a comma-separated subset of the networks G, D, Gs. */
export function networkRoles(value: string): NetworkRole[] {
  const names = nameList(value);
  const bad = names.filter((n) => !['G', 'D', 'Gs'].includes(n));
  if (bad.length) throw new InvalidArgumentError(`expected a comma-separated subset of G,D,Gs, got '${bad.join(',')}'`);
  return names as NetworkRole[];
}

/** A commander argument parser for comma-separated names (e.g. `--cases a,b`). */
export function nameList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new InvalidArgumentError(`expected comma-separated names, got '${value}'`);
  return names;
}

/** Checks a `--device` value against what the linked libtorch offers. */
export function checkDevice(device: string): string {
  const cuda = /^cuda(?::(\d+))?$/.exec(device);
  if (device !== 'cpu' && !cuda) throw new Error(`--device: expected 'cpu', 'cuda' or 'cuda:N', got '${device}'`);
  if (cuda) {
    if (!cudaAvailable()) {
      throw new Error(`--device ${device}: CUDA is not available (libtorch ${torchVersion().torch} was built without CUDA or sees no GPU)`);
    }
    const index = Number(cuda[1] ?? 0);
    if (index >= cudaDeviceCount()) throw new Error(`--device ${device}: only ${cudaDeviceCount()} CUDA device(s) present`);
  }
  return device;
}

/** The global options as seen from `command` (any subcommand), checked; the device defaults to CUDA when present. */
export function runtime(command: Command): Runtime {
  const o = command.optsWithGlobals<{ device?: string; threads?: number }>();
  return { device: checkDevice(o.device ?? defaultDevice()), threads: o.threads ?? getNumThreads() };
}

export function register(program: Command): void {
  program
    .option('--threads <n>', 'libtorch intra-op threads, at most the cores (default: all cores, or $STYLEGAN_THREADS)', threadCount)
    .option('--device <device>', "'cpu' or 'cuda[:N]' (default: cuda when available, else cpu)")
    .hook('preAction', (_program, action) => {
      const { threads } = runtime(action);
      if (threads !== getNumThreads()) setNumThreads(threads);
    });
}
