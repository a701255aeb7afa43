/**
 * Which allocator libtorch's CPU tensors use. The default, 'caching', keeps freed blocks of 1 MiB and more (huge-page
 * backed) and reuses them for later tensors of about the same size: a network that allocates the same activations
 * every call then stops paying the page faults of freshly mapped memory, which is most of a 1024² forward pass with
 * glibc's malloc. 'system' is libtorch's own allocator (glibc malloc). Set with STYLEGAN_CPU_ALLOCATOR or here.
 */
import { native } from './native.js';

export type CpuAllocator = 'caching' | 'system';
let current: CpuAllocator = 'system';

/** Switches the allocator of later CPU allocations (tensors alive now are freed by the one that made them). */
export function setCpuAllocator(kind: CpuAllocator): void {
  if (kind !== 'caching' && kind !== 'system') throw new Error(`setCpuAllocator: expected 'caching' or 'system', got '${String(kind)}'`);
  native.setCpuAllocator(kind);
  current = kind;
}
export const cpuAllocator = (): CpuAllocator => current;

export interface CpuCacheStats {
  /** Bytes of free blocks held for reuse. */
  cachedBytes: number;
  /** Bytes mapped by the caching allocator (in use + cached). */
  mappedBytes: number;
  hits: number;
  misses: number;
}
export const cpuCacheStats = (): CpuCacheStats => native.cpuAllocatorStats();
/** Returns the cached free blocks to the system (tensors in use are unaffected). */
export const emptyCpuCache = (): void => native.emptyCpuCache();

/** The allocator named by STYLEGAN_CPU_ALLOCATOR, else 'caching'. */
export function defaultCpuAllocator(): CpuAllocator {
  const env = process.env.STYLEGAN_CPU_ALLOCATOR;
  if (env === undefined || env === '') return 'caching';
  if (env !== 'caching' && env !== 'system') throw new Error(`STYLEGAN_CPU_ALLOCATOR: expected 'caching' or 'system', got '${env}'`);
  return env;
}
