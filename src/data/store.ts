/**
 * Decoded dataset images in memory, per resolution, within a memory budget.
 *
 * - The full-resolution images are decoded once into one uint8 array [N, C, R, R] when it fits the budget.
 * - Lower levels of detail (R/2, R/4, …, what progressive growing trains on) are made with `downscaleLod`, the
 *   exact repeated 2×2 average of the official ProGAN/StyleGAN dataset_tool, stored as uint8 like its TFRecords.
 *   A level is kept in memory when it fits the budget next to the full-resolution cache (other lower levels are
 *   dropped to make room). When the full resolution does not fit, a level that does is built by one decoding
 *   pass over the dataset.
 * - Otherwise images are read and decoded per batch ("streaming").
 */
import type { Dataset } from './dataset.js';
import { copyChw } from './pixels.js';
import { forEachInOrder } from './pool.js';
import { downscaleLod } from './resample.js';
import { isPowerOfTwo } from './resolution.js';

/** Default memory budget for cached images: 2 GiB. */
export const DEFAULT_MEMORY_BUDGET = 2 * 1024 ** 3;
/** The largest typed array V8 allocates. */
const MAX_ARRAY_BYTES = 2 ** 32;

export interface CacheProgress {
  resolution: number;
  done: number;
  total: number;
}

export interface ImageStoreOptions {
  /** Bytes the cached images may occupy (default 2 GiB); 0 disables caching. */
  memoryBudget?: number;
  /** Decodes in flight (default 8). */
  concurrency?: number;
  /** Called while a resolution is being cached. */
  onProgress?: (progress: CacheProgress) => void;
}

export class ImageStore {
  private readonly levels = new Map<number, Uint8Array>();
  private readonly budget: number;
  private readonly concurrency: number;
  private stopped = false;

  constructor(
    readonly dataset: Dataset,
    private readonly options: ImageStoreOptions = {},
  ) {
    this.budget = Math.min(options.memoryBudget ?? DEFAULT_MEMORY_BUDGET, MAX_ARRAY_BYTES);
    this.concurrency = options.concurrency ?? 8;
    if (!(this.budget >= 0)) throw new Error(`ImageStore: memoryBudget must be ≥ 0, got ${options.memoryBudget}`);
  }

  /** Bytes of all N images at `resolution`. */
  levelBytes(resolution: number): number {
    return this.dataset.count * this.dataset.channels * resolution * resolution;
  }

  /** Whether images at `resolution` are served from memory. */
  isCached(resolution: number): boolean {
    return this.levels.has(resolution);
  }

  /** Resolutions held in memory. */
  cachedResolutions(): number[] {
    return [...this.levels.keys()].sort((a, b) => b - a);
  }

  private checkResolution(resolution: number): void {
    const full = this.dataset.resolution;
    if (!isPowerOfTwo(resolution) || resolution > full) {
      throw new Error(`${this.dataset.path}: resolution ${resolution} is not a power of two ≤ the dataset's ${full}`);
    }
  }

  /** Caches `resolution` if it fits the budget (decoding the dataset when needed); otherwise leaves it streamed. */
  async prepare(resolution: number): Promise<void> {
    this.checkResolution(resolution);
    if (this.levels.has(resolution)) return;
    const full = this.dataset.resolution;
    const fullBytes = this.levelBytes(full);
    if (!this.levels.has(full) && fullBytes <= this.budget) {
      this.levels.set(full, await this.decodeAll(full));
    }
    if (resolution === full) return;
    const base = this.levels.has(full) ? fullBytes : 0;
    if (base + this.levelBytes(resolution) > this.budget) return;
    for (const r of this.levels.keys()) if (r !== full) this.levels.delete(r);
    const fullCache = this.levels.get(full);
    const planes = this.dataset.count * this.dataset.channels;
    this.levels.set(resolution, fullCache ? downscaleLod(fullCache, { planes, size: full, target: resolution }) : await this.decodeAll(resolution));
  }

  /** Makes a running or later `prepare` give up (when the loader closes mid-way through caching). */
  stop(): void {
    this.stopped = true;
  }

  /** Decodes every image at `resolution` into one array. */
  private async decodeAll(resolution: number): Promise<Uint8Array> {
    const { count } = this.dataset;
    const out = new Uint8Array(this.levelBytes(resolution));
    const bytes = out.length / count;
    await forEachInOrder(
      { count: count, limit: this.concurrency },
      async (i) => {
        if (this.stopped) throw new Error(`${this.dataset.path}: caching stopped`);
        return this.readImageAt(i, resolution);
      },
      (i, outcome) => {
        if (!outcome.ok) throw outcome.error;
        out.set(outcome.value, i * bytes);
        if ((i + 1) % 1000 === 0 || i + 1 === count) this.options.onProgress?.({ resolution, done: i + 1, total: count });
      },
    );
    return out;
  }

  /** One image at `resolution`, decoded from the dataset (no cache). */
  private async readImageAt(index: number, resolution: number): Promise<Uint8Array> {
    const image = await this.dataset.readImage(index);
    return downscaleLod(image, { planes: this.dataset.channels, size: this.dataset.resolution, target: resolution });
  }

  /**
   * Writes the images `indices` at `resolution` into `out` ([B, C, r, r], B = indices.length), mirrored where
   * `flips` is 1.
   */
  async gather(indices: Int32Array, { flips, resolution, out }: { flips: Uint8Array; resolution: number; out: Uint8Array }): Promise<void> {
    this.checkResolution(resolution);
    const { channels, resolution: full } = this.dataset;
    const bytes = channels * resolution * resolution;
    if (out.length !== indices.length * bytes) throw new Error(`ImageStore.gather: output has ${out.length} bytes, expected ${indices.length * bytes}`);
    const level = this.levels.get(resolution);
    const fullCache = this.levels.get(full);
    if (level) {
      for (let k = 0; k < indices.length; k++) copyChw(level, out, { srcOffset: indices[k] * bytes, dstOffset: k * bytes, channels, size: resolution, flipX: flips[k] === 1 });
      return;
    }
    if (fullCache) {
      const fullBytes = channels * full * full;
      for (let k = 0; k < indices.length; k++) {
        const image = fullCache.subarray(indices[k] * fullBytes, (indices[k] + 1) * fullBytes);
        copyChw(downscaleLod(image, { planes: channels, size: full, target: resolution }), out, { srcOffset: 0, dstOffset: k * bytes, channels, size: resolution, flipX: flips[k] === 1 });
      }
      return;
    }
    await forEachInOrder(
      { count: indices.length, limit: this.concurrency },
      (k) => this.readImageAt(indices[k], resolution),
      (k, outcome) => {
        if (!outcome.ok) throw outcome.error;
        copyChw(outcome.value, out, { srcOffset: 0, dstOffset: k * bytes, channels, size: resolution, flipX: flips[k] === 1 });
      },
    );
  }
}
