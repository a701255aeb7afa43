/**
 * The noise figures of StyleGAN (§3.2):
 * (a) detail (Figure 4): one latent under many noise samples. Per seed a row of three cells: the image with the first
 *     noise sample, a 2×2 tile of the same crop from four other samples zoomed ×2 (nearest), and the per-pixel
 *     standard deviation over all samples of the channel-mean image, scaled so that the largest deviation is white.
 * (b) components (Figure 5): the same latent and noise with noise in all layers, in none, in the fine layers only and
 *     in the coarse layers only, side by side (one row per seed).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { makeGrid, pick, toUint8, type ImageBatch } from '../io/images.js';
import type { NoiseInput, Precision } from '../nets/synthesis.js';
import type { StyleGANGenerator } from '../nets/stylegan.js';
import { seedLatents } from './seeds.js';
import { assembleGrid, concatImages, cropImage, grayTo, resizeNearest } from './grid.js';
import {
  type AnyGenerator, type RenderOptions, requireStyleGAN, truncationOf, batchOf, classIndices, oneHotLabels, mapLatents,
  seededNoise, synthesizeImages, batches, inference, deviceOf, precisionOf,
} from './render.js';

/** `classes` (conditional networks): one for all, or one per seed. */
export interface NoiseFigureOptions extends Omit<RenderOptions, 'noiseMode'> {
  seeds: readonly number[];
  /** Noise samples per seed in figure (a) (≥ 2; default 100, as the official figure). */
  samples?: number;
  /** Noise sample k is drawn from seed `noiseSeed + k` (default 0). */
  noiseSeed?: number;
  /** The zoomed square of figure (a), in pixels (default: the central quarter-side square). */
  crop?: { x: number; y: number; size: number };
  /** Figure (b): layers below `split` are "coarse", the rest "fine" (default min(8, layers / 2): 4²–32² at 1024²). */
  split?: number;
}

/** The column titles of figure (b), with the layers each one puts noise in. */
export interface NoiseComponents {
  grid: ImageBatch;
  columns: { title: string; layers: number[] }[];
}

function latentsOf(S: StyleGANGenerator, o: NoiseFigureOptions): Tensor {
  if (o.seeds.length === 0) throw new Error('the noise figure needs at least one seed');
  const classes = classIndices(S, o.classes, o.seeds.length);
  const device = deviceOf(S);
  const labels = classes ? oneHotLabels(classes, S.cfg.labelSize, device) : null;
  return mapLatents(S, seedLatents(o.seeds, S.cfg.latentSize, device), { labels, truncation: truncationOf(S, o) });
}

/**
 * One w under `samples` noise samples: the first five images, and the per-pixel standard deviation of the
 * channel-mean image over all samples, normalised so that the largest is white (all black when noise has no effect).
 * Call inside a scope: the running sums are left to it.
 */
function noiseStats(S: StyleGANGenerator, w: Tensor, o: { samples: number; noiseSeed: number; batch: number; precision: Precision; onBatch: (n: number) => void }): { first: ImageBatch; std: ImageBatch } {
  const { samples, noiseSeed } = o;
  let sum: Tensor | null = null;
  let sumSq: Tensor | null = null;
  const firsts: ImageBatch[] = [];
  for (const [start, end] of batches(samples, o.batch)) {
    const [s, q] = inference(() => {
      const n = end - start;
      const noise = seededNoise(S, Array.from({ length: n }, (_, k) => noiseSeed + start + k));
      const images = S.synthesis.forward(w.expand(n, -1, -1), { noise, precision: o.precision });
      if (start < 5) firsts.push(toUint8(images.narrow(0, 0, Math.min(n, 5 - start))));
      const gray = images.mean(1).to('float64');
      return [gray.sum(0), gray.square().sum(0)];
    });
    sum = sum ? sum.add(s) : s;
    sumSq = sumSq ? sumSq.add(q) : q;
    o.onBatch(end - start);
  }
  const mean = sum!.div(samples);
  // E[x²] − E[x]² of identical samples is float64 rounding, not spread: below 1e-12 of E[x]² it counts as 0.
  const variance = sumSq!.div(samples).sub(mean.square());
  const sd = E.where(variance.gt(mean.square().mul(1e-12)), variance, 0).sqrt();
  const max = sd.amax().item();
  const std = toUint8(sd.div(max > 0 ? max : 1).reshape(1, 1, ...sd.shape).to('float32'), [0, 1]);
  return { first: concatImages(firsts), std };
}

