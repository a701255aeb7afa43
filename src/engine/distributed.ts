/**
 * Process groups of libtorch's c10d: a TCPStore rendezvous at MASTER_ADDR:MASTER_PORT (the torchrun conventions),
 * Gloo for CPU tensors and NCCL for CUDA tensors, and the collectives all-reduce, broadcast, all-gather and barrier.
 * Every collective is enqueued on the process group's own threads and returns a `Work` at once: `wait()` blocks this
 * thread, `promise()` waits on a libuv worker thread. Collectives work in place on the tensors given; they must be
 * issued in the same order on every rank. A failed collective (a peer that died, a timeout) throws a
 * `DistributedError` naming the rank, the operation and libtorch's message.
 */
import { native, type GroupHandle, type WorkHandle } from './native.js';
import { Tensor, wrap } from './tensor.js';
import { noteMutation } from './mutation.js';

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'max' | 'min' | 'product';

/** Where and who this process is: the torchrun environment variables, typed. */
export interface DistributedConfig {
  masterAddr: string;
  masterPort: number;
  worldSize: number;
  rank: number;
  localRank: number;
}

export interface InitOptions extends DistributedConfig {
  /** Default: 'nccl' for CUDA devices, else 'gloo'. */
  backend?: Backend;
  /** Rendezvous and collective timeout (default 300 s, or STYLEGAN_DIST_TIMEOUT seconds). */
  timeoutMs?: number;
}

export class DistributedError extends Error {}

/** The backends this build of the addon has (Gloo with Debian's libtorch; NCCL with a CUDA libtorch). */
export const distributedBackends = (): Backend[] => native.distBackends() as Backend[];

function intVar(env: NodeJS.ProcessEnv, name: string, min: number): number {
  const v = env[name]!;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min) throw new DistributedError(`${name}=${v}: expected an integer ≥ ${min}`);
  return n;
}

/**
 * The torchrun variables of `env`, or null when WORLD_SIZE is unset (a single process). MASTER_ADDR defaults to
 * 127.0.0.1, MASTER_PORT to 29500, RANK and LOCAL_RANK to 0.
 */
export function distributedConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DistributedConfig | null {
  if (env.WORLD_SIZE === undefined) return null;
  const worldSize = intVar(env, 'WORLD_SIZE', 1);
  const rank = env.RANK === undefined ? 0 : intVar(env, 'RANK', 0);
  const localRank = env.LOCAL_RANK === undefined ? 0 : intVar(env, 'LOCAL_RANK', 0);
  const masterPort = env.MASTER_PORT === undefined ? 29500 : intVar(env, 'MASTER_PORT', 1);
  if (rank >= worldSize) throw new DistributedError(`RANK=${rank} is not below WORLD_SIZE=${worldSize}`);
  if (masterPort > 65535) throw new DistributedError(`MASTER_PORT=${masterPort} is not a TCP port`);
  return { masterAddr: env.MASTER_ADDR || '127.0.0.1', masterPort, worldSize, rank, localRank };
}

/** The timeout of STYLEGAN_DIST_TIMEOUT (seconds), else 300 s. */
export function defaultTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.STYLEGAN_DIST_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? Math.round(s * 1000) : 300_000;
}

/** The hint for libtorch's message of a failed collective: a timeout, a dead peer, or '' for anything else. */
export function collectiveHint(msg: string, timeoutMs: number): string {
  return /timed out/i.test(msg) ? ` (no answer from every rank within ${timeoutMs / 1000} s; STYLEGAN_DIST_TIMEOUT sets it)`
    : /reset|closed|refused|broken pipe|EOF/i.test(msg) ? ' (a peer process died)' : '';
}

/** The error of a failed collective `what`, with libtorch's message and a hint for timeouts and dead peers. */
export function collectiveFailure(what: string, e: unknown, timeoutMs: number): DistributedError {
  const msg = e instanceof Error ? e.message : String(e);
  return new DistributedError(`${what} failed: ${msg}${collectiveHint(msg, timeoutMs)}`);
}

/** One collective in flight. */
export class Work<T = void> {
  private readonly what: string;
  private readonly timeoutMs: number;
  private readonly finish: () => T;

  constructor(
    private readonly handle: WorkHandle,
    o: { what: string; timeoutMs: number; finish: () => T },
  ) {
    this.what = o.what;
    this.timeoutMs = o.timeoutMs;
    this.finish = o.finish;
  }

  private fail(e: unknown): never {
    throw collectiveFailure(this.what, e, this.timeoutMs);
  }

