/**
 * The truncation-trick figure (StyleGAN Figure 8): one row per seed, one column per ψ; each cell is
 * w' = avg + ψ·(w − avg). ψ = 1 is the untruncated image, ψ = 0 the average image (the same in every row), and
 * negative ψ the "opposite" of the seed.
 */
import * as E from '../engine/index.js';
import { truncate } from '../nets/stylegan.js';
import { classCenters } from './w-average.js';
import { makeGrid, type ImageBatch } from '../io/images.js';
import { seedLatents } from './seeds.js';
import {
  type AnyGenerator, type RenderOptions, requireStyleGAN, truncationOf, noiseModeOf, batchOf, classIndices, oneHotLabels,
  mapLatents, synthesizeImages, noiseBySeed, inference, deviceOf, precisionOf, truncateTowards,
} from './render.js';

/** The ψ values of the paper's figure. */
export const DEFAULT_PSIS: readonly number[] = [1, 0.7, 0.5, 0, -0.5, -1];

/** `classes` (conditional networks): one for all, or one per seed. */
export interface TruncationFigureOptions extends Omit<RenderOptions, 'truncationPsi'> {
  seeds: readonly number[];
  /** Columns (default 1, 0.7, 0.5, 0, −0.5, −1). */
  psis?: readonly number[];
  /** Layers ψ applies to; default null = every layer, as in the official figure. */
  truncationCutoff?: number | null;
}

/** rows = seeds, columns = ψ values; cell (r, c) is seed r truncated with ψ_c. */
export function truncationFigure(G: AnyGenerator, o: TruncationFigureOptions): ImageBatch {
  const S = requireStyleGAN(G, 'the truncation figure');
  const psis = o.psis ?? DEFAULT_PSIS;
  const R = o.seeds.length;
  if (R === 0 || psis.length === 0) throw new Error('the truncation figure needs at least one seed and one ψ');
  const { cutoff } = truncationOf(S, { truncationCutoff: o.truncationCutoff ?? null });
  for (const psi of psis) truncationOf(S, { truncationPsi: psi });
  const mode = noiseModeOf(S, o);
  const classes = classIndices(S, o.classes, R);
  const device = deviceOf(S);
  const images = inference(() => {
    const labels = classes ? oneHotLabels(classes, S.cfg.labelSize, device) : null;
    const w = mapLatents(S, seedLatents(o.seeds, S.cfg.latentSize, device), { labels, truncation: { psi: 1, cutoff: null } });
    // [R, P, L, D] row-major: every ψ of seed 0, then of seed 1, …
    // Conditional networks: towards each seed's class average w unless the official global centre is asked for.
    const centers = classes && (o.truncationCenter ?? 'class') === 'class' ? classCenters(S, classes) : null;
    const towards = (psi: number) => (centers ? truncateTowards(w, centers, { psi, cutoff }) : truncate(w, S.dlatentAvg, { psi, cutoff }));
    const all = E.stack(psis.map(towards), 1).reshape(R * psis.length, S.numLayers, -1);
    const noiseSeeds = o.seeds.flatMap((s) => new Array<number>(psis.length).fill(s));
    return synthesizeImages(S, all, { noise: noiseBySeed(S, mode, noiseSeeds), batch: batchOf(o), precision: precisionOf(S, o) });
  });
  return makeGrid(images, psis.length);
}
