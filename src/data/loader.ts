/**
 * BatchLoader: minibatches of real images prepared ahead on a worker thread, so that the trainer does not wait
 * for decoding.
 *
 * The worker (loader-worker.ts) opens the dataset, caches what fits the memory budget (store.ts) and keeps up to
 * `prefetch` batches ready. The batches follow the seeded stream of order.ts, so the sequence depends only on the
 * seed, the positions and the batch sizes, never on timing. `configure` changes resolution or batch size (a new
 * progressive-growing phase) and continues the stream at the current position; prepared batches of the old
 * setting are dropped.
 *
 * The worker is unref'd while nobody waits for it, so a forgotten loader does not keep the process alive; still,
 * call `close()`, which ends the worker and waits for it to exit.
 */
import { Worker } from 'node:worker_threads';
import type { Batch, BatchShard } from './batches.js';
import type { DatasetInfo } from './dataset.js';
import { isPowerOfTwo } from './resolution.js';
import type { CacheProgress } from './store.js';

export interface BatchLoaderOptions {
  /** Resolution of the batches: a power of two ≤ the dataset's (lower ones are box-downscaled). */
  resolution: number;
  batchSize: number;
  /** Seed of the shuffle and the flips, 0 … 2^32 − 1 (default 0). */
  seed?: number;
  /** Shuffle every epoch (default true). */
  shuffle?: boolean;
  /** Mirror augmentation: each image x-flipped with probability 1/2 (default false). */
  xflip?: boolean;
  /** Stream position to start at, e.g. the images already shown when resuming (default 0). */
  position?: number;
  /** Bytes of decoded images kept in memory (default 2 GiB). */
  memoryBudget?: number;
  /** Batches prepared ahead (default 3). */
  prefetch?: number;
  /** Check every image header when opening (default) or only the first. */
  validate?: 'all' | 'first';
  /** Called while the worker caches a resolution. */
  onProgress?: (progress: CacheProgress) => void;
  /** Data parallelism: batches hold only this process's rows of the stream's batches of `batchSize`. */
  shard?: BatchShard;
}

/** Settings the worker starts with. */
export interface WorkerSettings {
  path: string;
  seed: number;
  shuffle: boolean;
  xflip: boolean;
  memoryBudget?: number;
  prefetch: number;
  validate: 'all' | 'first';
  shard?: BatchShard;
}

export type ToWorker =
  | { type: 'configure'; generation: number; resolution: number; batchSize: number; position: number }
  | { type: 'consumed'; generation: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; info: DatasetInfo }
  | { type: 'batch'; generation: number; batch: Batch }
  | { type: 'progress'; progress: CacheProgress }
  | { type: 'error'; generation: number; message: string };

interface Waiter {
  resolve: (batch: Batch) => void;
  reject: (err: Error) => void;
}

const CLOSE_TIMEOUT_MS = 5000;

