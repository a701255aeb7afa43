/**
 * What every figure shares: the generator kinds, class labels of conditional networks, per-image noise that depends
 * only on a seed (so an image does not change with the batch it is drawn in), z → dlatents with the truncation
 * trick, and synthesis in batches without recording gradients.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { StyleGANGenerator, truncate } from '../nets/stylegan.js';
import { noiseSize } from '../nets/config.js';
import { missingClassError } from '../nets/labels.js';
import { PRECISIONS, type NoiseInput, type NoiseMode, type NoiseSpec, type Precision } from '../nets/synthesis.js';
import type { Generator as NetsGenerator } from '../nets/networks.js';
import { toUint8, type ImageBatch } from '../io/images.js';
import { concatImages } from './grid.js';
import { classCenters } from './w-average.js';

/** The nets' `Generator` (StyleGAN or ProGAN), named apart from JavaScript's generator functions. */
export type AnyGenerator = NetsGenerator;
export type { NoiseMode } from '../nets/synthesis.js';
export const NOISE_MODES: readonly NoiseMode[] = ['random', 'const', 'none'];

/** A float32 array with its shape (z [N, latent] or dlatents [N, layers, dlatent]); row-major. */
export interface LatentArray {
  data: Float32Array;
  shape: number[];
}

/** One class for every image, or one per image. */
/** One class for all images, one per image, or 'cycle' (image i gets class i mod the number of classes). */
export type ClassSpec = number | readonly number[] | 'cycle';

/**
 * The truncation trick: w' = avg + ψ·(w − avg) on the layers below `cutoff` (null = all layers). `center` 'class'
 * pulls each image of a conditional network towards its own class's average w (w-average.ts); 'global' (the
 * official behaviour, and always for unconditional networks) towards the network's tracked average.
 */
export type TruncationCenter = 'class' | 'global';
export interface Truncation {
  psi: number;
  cutoff: number | null;
  center?: TruncationCenter;
}

export const isStyleGAN = (G: AnyGenerator): G is StyleGANGenerator => G instanceof StyleGANGenerator;

/** G itself when it is a StyleGAN generator; a clear error naming `feature` otherwise. */
export function requireStyleGAN(G: AnyGenerator, feature: string): StyleGANGenerator {
  if (!isStyleGAN(G)) throw new Error(`${feature} needs a StyleGAN generator; this network is a Progressive GAN (${G.cfg.resolution}²)`);
  return G;
}

export const deviceOf = (G: AnyGenerator): string => (isStyleGAN(G) ? G.synthesis.device : G.device);

/** Options common to the figures: how z becomes an image. */
export interface RenderOptions {
  /** Truncation ψ (default 1 = off). StyleGAN only. */
  truncationPsi?: number;
  /** Layers ψ applies to (default: the network's config, 8 for the official nets; null = all). StyleGAN only. */
  truncationCutoff?: number | null;
  /** What ψ pulls towards on conditional networks (default 'class'; 'global' is the official behaviour). */
  truncationCenter?: TruncationCenter;
  /** Noise inputs (default 'const', the stored maps). 'random' draws each image's maps from its own seed. StyleGAN only. */
  noiseMode?: NoiseMode;
  /** Class of conditional networks: required there, refused for unconditional ones. */
  classes?: ClassSpec;
  /** Images per forward pass (default 8). */
  batch?: number;
  /** Called as work proceeds with the images rendered so far and the total (figures that render many images). */
  onProgress?: (done: number, total: number) => void;
  /** Arithmetic of the generator on the CPU: 'fp32' (default) or 'bf16' (StyleGAN's synthesis network, ProGAN's G). */
  precision?: Precision;
}

/** The precision an options object asks for. */
export function precisionOf(_G: AnyGenerator, o: RenderOptions): Precision {
  const p = o.precision ?? 'fp32';
  if (!PRECISIONS.includes(p)) throw new Error(`precision must be one of ${PRECISIONS.join(', ')}, got '${String(p)}'`);
  return p;
}

