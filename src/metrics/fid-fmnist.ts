/**
 * FID on Fashion-MNIST: the Fréchet distance (frechet.ts) between the classifier features (fmnist-classifier.ts)
 * of the 10,000 t10k test images and those of N images drawn from a generator: random latents, random noise
 * inputs, no truncation (ψ = 1), and for class-conditional networks the classes in turn (image j gets class
 * j mod 10, so N = 10,000 holds 1,000 of each). Generated images are quantized to 8 bits, as saved images are,
 * before they are measured. Lower is better; the value depends on N (it is biased upwards for small N), so only
 * values with the same N compare.
 *
 * The statistics of the real images depend only on the classifier and the test files, so they are cached under
 * `$STYLEGAN_CACHE` (default `$XDG_CACHE_HOME/stylegan-ts`, else `~/.cache/stylegan-ts`), in a file named after a
 * hash of the classifier file, the preprocessing and the test images file.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { StyleGANGenerator, type Generator } from '../nets/index.js';
import { openGenerator } from '../io/open-network.js';
import { decodeSafetensors, writeSafetensorsFile } from '../io/safetensors.js';
import { recordFromArray, recordArray } from '../io/tensor-record.js';
import {
  FMNIST_CLASSES, FMNIST_PREPROCESS, FMNIST_RESOLUTION, fmnistFiles, loadFmnist, quantizeUnitRange,
} from './fmnist-data.js';
import { DEFAULT_CLASSIFIER, imageFeatures, loadClassifier, type FmnistClassifier, type LoadedClassifier } from './fmnist-classifier.js';
import { fitGaussian, frechetDistance, type FeatureStatistics } from './frechet.js';

/** The folder of cached reference statistics. */
export function defaultCacheDir(): string {
  return process.env.STYLEGAN_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'stylegan-ts');
}

/** Class of the j-th generated image, j = offset … offset + count − 1: the classes in turn. */
export function balancedLabels(offset: number, count: number, classes: number): number[] {
  return Array.from({ length: count }, (_, i) => (offset + i) % classes);
}

export interface ReferenceOptions {
  /** Folder of the Fashion-MNIST IDX files. */
  dataDir?: string;
  /** Cache folder; null disables the cache. */
  cacheDir?: string | null;
}

/** N(μ, Σ) of the classifier features of the t10k images, from the cache when it holds them. */
export async function referenceStatistics(classifier: LoadedClassifier, o: ReferenceOptions = {}): Promise<{ stats: FeatureStatistics; cached: boolean }> {
  const imagesFile = fmnistFiles('t10k', o.dataDir).images;
  let cacheFile: string | null = null;
  if (o.cacheDir !== null) {
    let imagesBytes: Buffer;
    try {
      imagesBytes = await readFile(imagesFile);
    } catch (e) {
      throw new Error(`${imagesFile}: cannot read the Fashion-MNIST test images: ${(e as Error).message}`);
    }
    const key = createHash('sha256').update(`${classifier.sha256}\n${FMNIST_PREPROCESS}\n`).update(imagesBytes).digest('hex');
    cacheFile = join(o.cacheDir ?? defaultCacheDir(), `fid-fmnist-t10k-${key.slice(0, 16)}.safetensors`);
    const hit = await readCachedStatistics(cacheFile);
    if (hit) return { stats: hit, cached: true };
  }
  const test = await loadFmnist('t10k', { dir: o.dataDir });
  const stats = E.tidy(() => fitGaussian(imageFeatures(classifier.net, test.images, { count: test.count })));
  if (cacheFile) {
    await mkdir(dirname(cacheFile), { recursive: true });
    await writeSafetensorsFile(cacheFile, {
      mu: recordFromArray('float64', [stats.dim], stats.mu),
      sigma: recordFromArray('float64', [stats.dim, stats.dim], stats.sigma),
    }, { count: String(stats.count), classifier_sha256: classifier.sha256, source: imagesFile });
  }
  return { stats, cached: false };
}

/** The statistics in a cache file, or null when it is missing or unusable (it is then recomputed and replaced). */
async function readCachedStatistics(path: string): Promise<FeatureStatistics | null> {
  try {
    const { tensors, metadata } = decodeSafetensors(await readFile(path), { path });
    const mu = tensors.get('mu');
    const sigma = tensors.get('sigma');
    const count = Number(metadata.count);
    if (!mu || !sigma || mu.dtype !== 'float64' || sigma.dtype !== 'float64' || !(count >= 2)) return null;
    const dim = mu.shape[0]!;
    if (mu.shape.length !== 1 || sigma.shape.join() !== `${dim},${dim}`) return null;
    return { count, dim, mu: Float64Array.from(recordArray(mu) as Float64Array), sigma: Float64Array.from(recordArray(sigma) as Float64Array) };
  } catch {
    return null;
  }
}

