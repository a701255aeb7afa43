/**
 * Progressive growing (ProGAN §3): the level of detail `lod` selects the working resolution 2^(R − floor(lod)) and,
 * when fractional, fades the new highest-resolution layers in. The official networks always produce and consume
 * full-size images (the "linear" structure: lower resolutions are nearest-upscaled); computing at the working
 * resolution and resampling at the boundary gives the same values without evaluating unused layers.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { upscale2d, downscale2d, lerpClip } from '../nn/ops.js';

/** Validates lod against R = log2(resolution) and returns it with the working resolution's log2. */
export function resolveLod(lod: number, R: number): { lod: number; workRes: number } {
  if (!Number.isFinite(lod) || lod < 0 || lod > R - 2) throw new Error(`lod must be in [0, ${R - 2}], got ${lod}`);
  return { lod, workRes: R - Math.floor(lod) };
}

/** Where a generator's output stands in progressive growing: the level of detail and resolutions (log2). */
export interface GrowthLevel {
  lod: number;
  /** log2 of the full resolution. */
  R: number;
  /** log2 of the working resolution (see `resolveLod`). */
  workRes: number;
  /** Return the working-resolution image instead of upscaling it to full size. */
  native: boolean;
}

/**
 * The generator's output at `lod`: the working-resolution image faded with the upscaled previous-resolution image by
 * frac(lod), then nearest-upscaled to full size unless `native`.
 */
export function fadeOutput(img: Tensor, prev: Tensor | null, at: GrowthLevel): Tensor {
  const { lod, R, workRes, native } = at;
  return E.tidy(() => {
    const frac = lod - Math.floor(lod);
    const out = prev && frac > 0 ? lerpClip(img, upscale2d(prev), frac) : img;
    return native || workRes === R ? out : upscale2d(out, 2 ** (R - workRes));
  });
}

/** Features and image of the generator at one resolution. */
export interface GrowthState {
  x: Tensor;
  img: Tensor;
}

/**
 * Runs a generator's blocks from 8² up to the working resolution, each in its own scope (only its features and image
 * outlive it, so memory holds one block's activations at a time plus what autograd keeps), then fades and upscales the
 * output as `fadeOutput`. `first` is the 4² state; `block(res, x)` computes resolution 2^res from the features below.
 */
export function growOutput(first: GrowthState, block: (res: number, x: Tensor) => GrowthState, at: GrowthLevel): Tensor {
  let { x, img } = first;
  let prev: Tensor | null = null;
  for (let res = 3; res <= at.workRes; res++) {
    const input = x;
    const next = E.tidy(() => block(res, input));
    input.dispose();
    prev?.dispose();
    prev = img;
    ({ x, img } = next);
  }
  return fadeOutput(img, prev, at);
}

export interface DiscriminatorInputOptions {
  /** Explicit level of detail (else decided by the input's resolution). */
  lod?: number;
  /** log2 of the network's resolution, its image channels and its stored lod variable. */
  R: number;
  channels: number;
  storedLod: () => number;
}

/**
 * The discriminator's input at `lod`: images at the working resolution (box-downscaled from full size if needed).
 * Without an explicit lod, the input's own resolution decides (full size → the network's lod variable).
 */
export function discriminatorInput(images: Tensor, o: DiscriminatorInputOptions): { lod: number; workRes: number; img: Tensor } {
  const { R, channels } = o;
  const [, c, h, w] = images.shape as [number, number, number, number];
  if (images.ndim !== 4 || c !== channels || h !== w || !Number.isInteger(Math.log2(h))) {
    throw new Error(`D: images must be [N, ${channels}, r, r] with r a power of two, got [${images.shape.join(', ')}]`);
  }
  const inRes = Math.log2(h);
  if (inRes > R) throw new Error(`D: input resolution ${h} exceeds the network's ${2 ** R}`);
  const lod = o.lod ?? (inRes === R ? o.storedLod() : R - inRes);
  const r = resolveLod(lod, R);
  if (inRes < r.workRes) throw new Error(`D: input resolution ${h} is below the working resolution ${2 ** r.workRes} of lod ${lod}`);
  const img = inRes === r.workRes ? images : downscale2d(images, 2 ** (inRes - r.workRes));
  return { ...r, img };
}