/** The truncation an options object asks for; refuses ψ ≠ 1 on ProGAN. */
export function truncationOf(G: AnyGenerator, o: RenderOptions): Truncation {
  const psi = o.truncationPsi ?? 1;
  if (!Number.isFinite(psi)) throw new Error(`truncation ψ must be a finite number, got ${psi}`);
  if (!isStyleGAN(G)) {
    if (psi !== 1 || (o.truncationCutoff !== undefined && o.truncationCutoff !== null)) requireStyleGAN(G, 'the truncation trick');
    return { psi: 1, cutoff: null };
  }
  const cutoff = o.truncationCutoff === undefined ? G.cfg.truncationCutoff : o.truncationCutoff;
  if (cutoff !== null && (!Number.isInteger(cutoff) || cutoff < 0)) throw new Error(`truncation cutoff must be an integer ≥ 0, got ${cutoff}`);
  const center = o.truncationCenter ?? 'class';
  if (center !== 'class' && center !== 'global') throw new Error(`truncation centre must be 'class' or 'global', got '${String(center)}'`);
  return { psi, cutoff, center };
}

/** The noise mode an options object asks for; refuses an explicit one on ProGAN (it has no noise inputs). */
export function noiseModeOf(G: AnyGenerator, o: RenderOptions): NoiseMode {
  if (o.noiseMode !== undefined && !NOISE_MODES.includes(o.noiseMode)) {
    throw new Error(`noise mode must be one of ${NOISE_MODES.join(', ')}, got '${String(o.noiseMode)}'`);
  }
  if (o.noiseMode !== undefined && !isStyleGAN(G)) requireStyleGAN(G, 'noise control');
  return o.noiseMode ?? 'const';
}

export function batchOf(o: RenderOptions): number {
  const b = o.batch ?? 8;
  if (!Number.isInteger(b) || b < 1) throw new Error(`batch must be an integer ≥ 1, got ${b}`);
  return b;
}

/** Class index per image (length n), checked against the network; null for unconditional networks. */
export function classIndices(G: AnyGenerator, classes: ClassSpec | undefined, n: number): number[] | null {
  const L = G.cfg.labelSize;
  if (L === 0) {
    if (classes !== undefined) throw new Error('a class was given, but this network is unconditional');
    return null;
  }
  if (classes === undefined) throw missingClassError(L, `choose a class 0…${L - 1}`);
  const list = classes === 'cycle' ? Array.from({ length: n }, (_, i) => i % L) : typeof classes === 'number' ? new Array<number>(n).fill(classes) : [...classes];
  if (list.length !== n) throw new Error(`${list.length} classes given for ${n} images`);
  const bad = list.find((c) => !Number.isInteger(c) || c < 0 || c >= L);
  if (bad !== undefined) throw new Error(`class ${bad} is out of range: this network has classes 0…${L - 1}`);
  return list;
}

/** One-hot labels [n, labelSize] on `device` for the given class indices. */
export function oneHotLabels(indices: readonly number[], labelSize: number, device: string): Tensor {
  return E.oneHot(indices, labelSize, device);
}


/**
 * Random noise maps for each layer, [n, 1, s, s]; image j's maps are drawn, layer by layer, from a generator seeded
 * with `seeds[j]`, so they depend only on that seed.
 */
export function seededNoise(G: StyleGANGenerator, seeds: readonly number[]): Tensor[] {
  return E.tidy(() => {
    const perImage = seeds.map((s) => {
      const gen = new E.Generator(s);
      return Array.from({ length: G.numLayers }, (_, i) => E.randn([1, 1, noiseSize(i), noiseSize(i)], { generator: gen }));
    });
    return Array.from({ length: G.numLayers }, (_, i) => E.cat(perImage.map((maps) => maps[i]!), 0).to(deviceOf(G)));
  });
}

/** The synthesis noise for a mode: 'random' becomes explicit per-image maps from `seeds`. */
export function noiseFor(G: StyleGANGenerator, mode: NoiseMode, seeds: readonly number[]): NoiseSpec {
  return mode === 'random' ? (seededNoise(G, seeds) as NoiseInput[]) : mode;
}