/** Figure (a): rows = seeds; cells = [first sample | 2×2 zoomed crops of samples 1–4 | normalised std]. */
export function noiseDetailFigure(G: AnyGenerator, o: NoiseFigureOptions): ImageBatch {
  const S = requireStyleGAN(G, 'the noise figure');
  const samples = o.samples ?? 100;
  if (!Number.isInteger(samples) || samples < 2) throw new Error(`noise figure: samples must be an integer ≥ 2, got ${samples}`);
  const res = S.cfg.resolution;
  const side = Math.max(1, res >> 2);
  const crop = o.crop ?? { x: (res - side) >> 1, y: (res - side) >> 1, size: side };
  const half = res >> 1;
  let done = 0;
  const onBatch = (n: number) => o.onProgress?.((done += n), samples * o.seeds.length);
  const cells = inference(() => {
    const ws = latentsOf(S, o);
    return o.seeds.flatMap((_, r) => {
      const { first, std } = noiseStats(S, ws.narrow(0, r, 1), { samples, noiseSeed: o.noiseSeed ?? 0, batch: batchOf(o), precision: precisionOf(S, o), onBatch });
      const zoomed = [1, 2, 3, 4].map((k) => resizeNearest(cropImage(pick(first, k % first.count), { x: crop.x, y: crop.y, w: crop.size, h: crop.size }), half, half));
      return [pick(first, 0), makeGrid(concatImages(zoomed), 2), grayTo(std, S.cfg.numChannels)];
    });
  });
  return assembleGrid(cells, 3);
}

/** The layer sets of figure (b). */
export function noiseComponentColumns(numLayers: number, split?: number): { title: string; layers: number[] }[] {
  const k = split ?? Math.min(8, Math.floor(numLayers / 2));
  if (!Number.isInteger(k) || k < 1 || k >= numLayers) throw new Error(`noise figure: split must be an integer in 1…${numLayers - 1}, got ${k}`);
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
  return [
    { title: 'noise in all layers', layers: range(0, numLayers) },
    { title: 'no noise', layers: [] },
    { title: `noise in fine layers only (${k}–${numLayers - 1})`, layers: range(k, numLayers) },
    { title: `noise in coarse layers only (0–${k - 1})`, layers: range(0, k) },
  ];
}

/** Figure (b): rows = seeds; columns = noise in all / no / fine / coarse layers, with one noise sample per seed. */
export function noiseComponentsFigure(G: AnyGenerator, o: NoiseFigureOptions): NoiseComponents {
  const S = requireStyleGAN(G, 'the noise figure');
  const columns = noiseComponentColumns(S.numLayers, o.split);
  const P = columns.length;
  const images = inference(() => {
    const w = latentsOf(S, o);
    const all = w.unsqueeze(1).expand(-1, P, -1, -1).reshape(o.seeds.length * P, S.numLayers, -1);
    // Image (r, c) gets seed r's noise maps in the layers of column c and zero maps elsewhere (adding 0 = no noise).
    const noise = (start: number, end: number): NoiseInput[] => {
      const idx = Array.from({ length: end - start }, (_, i) => start + i);
      const maps = seededNoise(S, idx.map((i) => (o.noiseSeed ?? 0) + o.seeds[Math.floor(i / P)]!));
      return maps.map((m, layer) => {
        const keep = idx.map((i) => (columns[i % P]!.layers.includes(layer) ? 1 : 0));
        return m.mul(E.fromTypedArray(Float32Array.from(keep), [keep.length, 1, 1, 1]).to(m.device));
      });
    };
    return synthesizeImages(S, all, { noise, batch: batchOf(o), precision: precisionOf(S, o) });
  });
  return { grid: makeGrid(images, P), columns };
}

/** Both noise figures. */
export function noiseFigure(G: AnyGenerator, o: NoiseFigureOptions): { detail: ImageBatch; components: NoiseComponents } {
  return { detail: noiseDetailFigure(G, o), components: noiseComponentsFigure(G, o) };
}
