/**
 * Which allocator libtorch's CPU tensors use. The default, 'caching', keeps freed blocks of 1 MiB and more (huge-page
 * backed) and reuses them for later tensors of about the same size: a network that allocates the same activations
 * every call then stops paying the page faults of freshly mapped memory, which is most of a 1024² forward pass with
 * glibc's malloc. 'system' is libtorch's own allocator (glibc malloc). Set with STYLEGAN_CPU_ALLOCATOR
 * (and STYLEGAN_CPU_CACHE_MB) or here; the engine applies the default when it loads, for the CLI and the library.
 */
import { native, loadNative } from './native.js';

export type CpuAllocator = 'caching' | 'system';
let current: CpuAllocator = 'system';

export interface CachingOptions {
  /**
   * Bytes the caching allocator may keep mapped (in use + cached) before it releases cached blocks on a miss. The
   * limit in force is the larger of this and 1.5× the most bytes ever in use at once, so a training step whose
   * saved activations alone exceed it keeps reusing its blocks instead of mapping fresh ones every step.
   */
  limitBytes?: number;
  /** A cached block serves requests down to 1/slack of its size. */
  slack?: number;
}
/** 1 GiB: the cache of a 1024² forward pass at batch 1 (measured: 1.4 GB peak RSS without a limit, 1.2 GB with it). */
export const DEFAULT_CACHE_LIMIT_BYTES = 2 ** 30;

/** Switches the allocator of later CPU allocations (tensors alive now are freed by the one that made them). */
export function setCpuAllocator(kind: CpuAllocator, o: CachingOptions = {}): void {
  if (kind !== 'caching' && kind !== 'system') throw new Error(`setCpuAllocator: expected 'caching' or 'system', got '${String(kind)}'`);
  native.setCpuAllocator(kind, o.slack ?? 0, o.limitBytes ?? 0);
  current = kind;
}
/** The allocator of new CPU tensors (loads libtorch, which applies the default). */
export function cpuAllocator(): CpuAllocator {
  loadNative();
  return current;
}

export interface CpuCacheStats {
  /** Bytes of free blocks held for reuse. */
  cachedBytes: number;
  /** Bytes mapped by the caching allocator (in use + cached). */
  mappedBytes: number;
  hits: number;
  misses: number;
}
export const cpuCacheStats = (): CpuCacheStats => native.cpuAllocatorStats();
/**
 * glibc's malloc tunables (mallopt): 'mmapThreshold', 'trimThreshold', 'topPad', 'mmapMax' or 'arenaMax'; false when
 * glibc refuses the value. One of the allocator policies measured against the caching allocator.
 */
export const mallopt = (param: 'mmapThreshold' | 'trimThreshold' | 'topPad' | 'mmapMax' | 'arenaMax', value: number): boolean => native.mallopt(param, value);
/** Returns the cached free blocks to the system (tensors in use are unaffected). */
export const emptyCpuCache = (): void => native.emptyCpuCache();

/** The allocator named by STYLEGAN_CPU_ALLOCATOR (else 'caching'), its limit from STYLEGAN_CPU_CACHE_MB. */
export function defaultCpuAllocator(): { kind: CpuAllocator; options: CachingOptions } {
  const env = process.env.STYLEGAN_CPU_ALLOCATOR || 'caching';
  if (env !== 'caching' && env !== 'system') throw new Error(`STYLEGAN_CPU_ALLOCATOR: expected 'caching' or 'system', got '${env}'`);
  const mb = process.env.STYLEGAN_CPU_CACHE_MB;
  if (mb !== undefined && mb !== '' && !(Number(mb) > 0)) throw new Error(`STYLEGAN_CPU_CACHE_MB: expected a positive number of MiB, got '${mb}'`);
  return { kind: env, options: { limitBytes: mb ? Number(mb) * 2 ** 20 : DEFAULT_CACHE_LIMIT_BYTES } };
}
