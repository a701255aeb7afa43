/**
 * Data-parallel training over a c10d process group. Every rank holds the same networks, optimizers and random stream;
 * the global minibatch of B images is split into W shards of B/W, rank r taking rows r, r+W, r+2W, … (strided, so
 * that the minibatch-stddev groups of D — samples i, i+B/g, … — stay whole inside a shard whenever W divides B/g).
 * All randomness (latents, noise maps, style mixing, fake classes) is drawn for the global minibatch from the shared
 * stream and then sharded, gradients are averaged over ranks in buckets, and the w-average is averaged too — so
 * W processes × B/W follow the same trajectory as one process × B, to float-reduction tolerance.
 */
import { performance } from 'node:perf_hooks';
import * as E from '../engine/index.js';
import type { Tensor, ProcessGroup, Work } from '../engine/index.js';
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
}

/** Gradient buckets of 25 MiB, as torch.nn.parallel.DistributedDataParallel. */
const DEFAULT_BUCKET_BYTES = 25 << 20;

export class DataParallelGroup implements DataParallel {
  readonly rank: number;
  readonly size: number;
  /** Wall time spent in `allReduceMean` (gradients and w-average), for benchmarks. */
  reduceMs = 0;

  /** `device`: where this rank's tensors live (NCCL groups reduce CUDA tensors only). */
  constructor(readonly group: ProcessGroup, private readonly device = 'cpu', private readonly bucketBytes = DEFAULT_BUCKET_BYTES) {
    this.rank = group.rank;
    this.size = group.size;
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

/** Consecutive groups of tensors of at most `bytes` each (a larger tensor gets a bucket of its own). */
export function buckets(ts: readonly Tensor[], bytes: number): Tensor[][] {
  const out: Tensor[][] = [];
  let cur: Tensor[] = [];
  let size = 0;
  for (const t of ts) {
    const b = t.numel * E.itemSize[t.dtype];
    if (cur.length && size + b > bytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += b;
  }
  if (cur.length) out.push(cur);
  return out;
}
