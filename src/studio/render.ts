/**
 * The studio's pictures, through the same library code as the CLI: one image (`stylegan generate`, with styles copied
 * from a source as a cell of `stylegan mix`, and per-layer noise strengths), the gallery (`generate` of several
 * seeds), the paper's style-mixing grid (`mix`), the noise-detail view (`noise`) and interpolation frames (`video`).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { StyleGANGenerator } from '../nets/stylegan.js';
import type { NoiseInput } from '../nets/synthesis.js';
import { makeGrid, toUint8, type ImageBatch } from '../io/images.js';
import {
  generateImages, styleMixingFigure, noiseDetailFigure, interpolationFrames, seededNoise, concatImages,
  isStyleGAN, type AnyGenerator, type LatentArray, type RenderOptions,
} from '../gen/index.js';
import { seedLatents } from '../gen/seeds.js';
import { truncationOf, classIndices, oneHotLabels, mapLatents, toLatentArray, latentRows, inference, deviceOf } from '../gen/render.js';
import { RequestError, type RenderRequest, type GridRequest, type InterpolationRequest, type SeedsRequest } from './requests.js';

/** One rendered image and the dlatents [1, layers, dlatent] it was synthesized from (null for ProGAN). */
export interface Rendered {
  image: ImageBatch;
  dlatents: LatentArray | null;
}

/** The library's render options of a request (one class for every image). */
export const renderOptionsOf = (r: RenderRequest, G: AnyGenerator): RenderOptions => ({
  truncationPsi: r.psi,
  truncationCutoff: r.cutoff,
  noiseMode: isStyleGAN(G) ? r.noise.mode : undefined,
  classes: r.class ?? undefined,
});

/**
 * The noise of every synthesis layer: the stored map ('const'), the map drawn from the noise seed as
 * `seededNoise` draws it ('random'), or none; scaled by the layer's strength (0 = no noise).
 */
function noiseInputs(S: StyleGANGenerator, r: RenderRequest): NoiseInput[] {
  const { mode, seed, strength } = r.noise;
  const maps: (Tensor | null)[] = mode === 'none' ? new Array<null>(S.numLayers).fill(null)
    : mode === 'random' ? seededNoise(S, [seed]) : Array.from({ length: S.numLayers }, (_, i) => S.synthesis.vars.get(`noise${i}`));
  return maps.map((m, i) => {
    const s = strength ? strength[i]! : 1;
    return m === null || s === 0 ? null : s === 1 ? m : m.mul(s);
  });
}

/**
 * One image. Without a mix it is what `stylegan generate --seeds <seed>` writes for the same settings; with a seed
 * source it is the destination's dlatents with the chosen layers taken from the source (both mapped together, as
 * `stylegan mix` maps its row and column seeds); a photo source or destination gives its projected dlatents as they
 * are (as `stylegan mix` takes a .npy row or column).
 */
export function renderImage(
  G: AnyGenerator, r: RenderRequest, { photo, destination = null }: { photo: LatentArray | null; destination?: LatentArray | null },
): Rendered {
  if (!isStyleGAN(G)) {
    if (r.mix || r.noise.strength || r.destination) throw new RequestError('style mixing, photos and per-layer noise need a StyleGAN network; this one is a Progressive GAN');
    const out = generateImages(G, { seeds: [r.seed] }, renderOptionsOf(r, G));
    return { image: out.images, dlatents: null };
  }
  const S = G;
  const trunc = truncationOf(S, renderOptionsOf(r, S));
  return inference(() => {
    const device = deviceOf(S);
    const fromSeed = r.mix && 'seed' in r.mix.source ? [r.mix.source.seed] : [];
    const seeds = [r.seed, ...fromSeed];
    const classes = classIndices(S, r.class ?? undefined, seeds.length);
    const w = mapLatents(S, seedLatents(seeds, S.cfg.latentSize, device), { labels: classes && oneHotLabels(classes, S.cfg.labelSize, device), truncation: trunc });
    let d = destination ? latentRows(destination, { start: 0, end: 1, device }) : w.narrow(0, 0, 1);
    if (r.mix) {
      const src = photo ? latentRows(photo, { start: 0, end: 1, device }) : w.narrow(0, 1, 1);
      const mask = new Uint8Array(S.numLayers);
      for (const l of r.mix.layers) mask[l] = 1;
      d = E.where(E.fromTypedArray(mask, [1, S.numLayers, 1], 'bool').to(device), src, d);
    }
    const image = toUint8(S.synthesis.forward(d, { noise: noiseInputs(S, r) }));
    return { image, dlatents: toLatentArray(d) };
  });
}

/** The gallery: the images of `seeds` side by side in one row (what `stylegan generate --grid` writes with --cols N). */
export function renderGallery(G: AnyGenerator, r: SeedsRequest): ImageBatch {
  const out = generateImages(G, { seeds: r.seeds }, renderOptionsOf(r, G));
  return makeGrid(out.images, r.seeds.length);
}

/** The paper's style-mixing grid, exactly `stylegan mix --rows … --cols … --styles <layers>`. */
export function renderGrid(G: AnyGenerator, r: GridRequest): ImageBatch {
  return styleMixingFigure(G, { ...renderOptionsOf({ ...r, noise: { mode: r.noiseMode, seed: r.seed, strength: null }, mix: null }, G), rowSeeds: r.rows, colSeeds: r.cols, styles: r.rows.map(() => r.layers) }).grid;
}

/** The noise-detail view of one seed (`stylegan noise`'s detail figure: image, zoomed crops, per-pixel std). */
export function renderNoiseDetail(G: AnyGenerator, r: RenderRequest & { samples: number }): ImageBatch {
  return noiseDetailFigure(G, { truncationPsi: r.psi, truncationCutoff: r.cutoff, classes: r.class ?? undefined, seeds: [r.seed], samples: r.samples, noiseSeed: r.noise.seed });
}

/** The frames of an interpolation between the seeds (as `stylegan video`), one class for all. */
export function interpolationOf(G: AnyGenerator, r: InterpolationRequest): Generator<ImageBatch> {
  return interpolationFrames(G, { ...renderOptionsOf(r, G), seeds: r.seeds, space: r.space, frames: r.frames, loop: true });
}

/** Frames stacked top to bottom in one image (the page cuts it into frames). */
export const frameStrip = (frames: readonly ImageBatch[]): ImageBatch => makeGrid(concatImages([...frames]), 1);