/** dlatents [N, layers, dlatent] truncated towards the network's average w (a contiguous copy when ψ = 1). */
export function truncateDlatents(G: StyleGANGenerator, d: Tensor, t: Truncation): Tensor {
  return t.psi === 1 ? d.contiguous() : truncate(d, G.dlatentAvg, { psi: t.psi, cutoff: t.cutoff });
}

/** dlatents [N, layers, dlatent] truncated towards per-row centres [N, dlatent] (class averages). */
export function truncateTowards(d: Tensor, centers: Tensor, { psi, cutoff }: { psi: number; cutoff: number | null }): Tensor {
  return E.tidy(() => {
    const layers = d.shape[1]!;
    const upto = Math.min(cutoff ?? layers, layers);
    const coefs = new Float32Array(layers).map((_, i) => (i < upto ? psi : 1));
    return centers.unsqueeze(1).lerp(d, E.fromTypedArray(coefs, [1, layers, 1]).to(d.device));
  });
}

/** z [N, latent] (+ labels) → dlatents [N, layers, dlatent] after truncation (class-aware for conditional nets). */
export function mapLatents(G: StyleGANGenerator, z: Tensor, { labels, truncation: t }: { labels: Tensor | null; truncation: Truncation }): Tensor {
  return E.tidy(() => {
    const d = G.mapToDlatents(z, labels);
    if (t.psi === 1 || !labels || (t.center ?? 'class') === 'global') return truncateDlatents(G, d, t);
    const classes = Array.from(labels.argmax(1).to('cpu').toTypedArray() as BigInt64Array, Number);
    return truncateTowards(d, classCenters(G, classes), { psi: t.psi, cutoff: t.cutoff });
  });
}

/** The [start, end) slices of n items, `batch` at a time. */
export function* batches(n: number, batch: number): Generator<[number, number]> {
  for (let start = 0; start < n; start += batch) yield [start, Math.min(n, start + batch)];
}

/** A tensor's data as a LatentArray (float32, CPU copy). */
export function toLatentArray(t: Tensor): LatentArray {
  return { data: E.tidy(() => t.detach().to('cpu').to('float32').contiguous().toFloat32Array()), shape: t.shape };
}

/** Rows [start, end) of a LatentArray as a tensor on `device`. */
export function latentRows(a: LatentArray, { start, end, device }: { start: number; end: number; device: string }): Tensor {
  const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
  const t = E.fromTypedArray(a.data.slice(start * row, end * row), [end - start, ...a.shape.slice(1)]);
  return device === 'cpu' ? t : E.tidy(() => t.to(device));
}

/** Evaluates `fn` without recording gradients, inside its own scope. */
export const inference = <T>(fn: () => T): T => E.tidy(() => E.noGrad(fn));

/** How `synthesizeImages` runs: `noise(start, end)` is each slice's noise, `batch` images at a time. */
export interface SynthesizeOptions {
  noise: (start: number, end: number) => NoiseSpec;
  batch: number;
  precision?: Precision;
}

/** Synthesizes dlatents [N, layers, dlatent], `batch` at a time, with `noise(start, end)` as each slice's noise. */
export function synthesizeImages(G: StyleGANGenerator, dlatents: Tensor, { noise, batch, precision = 'fp32' }: SynthesizeOptions): ImageBatch {
  const parts: ImageBatch[] = [];
  for (const [start, end] of batches(dlatents.shape[0]!, batch)) {
    parts.push(inference(() => toUint8(G.synthesis.forward(dlatents.narrow(0, start, end - start), { noise: noise(start, end), precision }))));
  }
  return concatImages(parts);
}

/** The noise of a mode for images whose noise seeds are `seeds` (see `noiseFor`), as `synthesizeImages` takes it. */
export const noiseBySeed = (G: StyleGANGenerator, mode: NoiseMode, seeds: readonly number[]) =>
  (start: number, end: number): NoiseSpec => noiseFor(G, mode, seeds.slice(start, end));
