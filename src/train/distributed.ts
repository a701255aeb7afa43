/**
 * Data-parallel training over a c10d process group. Every rank holds the same networks, optimizers and random stream;
 * the global minibatch of B images is split into W shards of B/W, rank r taking rows r, r+W, r+2W, … (strided, so
 * that the minibatch-stddev groups of D — samples i, i+B/g, … — stay whole inside a shard whenever W divides B/g).
 * All randomness (latents, noise maps, style mixing, fake classes) is drawn for the global minibatch from the shared
 * stream and then sharded, gradients are averaged over ranks in buckets, and the w-average is averaged too — so
 * W processes × B/W follow the same trajectory as one process × B, to float-reduction tolerance.
 *
 * Gradient buckets as torch.nn.parallel.DistributedDataParallel cuts them: 25 MiB, parameters in reverse order (the
 * order backward produces their gradients). With `overlap` (the default where the addon has c10d's Reducer) each
 * bucket is all-reduced as soon as backward has produced its gradients, while backward goes on; without, backward
 * finishes first and then all buckets are reduced together. Only the final backward of a loss is reduced: the R1 and
 * WGAN-GP penalties' inner gradients (create_graph, with respect to the images) stay local, as in one process.
 */
import { performance } from 'node:perf_hooks';
import * as E from '../engine/index.js';
import type { Tensor, ProcessGroup, Work, Reducer } from '../engine/index.js';
import { noiseSize, type NoiseInput } from '../nets/index.js';

/** What the step functions and the trainer ask of data parallelism. */
export interface DataParallel {
  readonly rank: number;
  readonly size: number;
  /** This rank's rows of a tensor drawn for the global minibatch. */
  shard(t: Tensor): Tensor;
  shardArray(a: Int32Array): Int32Array;
  /** Per-layer noise for the synthesis network: maps of the global minibatch, drawn in layer order, sharded. */
  noise(globalN: number, generator: E.Generator, device: string): NoiseInput[];
  /** Averages tensors over ranks in place (null entries are skipped; they must be null on every rank). */
  allReduceMean(ts: readonly (Tensor | null)[]): void;
  /** d(loss)/d(params) averaged over ranks (null for parameters no rank's loss reaches). */
  gradients(loss: Tensor, params: readonly Tensor[]): (Tensor | null)[];
}

export interface DataParallelOptions {
  /** Gradient bucket size (default 25 MiB). */
  bucketBytes?: number;
  /** All-reduce each bucket while backward runs (default: where the addon has c10d's Reducer). */
  overlap?: boolean;
}

/** Gradient buckets of 25 MiB, as torch.nn.parallel.DistributedDataParallel. */
const DEFAULT_BUCKET_BYTES = 25 << 20;

export class DataParallelGroup implements DataParallel {
  readonly rank: number;
  readonly size: number;
  readonly overlap: boolean;
  /** Wall time spent in `allReduceMean` (gradients without overlap, and the w-average), for benchmarks. */
  reduceMs = 0;
  private readonly bucketBytes: number;
  /** One Reducer per parameter list (an optimizer's `params`), made on first use. */
  private readonly reducers = new Map<readonly Tensor[], Reducer>();

  /** `device`: where this rank's tensors live (NCCL groups reduce CUDA tensors only). */
  constructor(readonly group: ProcessGroup, private readonly device = 'cpu', o: DataParallelOptions = {}) {
    this.rank = group.rank;
    this.size = group.size;
    this.bucketBytes = o.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    this.overlap = o.overlap ?? E.reducerAvailable();
  }

  /** Whether this rank writes logs, grids and snapshots (rank 0). */
  get isWriter(): boolean {
    return this.rank === 0;
  }

  /** The per-rank share of a global minibatch; it must divide evenly. */
  localCount(globalN: number): number {
    if (globalN % this.size !== 0) throw new Error(`minibatch ${globalN} is not divisible by the ${this.size} processes`);
    return globalN / this.size;
  }

  shard(t: Tensor): Tensor {
    this.localCount(t.shape[0]!);
    return t.slice(0, this.rank, t.shape[0]!, this.size);
  }

  shardArray(a: Int32Array): Int32Array {
    this.localCount(a.length);
    return a.filter((_, i) => i % this.size === this.rank);
  }

