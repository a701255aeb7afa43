/** Threads, devices and memory of the libtorch runtime. */
import os from 'node:os';
import { native, onNativeLoad } from './native.js';
import { setCpuAllocator, defaultCpuAllocator } from './allocator.js';

/** Sets libtorch's intra-op threads. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setNumThreads: expected a positive integer, got ${n}`);
  native.setNumThreads(n);
}
export const getNumThreads = (): number => native.getNumThreads();

/**
 * OpenBLAS's threads. libtorch's CPU matrix products go to the system BLAS, whose worker threads wait between
 * products by spinning in sched_yield. The products of the networks are small (a batch × 512 × 512 dense layer), so a
 * worker woke for each and spun through the convolutions in between, taking a core from libtorch's threads: a 32²
 * small-widths training step, batch 16, ran in 253–452 ms (up to 0.4 s of system time per step) against a steady
 * 267–276 ms with one BLAS thread. So OpenBLAS runs on the calling thread (1) unless OPENBLAS_NUM_THREADS says
 * otherwise, and the metrics' large products (covariances, distance matrices) raise it with `withBlasThreads`.
 * Returns false when the BLAS is not OpenBLAS (then nothing changes).
 */
export const setBlasThreads = (n: number): boolean => native.setBlasThreads(n);
/** OpenBLAS's thread count, or null when the BLAS is not OpenBLAS. */
export const getBlasThreads = (): number | null => native.getBlasThreads();

let blasDepth = 0;
/**
 * Runs `fn` (synchronous) with OpenBLAS on libtorch's intra-op thread count, for large matrix products, then returns
 * it to one thread. Nested calls keep the count until the outermost returns. A no-op when OPENBLAS_NUM_THREADS is set.
 */
export function withBlasThreads<T>(fn: () => T): T {
  if (process.env.OPENBLAS_NUM_THREADS !== undefined || (blasDepth === 0 && !setBlasThreads(getNumThreads()))) return fn();
  blasDepth++;
  try {
    return fn();
  } finally {
    if (--blasDepth === 0) setBlasThreads(1);
  }
}
/** Cores available to this process. */
export const availableCores = (): number => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);

export const cudaAvailable = (): boolean => native.cudaAvailable();
export const cudaDeviceCount = (): number => native.cudaDeviceCount();
/** Waits for queued CUDA work (no-op without CUDA); needed before timing GPU code. */
export const synchronize = (): void => native.cudaSynchronize();
/** 'cuda' when the linked libtorch sees a GPU, else 'cpu'. */
export const defaultDevice = (): string => (cudaAvailable() ? 'cuda' : 'cpu');

export interface MemoryStats {
  /** Tensors alive on the native side (disposed or finalized ones excluded). */
  liveTensors: number;
  /** CPU bytes owned by live non-view tensors (what is reported to V8 as external memory). */
  liveBytes: number;
  /** Resident set size of the process. */
  rss: number;
}
export function memoryStats(): MemoryStats {
  return { ...native.memoryStats(), rss: process.memoryUsage.rss() };
}

export function torchVersion(): { torch: string; parallel: string; config: string } {
  return native.version();
}

/**
 * A thread count checked against the cores: more threads than cores only slow libtorch down, and a huge count
 * spawns hundreds of threads. `what` names the setting in the error.
 */
export function checkThreadCount(value: string, what: string): number {
  const n = Number(value);
  const cores = availableCores();
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > cores) {
    throw new Error(`${what}: expected an integer from 1 to ${cores} (the cores of this machine), got '${value}'`);
  }
  return n;
}

/**
 * Default set-up when libtorch loads: the CPU allocator (see allocator.ts), then intra-op threads = cores (override
 * with STYLEGAN_THREADS, checked), and OpenBLAS on one thread (see setBlasThreads).
 */
export function initRuntime(): void {
  onNativeLoad(() => {
    const allocator = defaultCpuAllocator();
    setCpuAllocator(allocator.kind, allocator.options);
    const env = process.env.STYLEGAN_THREADS;
    setNumThreads(env === undefined || env === '' ? availableCores() : checkThreadCount(env, 'STYLEGAN_THREADS'));
    if (process.env.OPENBLAS_NUM_THREADS === undefined) setBlasThreads(1);
  });
}
