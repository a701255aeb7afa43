/** The stylegan-ts tensor engine: libtorch through a thin N-API addon, typed and scope-aware. */
import { initRuntime } from './device.js';

export { Tensor, itemSize, type DType, type Shape, type TensorLike } from './tensor.js';
export * from './functional.js';
export { tidy, keep, disposeAll, scopeDepth, type Disposable } from './scope.js';
export { grad, noGrad, isGradEnabled, type GradOptions } from './autograd.js';
export { Adam, type AdamOptions, type AdamState } from './optim.js';
export { Generator, manualSeed } from './random.js';
export { TensorDict } from './params.js';
export { mutationEpoch } from './mutation.js';
export * from './device.js';
export * from './distributed.js';
export * as jit from './jit.js';
export { JitModule, type JitValue, type JitResult, type JitKwargs } from './jit.js';

initRuntime();
