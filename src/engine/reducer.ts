/**
 * c10d's Reducer, the gradient engine of torch.nn.parallel.DistributedDataParallel, over a `ProcessGroup`: gradients
 * are all-reduced in buckets while backward is still running. Hooks on the parameters' gradient accumulators (native,
 * on the autograd thread) copy each gradient into its bucket as backward produces it; a bucket whose gradients are
 * all in is all-reduced at once, on the group's threads, while backward computes the next ones; when backward ends
 * the Reducer waits for the buckets and writes the mean over ranks into every `.grad`. Which parameters share a
 * bucket, and the order buckets are launched in, is the caller's: buckets launch in list order, each once it and all
 * before it are full, so the first buckets should hold the parameters whose gradients come first (the last layers).
 */
import { native, type ReducerHandle } from './native.js';
import type { Tensor } from './tensor.js';
import { collectiveFailure, collectiveHint, DistributedError, type ProcessGroup } from './distributed.js';

export interface ReducerOptions {
  /** Indices into `params` of each bucket, in launch order; every parameter in exactly one bucket. */
  buckets: number[][];
  /** The byte size the buckets were cut to (the Reducer records it). */
  bucketBytes: number;
  /**
   * Parameters a backward may not reach (layers above the working resolution): each backward first walks the graph
   * from its outputs and counts the unreached parameters as ready, and a parameter no rank reached keeps a null grad.
   */
  findUnused?: boolean;
}

/** Whether this build of the addon has the Reducer (libtorch 1.x; 2.x groups are c10d::Backend objects). */
export const reducerAvailable = (): boolean => native.reducerAvailable();

export class Reducer {
  private handle: ReducerHandle | null;

  constructor(readonly group: ProcessGroup, readonly params: readonly Tensor[], o: ReducerOptions) {
    const seen = new Set<number>();
    for (const i of o.buckets.flat()) {
      if (!Number.isInteger(i) || i < 0 || i >= params.length || seen.has(i)) throw new DistributedError(`reducer: bad or repeated parameter index ${i} in the buckets`);
      seen.add(i);
    }
    if (seen.size !== params.length) throw new DistributedError(`reducer: the buckets hold ${seen.size} of ${params.length} parameters`);
    this.handle = native.reducerNew(group.h, params.map((p) => p.handle), o.buckets, o.bucketBytes, o.findUnused ?? false);
  }

  private get h(): ReducerHandle {
    if (!this.handle) throw new DistributedError('reducer was destroyed');
    return this.handle;
  }

  /**
   * Backward of the sum of `outputs` into the parameters' `.grad` (accumulating into gradients already there; other
   * leaves of the graph are left alone), the buckets all-reduced as they fill. On return every parameter's `.grad`
   * holds the mean over ranks. Every rank must call it for the same parameters, in the same order of steps.
   */
  backward(outputs: readonly Tensor[]): void {
    const h = this.h;
    const outs = outputs.map((t) => t.handle);
    native.reducerPrepare(h, outs);
    try {
      native.backwardInputs(outs, this.params.map((p) => p.handle), false, false);
    } catch (e) {
      // A bucket's all-reduce that failed (a dead peer, a timeout) surfaces here, when backward waits for it.
      if (e instanceof Error && collectiveHint(e.message, this.group.timeoutMs)) throw collectiveFailure(this.group.describe('all-reduce (gradients)'), e, this.group.timeoutMs);
      throw e;
    }
    if (native.reducerPending(h)) {
      throw new DistributedError(this.group.describe('backward ended with gradient buckets not reduced: a parameter the graph reaches got no gradient'));
    }
  }

  /** Removes the hooks (also done when the reducer is garbage-collected). */
  destroy(): void {
    if (!this.handle) return;
    native.reducerDestroy(this.handle);
    this.handle = null;
  }
}
