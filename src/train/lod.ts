/**
 * The level of detail of progressive growing as the training loop applies it: reals faded between resolutions as
 * the official process_reals does, and the `lod` variables of G, Gs and D set for the current phase.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { StyleGANGenerator, type Networks } from '../nets/index.js';
import { upscale2d, downscale2d } from '../nn/ops.js';
import type { Batch } from '../data/batches.js';

/** uint8 batch → [−1, 1] on `device` at the working resolution, with the fade of the official process_reals. */
export function processReals(batch: Batch, lod: number, device: string): Tensor {
  return E.tidy(() => {
    const x = E.fromTypedArray(batch.images, [batch.batchSize, batch.channels, batch.resolution, batch.resolution], 'uint8')
      .to(device).to('float32').div(127.5).sub(1);
    const frac = lod - Math.floor(lod);
    return frac > 0 && batch.resolution > 4 ? x.lerp(upscale2d(downscale2d(x)), frac) : x;
  });
}

/** Sets the `lod` variables of G, Gs and D. */
export function setLod(nets: Required<Networks>, lod: number): void {
  E.noGrad(() => {
    for (const g of [nets.G, nets.Gs]) (g instanceof StyleGANGenerator ? [g.own.vars.get('lod'), g.synthesis.vars.get('lod')] : [g.vars.get('lod')]).forEach((t) => t.fill_(lod));
    nets.D.vars.get('lod').fill_(lod);
  });
}