export class BatchLoader {
  private generation = 0;
  private readonly ready: Batch[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: Error | null = null;
  private closed = false;
  private exited: Promise<void>;
  private resolution: number;
  private batchSize: number;
  private nextPosition: number;
  private readonly shardSize: number;

  private constructor(
    private readonly worker: Worker,
    readonly info: DatasetInfo,
    options: BatchLoaderOptions,
  ) {
    this.resolution = options.resolution;
    this.batchSize = options.batchSize;
    this.nextPosition = options.position ?? 0;
    this.shardSize = options.shard?.size ?? 1;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: FromWorker) => this.onMessage(message, options));
    worker.on('error', (err) => this.fail(new Error(`BatchLoader worker failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`BatchLoader worker exited unexpectedly (code ${code})`));
    });
  }

  /** Starts a worker on the dataset at `path` and begins preparing batches. */
  static async open(path: string, options: BatchLoaderOptions): Promise<BatchLoader> {
    checkBatchSettings(options.resolution, options.batchSize);
    const settings: WorkerSettings = {
      path,
      seed: options.seed ?? 0,
      shuffle: options.shuffle ?? true,
      xflip: options.xflip ?? false,
      memoryBudget: options.memoryBudget,
      prefetch: Math.max(1, options.prefetch ?? 3),
      validate: options.validate ?? 'all',
      shard: options.shard,
    };
    // sharp documents that on glibc Linux the main thread must load it before any worker thread does; the worker
    // needs it for datasets of JPEG / WebP / non-8-bit PNG images.
    await import('sharp');
    const worker = new Worker(new URL('./loader-worker.js', import.meta.url), { workerData: settings });
    const info = await new Promise<DatasetInfo>((resolve, reject) => {
      const onMessage = (message: FromWorker): void => {
        if (message.type === 'ready') resolve(message.info);
        else if (message.type === 'error') reject(new Error(message.message));
        else return;
        worker.off('message', onMessage);
        worker.off('error', reject);
      };
      worker.on('message', onMessage);
      worker.on('error', reject);
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    const loader = new BatchLoader(worker, info, options);
    if (options.resolution > info.resolution) {
      await loader.close();
      throw new Error(`${path}: cannot load ${options.resolution}x${options.resolution} batches from a ${info.resolution}x${info.resolution} dataset`);
    }
    loader.restart();
    worker.unref();
    return loader;
  }

  /** Stream position of the next batch `next()` returns (= images returned so far, plus the start position). */
  get position(): number {
    return this.nextPosition;
  }

  get settings(): { resolution: number; batchSize: number } {
    return { resolution: this.resolution, batchSize: this.batchSize };
  }

  /** The next batch. */
  next(): Promise<Batch> {
    if (this.closed) return Promise.reject(new Error('BatchLoader is closed'));
    const batch = this.ready.shift(); // batches prepared before a failure are still good
    if (batch) return Promise.resolve(this.hand(batch));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.worker.ref();
    });
  }

  /**
   * Changes resolution and/or batch size (and optionally jumps to another stream position); the stream continues
   * at the current position. Batches already requested with `next()` come with the new settings.
   */
  configure(settings: { resolution?: number; batchSize?: number; position?: number }): void {
    if (this.closed) throw new Error('BatchLoader is closed');
    const resolution = settings.resolution ?? this.resolution;
    const batchSize = settings.batchSize ?? this.batchSize;
    checkBatchSettings(resolution, batchSize);
    if (resolution > this.info.resolution) {
      throw new Error(`${this.info.path}: cannot load ${resolution}x${resolution} batches from a ${this.info.resolution}x${this.info.resolution} dataset`);
    }
    this.resolution = resolution;
    this.batchSize = batchSize;
    if (settings.position !== undefined) this.nextPosition = settings.position;
    this.restart();
  }

  /** Stops the worker and waits for it to exit. Pending `next()` calls are rejected. */
  async close(): Promise<void> {
    if (this.closed) return this.exited;
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('BatchLoader was closed'));
    this.ready.length = 0;
    this.worker.ref();
    this.post({ type: 'close' });
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS, 'timeout').unref());
    if ((await Promise.race([this.exited, timeout])) === 'timeout') await this.worker.terminate();
    await this.exited;
  }

  private restart(): void {
    this.generation++;
    this.ready.length = 0;
    this.failure = null;
    this.post({
      type: 'configure',
      generation: this.generation,
      resolution: this.resolution,
      batchSize: this.batchSize,
      position: this.nextPosition,
    });
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  /** Returns a batch to the caller and lets the worker prepare another. */
  private hand(batch: Batch): Batch {
    this.nextPosition = batch.position + batch.batchSize * this.shardSize;
    this.post({ type: 'consumed', generation: this.generation });
    return batch;
  }

  private onMessage(message: FromWorker, options: BatchLoaderOptions): void {
    if (message.type === 'progress') {
      options.onProgress?.(message.progress);
      return;
    }
    if (message.type === 'ready' || message.generation !== this.generation || this.closed) return;
    if (message.type === 'error') {
      this.fail(new Error(message.message));
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(this.hand(message.batch));
    else this.ready.push(message.batch);
    if (this.waiters.length === 0) this.worker.unref();
  }

  private fail(err: Error): void {
    this.failure = err;
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
    this.worker.unref();
  }
}

function checkBatchSettings(resolution: number, batchSize: number): void {
  if (!isPowerOfTwo(resolution)) {
    throw new Error(`BatchLoader: resolution must be a power of two, got ${resolution}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`BatchLoader: batchSize must be a positive integer, got ${batchSize}`);
}
