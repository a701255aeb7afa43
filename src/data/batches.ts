/**
 * Minibatches of real images for training, as plain uint8 arrays (the trainer turns them into tensors and maps
 * [0, 255] to [−1, 1]).
 */
import type { ImageOrder } from './order.js';
import type { ImageStore } from './store.js';

export interface Batch {
  /** [batchSize, channels, resolution, resolution], uint8. */
  images: Uint8Array;
  /** Class label per image, or null for an unlabelled dataset. */
  labels: Int32Array | null;
  resolution: number;
  channels: number;
  batchSize: number;
  /** Dataset index of each image. */
  indices: Int32Array;
  /** 1 where the image was mirrored. */
  flipped: Uint8Array;
  /** Stream position of the first image (images shown before this batch). */
  position: number;
}

/** Data parallelism: process `rank` of `size` takes rows rank, rank + size, … of every batch of the stream. */
export interface BatchShard {
  rank: number;
  size: number;
}

/**
 * The batch of `batchSize` images at stream `position`, at `resolution` — or, with `shard`, this process's rows of it
 * (`batchSize` / size images; the stream still advances by `batchSize`).
 */
export async function assembleBatch(
  store: ImageStore, order: ImageOrder, { position, batchSize, resolution, shard }: { position: number; batchSize: number; resolution: number; shard?: BatchShard },
): Promise<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  if (shard && batchSize % shard.size !== 0) throw new Error(`minibatch ${batchSize} is not divisible by the ${shard.size} processes`);
  const { channels, labels } = store.dataset;
  let indices = new Int32Array(batchSize);
  let flipped = new Uint8Array(batchSize);
  order.fill(position, { n: batchSize, indices, flips: flipped });
  if (shard) {
    indices = indices.filter((_, i) => i % shard.size === shard.rank);
    flipped = flipped.filter((_, i) => i % shard.size === shard.rank);
  }
  const images = new Uint8Array(indices.length * channels * resolution * resolution);
  await store.gather(indices, { flips: flipped, resolution, out: images });
  return {
    images,
    labels: labels ? Int32Array.from(indices, (i) => labels[i]) : null,
    resolution,
    channels,
    batchSize: indices.length,
    indices,
    flipped,
    position,
  };
}