  /** Blocks until the collective is done; returns its result (all-gather: one tensor per rank). */
  wait(): T {
    try {
      native.workWait(this.handle, this.timeoutMs);
    } catch (e) {
      this.fail(e);
    }
    return this.finish();
  }

  /** Waits on a worker thread; the JS thread stays free. */
  async promise(): Promise<T> {
    try {
      await native.workPromise(this.handle, this.timeoutMs);
    } catch (e) {
      this.fail(e);
    }
    return this.finish();
  }

  get completed(): boolean {
    return native.workIsCompleted(this.handle);
  }
}

export class ProcessGroup {
  private handle: GroupHandle | null;
  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
  readonly backend: Backend;
  readonly timeoutMs: number;

  private constructor(handle: GroupHandle, o: InitOptions & { backend: Backend; timeoutMs: number }) {
    this.handle = handle;
    this.rank = o.rank;
    this.size = o.worldSize;
    this.localRank = o.localRank;
    this.backend = o.backend;
    this.timeoutMs = o.timeoutMs;
  }

  /** Rendezvous with the other ranks (rank 0 hosts the store); blocks until all `worldSize` ranks have joined. */
  static init(o: InitOptions, device = 'cpu'): ProcessGroup {
    const backend = o.backend ?? (device.startsWith('cuda') ? 'nccl' : 'gloo');
    const timeoutMs = o.timeoutMs ?? defaultTimeoutMs();
    if (!distributedBackends().includes(backend)) {
      throw new DistributedError(`backend '${backend}' is not in this build of the addon (it has: ${distributedBackends().join(', ') || 'none'})`);
    }
    try {
      const h = native.distInit(backend, o.masterAddr, o.masterPort, o.rank, o.worldSize, timeoutMs, 'stylegan/');
      return new ProcessGroup(h, { ...o, backend, timeoutMs });
    } catch (e) {
      throw new DistributedError(`rank ${o.rank} of ${o.worldSize}: rendezvous at ${o.masterAddr}:${o.masterPort} failed: ${(e as Error).message}`);
    }
  }

  /** `init` from the torchrun environment variables; null when WORLD_SIZE is unset. */
  static fromEnv(device = 'cpu', env: NodeJS.ProcessEnv = process.env): ProcessGroup | null {
    const c = distributedConfigFromEnv(env);
    return c ? ProcessGroup.init(c, device) : null;
  }

  /** The addon's handle (for the engine's Reducer). */
  get h(): GroupHandle {
    if (!this.handle) throw new DistributedError('process group was destroyed');
    return this.handle;
  }

  /** How failures of this rank's collectives are prefixed. */
  describe(op: string): string {
    return `rank ${this.rank} of ${this.size} (${this.backend}): ${op}`;
  }

  private work<T>(handle: WorkHandle, op: string, finish: () => T): Work<T> {
    return new Work(handle, { what: this.describe(op), timeoutMs: this.timeoutMs, finish });
  }

  /** Reduces `tensors` over all ranks, in place. */
  allReduce(tensors: Tensor[], op: ReduceOp = 'sum'): Work {
    return this.work(native.distAllReduce(this.h, tensors.map((t) => t.handle), op, this.timeoutMs), `all-reduce (${op})`, noteMutation);
  }

  /** Copies `tensors` of rank `root` into the same tensors of every other rank. */
  broadcast(tensors: Tensor[], root = 0): Work {
    return this.work(native.distBroadcast(this.h, tensors.map((t) => t.handle), root, this.timeoutMs), `broadcast from rank ${root}`, noteMutation);
  }

  /** Every rank's `tensor` (same shape everywhere), in rank order. */
  allGather(tensor: Tensor): Work<Tensor[]> {
    const w = native.distAllGather(this.h, tensor.handle, this.timeoutMs);
    return this.work(w, 'all-gather', () => native.workResult(w).map(wrap));
  }

  barrier(): Work {
    return this.work(native.distBarrier(this.h, this.timeoutMs), 'barrier', () => undefined);
  }

  /** Small strings through the rendezvous store (e.g. a run directory chosen by rank 0). */
  storeSet(key: string, value: string): void {
    native.storeSet(this.h, key, value);
  }
  storeGet(key: string): string {
    return native.storeGet(this.h, key);
  }

  /** Leaves the group (collectives in flight must be finished). */
  destroy(): void {
    if (!this.handle) return;
    native.distDestroy(this.handle);
    this.handle = null;
  }
}
