/**
 * Detector features of images drawn from a generator, as stylegan2-ada-pytorch's metrics draw them: z ~ N(0, I),
 * random noise inputs, no truncation, for conditional networks the class of a random dataset image (uniform
 * classes without a dataset), images quantized as (x·127.5 + 128) clamped to 0…255 and truncated to uint8.
 *
 * Sharding-ready: batch b draws its latents, classes and noise from its own generator seeded by (seed, b), so the
 * batches are independent of each other and of the batch order; `shard` selects batches b ≡ index (mod count), and
 * shards' features concatenated in batch order equal one unsharded run.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { StyleGANGenerator } from '../nets/stylegan.js';
import { deviceOf, type AnyGenerator } from '../gen/render.js';
import { FeatureStats, type FeatureStatsOptions } from './feature-stats.js';
import type { Detector } from './detector.js';
import type { Progress } from './dataset-stats.js';

export interface GeneratorSamplingOptions {
  /** Seed of every draw (default 0). */
  seed?: number;
  /** Images per generator call (default 32). */
  batch?: number;
  /** Class labels of the dataset to draw classes from (conditional networks); uniform classes when null. */
  datasetLabels?: Int32Array | null;
  /** This process's share of the batches. */
  shard?: { index: number; count: number };
}

/** The generator of batch `b` (independent streams per batch; see the module comment). */
export const batchGenerator = (seed: number, b: number): E.Generator => new E.Generator(seed * 1_000_003 + b);

/** Class indices for n images of a conditional network. */
export function drawClasses(G: AnyGenerator, { n, gen, labels }: { n: number; gen: E.Generator; labels: Int32Array | null | undefined }): number[] {
  const L = G.cfg.labelSize;
  const pick = E.tidy(() => Array.from(E.randint(0, labels ? labels.length : L, [n], { generator: gen }).toTypedArray() as BigInt64Array, Number));
  return labels ? pick.map((i) => labels[i]!) : pick;
}

/** Batch b of generated images [n, C, H, W] as uint8. */
export function generatedBatch(G: AnyGenerator, { b, n, ...o }: GeneratorSamplingOptions & { b: number; n: number }): Tensor {
  const gen = batchGenerator(o.seed ?? 0, b);
  const device = deviceOf(G);
  return E.tidy(() => E.noGrad(() => {
    const z = E.randn([n, G.cfg.latentSize], { generator: gen }).to(device);
    const labels = G.cfg.labelSize > 0 ? E.oneHot(drawClasses(G, { n, gen, labels: o.datasetLabels }), G.cfg.labelSize, device) : null;
    const img = G instanceof StyleGANGenerator
      ? G.forward(z, { labels, noise: 'random', generator: device === 'cpu' ? gen : undefined, truncationPsi: 1 })
      : G.forward(z, { labels });
    return img.mul(127.5).add(128).clamp(0, 255).to('uint8');
  }));
}

/** Features of `maxItems` generated images (this shard's batches only when sharded). */
export function generatorFeatureStats(G: AnyGenerator, detector: Detector, o: GeneratorSamplingOptions & FeatureStatsOptions & { onProgress?: Progress }): FeatureStats {
  const num = o.maxItems;
  if (num === undefined || num === null || !Number.isInteger(num) || num < 1) throw new Error(`the number of generated images must be a positive integer, got ${num}`);
  const batch = o.batch ?? 32;
  const shard = o.shard ?? { index: 0, count: 1 };
  const numBatches = Math.ceil(num / batch);
  const stats = new FeatureStats({ captureAll: o.captureAll, captureMeanCov: o.captureMeanCov });
  for (let b = shard.index; b < numBatches; b += shard.count) {
    const n = Math.min(batch, num - b * batch);
    E.tidy(() => E.noGrad(() => stats.append(detector.run(generatedBatch(G, { ...o, b, n })))));
    o.onProgress?.(Math.min(num, (b + 1) * batch), num);
  }
  return stats;
}
