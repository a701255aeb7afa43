/**
 * Image generation (the official `generate.py` / `pretrained_example.py`): latents from seeds, from saved z, or saved
 * dlatents straight into the synthesis network; truncation ψ with its cutoff, the noise mode, the class of a
 * conditional network; batched, returning the images with the z and dlatents that produced them.
 */
import type { Tensor } from '../engine/index.js';
import { toUint8, type ImageBatch } from '../io/images.js';
import { readNpyFile, writeNpyFile } from '../io/npy.js';
import { toFloat32Array } from '../io/array-data.js';
import { concatArrays } from '../io/concat.js';
import { firstNonFinite } from '../io/finite.js';
import { latentsFromSeeds } from './seeds.js';
import { concatImages } from './grid.js';
import {
  type AnyGenerator, type LatentArray, type RenderOptions, isStyleGAN, requireStyleGAN, truncationOf, noiseModeOf, batchOf,
  classIndices, oneHotLabels, noiseFor, mapLatents, truncateDlatents, batches, toLatentArray, latentRows, inference, deviceOf, precisionOf,
} from './render.js';

/** Where the latents come from: seeds (z = RandomState(seed).randn), saved z, or saved dlatents (StyleGAN only). */
export type LatentSource =
  | { seeds: readonly number[] }
  | { z: LatentArray }
  | { dlatents: LatentArray };

