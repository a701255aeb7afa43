/**
 * The order in which a trainer sees the dataset: an endless stream of images, epoch after epoch, each epoch a
 * fresh permutation, each shown image optionally mirrored (x-flip, the `mirror_augment` of ProGAN/StyleGAN).
 *
 * Everything is a function of (seed, stream position): epoch e = ⌊p / N⌋ draws its permutation and its flips from
 * numpy's RandomState seeded with [seed, e] (N uniforms for a Fisher–Yates shuffle, then N more, flip where
 * u < 0.5). The stream can therefore be restarted at any position (after a change of resolution or batch size, or
 * on resume) and gives the same images whatever thread or timing produced the earlier ones.
 */
import { RandomState } from '../engine/numpy-random.js';

export interface OrderOptions {
  /** 0 … 2^32 − 1. */
  seed: number;
  /** Permute each epoch (default true); otherwise 0, 1, …, N − 1 every epoch. */
  shuffle: boolean;
  /** Mirror each shown image with probability 1/2. */
  xflip: boolean;
}

interface EpochPlan {
  epoch: number;
  order: Int32Array;
  flips: Uint8Array;
}

export class ImageOrder {
  private plans: EpochPlan[] = [];

  constructor(
    readonly count: number,
    readonly options: OrderOptions,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`ImageOrder: count must be a positive integer, got ${count}`);
    if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff) {
      throw new Error(`ImageOrder: seed must be an integer 0 … 2^32 - 1, got ${options.seed}`);
    }
  }

  private plan(epoch: number): EpochPlan {
    const cached = this.plans.find((p) => p.epoch === epoch);
    if (cached) return cached;
    const n = this.count;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const flips = new Uint8Array(n);
    if (this.options.shuffle || this.options.xflip) {
      const random = new RandomState([this.options.seed, epoch]);
      if (this.options.shuffle) {
        const u = random.random_sample(n);
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(u[i] * (i + 1));
          const t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
      }
      if (this.options.xflip) {
        const u = random.random_sample(n);
        for (let i = 0; i < n; i++) flips[i] = u[i] < 0.5 ? 1 : 0;
      }
    }
    const plan = { epoch, order, flips };
    this.plans = [plan, ...this.plans.slice(0, 1)]; // a batch spans at most two epochs when batch ≤ N
    return plan;
  }

  /** Image indices and flips of stream positions `position` … `position + n − 1`. */
  fill(position: number, { n, indices, flips }: { n: number; indices: Int32Array; flips: Uint8Array }): void {
    if (!Number.isSafeInteger(position) || position < 0) throw new Error(`ImageOrder: invalid stream position ${position}`);
    for (let k = 0; k < n; k++) {
      const p = position + k;
      const epoch = Math.floor(p / this.count);
      if (epoch > 0xffffffff) throw new Error(`ImageOrder: stream position ${p} is past the last epoch`);
      const plan = this.plan(epoch);
      const i = p - epoch * this.count;
      indices[k] = plan.order[i];
      flips[k] = plan.flips[i];
    }
  }
}
