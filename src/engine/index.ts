/** The stylegan-ts tensor engine: libtorch through a thin N-API addon, typed and scope-aware. */
import { initRuntime } from './device.js';

export { Tensor, itemSize, type DType, type Shape, type TensorLike } from './tensor.js';
export type { MemoryFormat } from './native.js';
export * from './functional.js';
export * from './grid.js';
export { tidy, scopeAsync, keep, disposeAll, scopeDepth, debugLeaks, leakReport, type Disposable, type LeakSite } from './scope.js';
export { grad, noGrad, isGradEnabled, type GradOptions } from './autograd.js';
export { Adam, type AdamOptions, type AdamState } from './optim.js';
export { Generator, manualSeed } from './random.js';
export { TensorDict } from './params.js';
export { mutationEpoch } from './mutation.js';
export * from './device.js';
export { setCpuAllocator, cpuAllocator, cpuCacheStats, emptyCpuCache, mallopt, DEFAULT_CACHE_LIMIT_BYTES, type CpuAllocator, type CpuCacheStats, type CachingOptions } from './allocator.js';
export * from './distributed.js';
export * from './reducer.js';
export * as jit from './jit.js';
export { JitModule, type JitValue, type JitResult, type JitKwargs } from './jit.js';

initRuntime();