  noise(globalN: number, generator: E.Generator, device: string): NoiseInput[] {
    // The synthesis network reads entry i when it reaches layer i, so the draws happen in the order of one process.
    return new Proxy<NoiseInput[]>([], {
      get: (target, key) => {
        if (typeof key !== 'string' || !/^\d+$/.test(key)) return Reflect.get(target, key) as unknown;
        const s = noiseSize(Number(key));
        return this.shard(E.randn([globalN, 1, s, s], { generator, device }));
      },
    });
  }

  gradients(loss: Tensor, params: readonly Tensor[]): (Tensor | null)[] {
    if (!this.overlap || this.size === 1) {
      const grads = E.grad(loss, [...params], { allowUnused: true });
      this.allReduceMean(grads);
      return grads;
    }
    let reducer = this.reducers.get(params);
    if (!reducer) {
      const order = params.map((_, i) => params.length - 1 - i);
      const sizes = order.map((i) => params[i]!.numel * E.itemSize[params[i]!.dtype]);
      const cut = bucketIndices(sizes, this.bucketBytes).map((b) => b.map((j) => order[j]!));
      reducer = new E.Reducer(this.group, params, { buckets: cut, bucketBytes: this.bucketBytes, findUnused: true });
      this.reducers.set(params, reducer);
    }
    for (const p of params) p.grad = null;
    reducer.backward([loss]);
    return params.map((p) => p.grad);
  }

  /** Removes the Reducers' hooks from the parameters. */
  dispose(): void {
    for (const r of this.reducers.values()) r.destroy();
    this.reducers.clear();
  }

  /** Bucketed all-reduce: each bucket is flattened into one tensor, all buckets are in flight together. */
  allReduceMean(ts: readonly (Tensor | null)[]): void {
    const live = ts.filter((t): t is Tensor => t !== null);
    if (this.size === 1 || !live.length) return;
    const started = performance.now();
    E.tidy(() => {
      const pending: { flat: Tensor; members: Tensor[]; work: Work }[] = [];
      for (const members of buckets(live, this.bucketBytes)) {
        const flat = E.cat(members.map((t) => t.reshape(-1)));
        pending.push({ flat, members, work: this.group.allReduce([flat], 'sum') });
      }
      for (const { flat, members, work } of pending) {
        work.wait();
        const mean = flat.div(this.size);
        let at = 0;
        for (const t of members) {
          const n = t.numel;
          E.noGrad(() => t.copy_(mean.narrow(0, at, n).reshape(...t.shape)));
          at += n;
        }
      }
    });
    this.reduceMs += performance.now() - started;
  }

  /** Rank 0's values of `tensors` on every rank (initial weights), bucketed like the gradients. */
  broadcast(ts: readonly Tensor[]): void {
    if (this.size === 1) return;
    E.tidy(() => {
      for (const members of buckets(ts, this.bucketBytes)) {
        const flat = E.cat(members.map((t) => t.detach().reshape(-1).to('float32')));
        this.group.broadcast([flat], 0).wait();
        let at = 0;
        for (const t of members) {
          const n = t.numel;
          E.noGrad(() => t.copy_(flat.narrow(0, at, n).reshape(...t.shape).to(t.dtype)));
          at += n;
        }
      }
    });
  }

  /** True on every rank when it is true on any (stopping decisions taken from local clocks). */
  any(flag: boolean): boolean {
    return E.tidy(() => {
      const t = E.full([1], flag ? 1 : 0, { device: this.device });
      this.group.allReduce([t], 'max').wait();
      return t.item() > 0;
    });
  }

  barrier(): void {
    this.group.barrier().wait();
  }
}

/** Consecutive groups of items of `sizes` bytes, at most `bytes` each (a larger item gets a group of its own), as indices. */
export function bucketIndices(sizes: readonly number[], bytes: number): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  let size = 0;
  sizes.forEach((b, i) => {
    if (cur.length && size + b > bytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(i);
    size += b;
  });
  if (cur.length) out.push(cur);
  return out;
}

/** Consecutive groups of tensors of at most `bytes` each (a larger tensor gets a bucket of its own). */
export function buckets(ts: readonly Tensor[], bytes: number): Tensor[][] {
  return bucketIndices(ts.map((t) => t.numel * E.itemSize[t.dtype]), bytes).map((b) => b.map((i) => ts[i]!));
}