export interface GeneratedOptions {
  /** Number of images (≥ 2). */
  num: number;
  /** Images per forward pass. */
  batch: number;
  /** Seeds the latents, the noise inputs and nothing else. */
  seed?: number;
  device?: string;
  /** Names the network in errors. */
  source?: string;
  onProgress?: (done: number, total: number) => void;
}

/** Checks that `G` makes Fashion-MNIST-shaped images: 32×32, 1 channel, unconditional or 10 classes. */
export function checkFmnistGenerator(G: Generator, source = 'network'): void {
  const { resolution, numChannels, labelSize } = G.cfg;
  const R = FMNIST_RESOLUTION;
  if (resolution !== R || numChannels !== 1) {
    throw new Error(`${source}: fid-fmnist needs a ${R}×${R} generator with 1 channel, this one makes ${resolution}×${resolution} with ${numChannels}`);
  }
  if (labelSize !== 0 && labelSize !== FMNIST_CLASSES) {
    throw new Error(`${source}: the generator is conditional on ${labelSize} classes; Fashion-MNIST has ${FMNIST_CLASSES}`);
  }
}

/** A batch of generated images [n, 1, 32, 32] in [−1, 1] (8-bit quantized), classes starting at `offset`. */
function generateBatch(
  G: Generator, { offset, n, latents, noise, device }: { offset: number; n: number; latents: E.Generator; noise: E.Generator; device: string },
): Tensor {
  return E.tidy(() => {
    const z = E.randn([n, G.cfg.latentSize], { generator: latents }).to(device);
    let labels: Tensor | null = null;
    const L = G.cfg.labelSize;
    if (L > 0) {
      labels = E.oneHot(balancedLabels(offset, n, L), L, device);
    }
    const images = G instanceof StyleGANGenerator
      ? G.forward(z, { labels, noise: 'random', generator: noise, truncationPsi: 1 })
      : G.forward(z, { labels });
    return quantizeUnitRange(images);
  });
}

/** N(μ, Σ) of the classifier features of `o.num` generated images. */
export function generatedStatistics(G: Generator, classifier: FmnistClassifier, o: GeneratedOptions): FeatureStatistics {
  checkFmnistGenerator(G, o.source);
  const device = o.device ?? 'cpu';
  const seed = o.seed ?? 0;
  const latents = new E.Generator(seed);
  const noise = new E.Generator(seed + 1, device);
  const parts: Tensor[] = [];
  try {
    E.noGrad(() => {
      for (let start = 0; start < o.num; start += o.batch) {
        const n = Math.min(o.batch, o.num - start);
        parts.push(E.keep(E.tidy(() => classifier.features(generateBatch(G, { offset: start, n, latents, noise, device })).to('cpu'))));
        o.onProgress?.(start + n, o.num);
      }
    });
    return E.tidy(() => fitGaussian(E.cat(parts, 0)));
  } finally {
    E.disposeAll(parts);
  }
}

export interface FidFmnistOptions extends ReferenceOptions {
  /** Generator checkpoint (.safetensors written by this project). */
  network: string;
  num?: number;
  batch?: number;
  seed?: number;
  device?: string;
  /** Classifier file (default: the shipped one). */
  classifier?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface FidFmnistResult {
  metric: 'fid-fmnist';
  fid: number;
  network: string;
  num: number;
  reference: { split: 't10k'; count: number; cached: boolean };
  classifier: { path: string; sha256: string };
  seed: number;
  seconds: number;
}

/** Loads the network and the classifier and measures the network's FID against the t10k images. */
export async function fidFmnist(o: FidFmnistOptions): Promise<FidFmnistResult> {
  const t0 = performance.now();
  const device = o.device ?? 'cpu';
  const num = o.num ?? 10_000;
  const seed = o.seed ?? 0;
  if (!Number.isInteger(num) || num < 2) throw new Error(`fid-fmnist: the number of generated images must be an integer >= 2, got ${num}`);
  // The network first: a wrong path or shape fails before the reference statistics are computed.
  const { G } = await openGenerator(o.network, { device });
  try {
    checkFmnistGenerator(G, o.network);
    const classifier = await loadClassifier(o.classifier ?? DEFAULT_CLASSIFIER, device);
    try {
      const reference = await referenceStatistics(classifier, o);
      const generated = generatedStatistics(G, classifier.net, { num, batch: o.batch ?? 256, seed, device, source: o.network, onProgress: o.onProgress });
      return {
        metric: 'fid-fmnist',
        fid: frechetDistance(generated, reference.stats),
        network: o.network,
        num,
        reference: { split: 't10k', count: reference.stats.count, cached: reference.cached },
        classifier: { path: classifier.path, sha256: classifier.sha256 },
        seed,
        seconds: (performance.now() - t0) / 1000,
      };
    } finally {
      classifier.net.dispose();
    }
  } finally {
    G.dispose();
  }
}
