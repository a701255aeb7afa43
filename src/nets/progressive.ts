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

/**
 * The generator's output at `lod`: the working-resolution image faded with the upscaled previous-resolution image by
 * frac(lod), then nearest-upscaled to full size unless `native`.
 */
export function fadeOutput(img: Tensor, prev: Tensor | null, lod: number, R: number, workRes: number, native: boolean): Tensor {
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
export function growOutput(first: GrowthState, block: (res: number, x: Tensor) => GrowthState, lod: number, R: number, workRes: number, native: boolean): Tensor {
  let { x, img } = first;
  let prev: Tensor | null = null;
  for (let res = 3; res <= workRes; res++) {
    const input = x;
    const next = E.tidy(() => block(res, input));
    input.dispose();
    prev?.dispose();
    prev = img;
    ({ x, img } = next);
  }
  return fadeOutput(img, prev, lod, R, workRes, native);
}

/**
 * The discriminator's input at `lod`: images at the working resolution (box-downscaled from full size if needed).
 * Without an explicit lod, the input's own resolution decides (full size → the network's lod variable).
 */
export function discriminatorInput(images: Tensor, lodOpt: number | undefined, R: number, storedLod: () => number, channels: number):
{ lod: number; workRes: number; img: Tensor } {
  const [, c, h, w] = images.shape as [number, number, number, number];
  if (images.ndim !== 4 || c !== channels || h !== w || !Number.isInteger(Math.log2(h))) {
    throw new Error(`D: images must be [N, ${channels}, r, r] with r a power of two, got [${images.shape.join(', ')}]`);
  }
  const inRes = Math.log2(h);
  if (inRes > R) throw new Error(`D: input resolution ${h} exceeds the network's ${2 ** R}`);
  const lod = lodOpt ?? (inRes === R ? storedLod() : R - inRes);
  const r = resolveLod(lod, R);
  if (inRes < r.workRes) throw new Error(`D: input resolution ${h} is below the working resolution ${2 ** r.workRes} of lod ${lod}`);
  const img = inRes === r.workRes ? images : downscale2d(images, 2 ** (inRes - r.workRes));
  return { ...r, img };
}
