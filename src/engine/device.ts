/** Threads, devices and memory of the libtorch runtime. */
import os from 'node:os';
import { native } from './native.js';

/** Sets libtorch's intra-op threads. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setNumThreads: expected a positive integer, got ${n}`);
  native.setNumThreads(n);
}
export const getNumThreads = (): number => native.getNumThreads();
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

let initialized = false;
/** Default set-up: intra-op threads = cores (override with STYLEGAN_THREADS, checked). Called once by the engine entry. */
export function initRuntime(): void {
  if (initialized) return;
  initialized = true;
  const env = process.env.STYLEGAN_THREADS;
  setNumThreads(env === undefined || env === '' ? availableCores() : checkThreadCount(env, 'STYLEGAN_THREADS'));
}