export interface GenerateOptions extends RenderOptions {
  /** Seeds of the 'random' noise maps, one per image (default: the image's seed, or its index for saved latents). */
  noiseSeeds?: readonly number[];
  /** Called after each batch with the number of images done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** A batch of generated images with the latents that produced them. */
export interface GeneratedImages {
  images: ImageBatch;
  /** Index of the first image in the whole request. */
  start: number;
  /** The seeds of these images (seed sources only). */
  seeds: number[] | null;
  /** z [n, latent] (null when rendering saved dlatents). */
  z: LatentArray | null;
  /** dlatents [n, layers, dlatent] passed to synthesis, after truncation (also applied to saved dlatents; StyleGAN only). */
  dlatents: LatentArray | null;
}

const countOf = (s: LatentSource): number => ('seeds' in s ? s.seeds.length : 'z' in s ? s.z.shape[0]! : s.dlatents.shape[0]!);

function checkSource(G: AnyGenerator, s: LatentSource): void {
  if ('z' in s) {
    const dim = G.cfg.latentSize;
    if (s.z.shape.length !== 2 || s.z.shape[1] !== dim) throw new Error(`z must be [N, ${dim}], got [${s.z.shape.join(', ')}]`);
  } else if ('dlatents' in s) {
    const S = requireStyleGAN(G, 'rendering dlatents');
    const want = [S.numLayers, S.cfg.dlatentSize];
    if (s.dlatents.shape.length !== 3 || s.dlatents.shape[1] !== want[0] || s.dlatents.shape[2] !== want[1]) {
      throw new Error(`dlatents must be [N, ${want.join(', ')}], got [${s.dlatents.shape.join(', ')}]`);
    }
  }
  if (countOf(s) === 0) throw new Error('nothing to generate: no seeds or latents');
}

/**
 * Generates the images of `source`, `batch` at a time, yielding each batch as soon as it is ready (nothing is kept
 * between batches). Checks every option before the first forward pass.
 */
export function* generateBatches(G: AnyGenerator, source: LatentSource, o: GenerateOptions = {}): Generator<GeneratedImages> {
  checkSource(G, source);
  const n = countOf(source);
  const trunc = truncationOf(G, o);
  const mode = noiseModeOf(G, o);
  const batch = batchOf(o);
  const precision = precisionOf(G, o);
  if ('dlatents' in source && o.classes !== undefined) throw new Error('a class cannot be applied to saved dlatents (it enters through the mapping network)');
  const classes = 'dlatents' in source ? null : classIndices(G, o.classes, n);
  const seeds = 'seeds' in source ? [...source.seeds] : null;
  const noiseSeeds = o.noiseSeeds ? [...o.noiseSeeds] : seeds ?? Array.from({ length: n }, (_, i) => i);
  if (noiseSeeds.length !== n) throw new Error(`${noiseSeeds.length} noise seeds given for ${n} images`);
  const dim = G.cfg.latentSize;
  const z: LatentArray | null = seeds ? { data: latentsFromSeeds(seeds, dim), shape: [n, dim] } : 'z' in source ? source.z : null;
  const device = deviceOf(G);
  for (const [start, end] of batches(n, batch)) {
    const out = inference(() => {
      const labels = classes ? oneHotLabels(classes.slice(start, end), G.cfg.labelSize, device) : null;
      let images: Tensor;
      let dlatents: Tensor | null = null;
      if (isStyleGAN(G)) {
        dlatents = z
          ? mapLatents(G, latentRows(z, { start, end, device }), { labels, truncation: trunc })
          : truncateDlatents(G, latentRows((source as { dlatents: LatentArray }).dlatents, { start, end, device }), trunc);
        images = G.synthesis.forward(dlatents, { noise: noiseFor(G, mode, noiseSeeds.slice(start, end)), precision });
      } else {
        images = G.forward(latentRows(z!, { start, end, device }), { labels, precision });
      }
      return { images: toUint8(images), dlatents: dlatents && toLatentArray(dlatents) };
    });
    const row = z ? z.shape[1]! : 0;
    yield {
      images: out.images,
      start,
      seeds: seeds ? seeds.slice(start, end) : null,
      z: z ? { data: z.data.slice(start * row, end * row), shape: [end - start, row] } : null,
      dlatents: out.dlatents,
    };
    o.onProgress?.(end, n);
  }
}

/** Concatenates latent arrays along the first axis. */
export function concatLatents(parts: readonly LatentArray[]): LatentArray {
  const data = concatArrays(parts.map((p) => p.data), (n) => new Float32Array(n));
  return { data, shape: [parts.reduce((a, p) => a + p.shape[0]!, 0), ...parts[0]!.shape.slice(1)] };
}

/** All images of `source` at once (see `generateBatches`). */
export function generateImages(G: AnyGenerator, source: LatentSource, o: GenerateOptions = {}): Omit<GeneratedImages, 'start'> {
  return joinBatches([...generateBatches(G, source, o)], source);
}

/**
 * `generateImages` that yields to the event loop after every batch (timers, I/O and other requests keep running while
 * a long request renders). The rendering itself is synchronous libtorch work on this thread.
 */
export async function generateImagesAsync(G: AnyGenerator, source: LatentSource, o: GenerateOptions = {}): Promise<Omit<GeneratedImages, 'start'>> {
  const parts: GeneratedImages[] = [];
  for (const b of generateBatches(G, source, o)) {
    parts.push(b);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return joinBatches(parts, source);
}

function joinBatches(parts: GeneratedImages[], source: LatentSource): Omit<GeneratedImages, 'start'> {
  const zs = parts.map((p) => p.z).filter((p): p is LatentArray => p !== null);
  const ds = parts.map((p) => p.dlatents).filter((p): p is LatentArray => p !== null);
  return {
    images: concatImages(parts.map((p) => p.images)),
    seeds: 'seeds' in source ? [...source.seeds] : null,
    z: zs.length ? concatLatents(zs) : null,
    dlatents: ds.length ? concatLatents(ds) : null,
  };
}

/**
 * Reads saved latents (.npy, float16/32/64): z as [N, latent] or [latent]; dlatents as [N, layers, dlatent] or one w
 * per image [N, dlatent] (broadcast to every layer). Errors name the file.
 */
export async function readLatents(path: string, kind: 'z' | 'dlatents', G: AnyGenerator): Promise<LatentArray> {
  const rec = await readNpyFile(path);
  if (!['float16', 'float32', 'float64'].includes(rec.dtype)) throw new Error(`${path}: ${kind} must be floating point, got ${rec.dtype}`);
  const data = Float32Array.from(toFloat32Array({ kind: 'ndarray', ...rec, fortranOrder: false, isScalar: false }));
  const s = rec.shape;
  const bad = firstNonFinite(data);
  if (bad >= 0) {
    const row = s.length > 1 ? ` (row ${Math.floor(bad / (data.length / s[0]!))})` : '';
    throw new Error(`${path}: ${kind} value ${bad}${row} is ${data[bad]}; NaN or infinite latents render black images`);
  }
  if (kind === 'z') {
    const dim = G.cfg.latentSize;
    if (s.length === 1 && s[0] === dim) return { data, shape: [1, dim] };
    if (s.length === 2 && s[1] === dim) return { data, shape: s };
    throw new Error(`${path}: z must have shape [N, ${dim}] (or [${dim}]), got [${s.join(', ')}]`);
  }
  const S = requireStyleGAN(G, `${path}: rendering dlatents`);
  const [L, D] = [S.numLayers, S.cfg.dlatentSize];
  if (s.length === 3 && s[1] === L && s[2] === D) return { data, shape: s };
  if (s.length === 2 && s[1] === D) {
    const out = new Float32Array(s[0]! * L * D);
    for (let i = 0; i < s[0]!; i++) for (let l = 0; l < L; l++) out.set(data.subarray(i * D, (i + 1) * D), (i * L + l) * D);
    return { data: out, shape: [s[0]!, L, D] };
  }
  throw new Error(`${path}: dlatents must have shape [N, ${L}, ${D}] (or one w per image, [N, ${D}]), got [${s.join(', ')}]`);
}

/** Writes latents as a float32 .npy file (atomically). */
export async function writeLatents(path: string, a: LatentArray): Promise<void> {
  await writeNpyFile(path, { dtype: 'float32', shape: a.shape, data: new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength) });
}
