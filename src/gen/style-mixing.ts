/**
 * The style-mixing figure (StyleGAN Figure 3; stylegan2-ada `style_mixing.py`): each row is a destination seed, each
 * column a source seed; a cell is the destination's dlatents with the chosen layers copied from the source. The top
 * row shows the sources, the left column the destinations, and the top-left corner is blank.
 */
import * as E from '../engine/index.js';
import { styleLayerRange } from '../nets/stylegan.js';
import { pick, type ImageBatch } from '../io/images.js';
import { parseIntRanges, seedLatents } from './seeds.js';
import { assembleGrid } from './grid.js';
import {
  type AnyGenerator, type RenderOptions, requireStyleGAN, truncationOf, noiseModeOf, batchOf, classIndices, oneHotLabels,
  mapLatents, synthesizeImages, noiseBySeed, inference, deviceOf, precisionOf, latentRows, type LatentArray,
} from './render.js';

/** The named layer groups of the paper (coarse 4²–8², middle 16²–32², fine 64² and up) or explicit ranges like '0-3,8'. */
export type StyleLayers = 'coarse' | 'middle' | 'fine' | string | readonly number[];

/** The synthesis layers a style spec selects, checked against a network with `numLayers` layers. */
export function resolveStyleLayers(spec: StyleLayers, numLayers: number): number[] {
  let layers: number[];
  if (spec === 'coarse' || spec === 'middle' || spec === 'fine') layers = styleLayerRange(spec, numLayers);
  else if (typeof spec === 'string') layers = parseIntRanges(spec, 'styles', { min: 0, max: numLayers - 1 });
  else {
    layers = [...spec];
    const bad = layers.find((l) => !Number.isInteger(l) || l < 0 || l >= numLayers);
    if (bad !== undefined) throw new Error(`styles: layer ${bad} is outside 0…${numLayers - 1}`);
  }
  if (layers.length === 0) throw new Error(`styles: '${String(spec)}' selects no layer of this ${numLayers}-layer network`);
  return [...new Set(layers)].sort((a, b) => a - b);
}

/**
 * `classes` (conditional networks): one class for all, or one per row seed followed by one per column seed. Rows and
 * columns can also be saved dlatents (e.g. projected real photos): they are used as they are (no class, no
 * truncation) and take the place of the seeds of their side.
 */
export interface StyleMixingOptions extends RenderOptions {
  /** Destination seeds (one row each). */
  rowSeeds: readonly number[];
  /** Source seeds (one column each). */
  colSeeds: readonly number[];
  /** Destination dlatents [R, layers, dlatent] in place of rowSeeds. */
  rowDlatents?: LatentArray;
  /** Source dlatents [C, layers, dlatent] in place of colSeeds. */
  colDlatents?: LatentArray;
  /** Layers copied from the source: one spec for every row, or one per row (the paper: coarse, middle, fine rows). */
  styles: StyleLayers | readonly StyleLayers[];
}

export interface StyleMixingFigure {
  /** (cols + 1) × (rows + 1) cells of the network's resolution. */
  grid: ImageBatch;
  /** The layers taken from the source, per row. */
  layers: number[][];
}

export function styleMixingFigure(G: AnyGenerator, o: StyleMixingOptions): StyleMixingFigure {
  const S = requireStyleGAN(G, 'style mixing');
  const L = S.numLayers;
  for (const d of [o.rowDlatents, o.colDlatents]) {
    if (d && (d.shape.length !== 3 || d.shape[1] !== L || d.shape[2] !== S.cfg.dlatentSize)) {
      throw new Error(`style mixing: dlatents must be [N, ${L}, ${S.cfg.dlatentSize}], got [${d.shape.join(', ')}]`);
    }
  }
  const rowSeeds = o.rowDlatents ? [] : o.rowSeeds;
  const colSeeds = o.colDlatents ? [] : o.colSeeds;
  const R = o.rowDlatents?.shape[0] ?? rowSeeds.length;
  const C = o.colDlatents?.shape[0] ?? colSeeds.length;
  if (R === 0 || C === 0) throw new Error('style mixing needs at least one row seed and one column seed');
  const specs = Array.isArray(o.styles) ? (o.styles as readonly StyleLayers[]) : new Array<StyleLayers>(R).fill(o.styles as StyleLayers);
  if (specs.length !== R) throw new Error(`styles: ${specs.length} specs given for ${R} rows`);
  const layers = specs.map((s) => resolveStyleLayers(s, L));
  const trunc = truncationOf(S, o);
  const mode = noiseModeOf(S, o);
  const batch = batchOf(o);
  const seeds = [...rowSeeds, ...colSeeds];
  const classes = seeds.length ? classIndices(S, o.classes, seeds.length) : null;
  if (!seeds.length && o.classes !== undefined) throw new Error('a class cannot be applied to saved dlatents (it enters through the mapping network)');
  const device = deviceOf(S);
  const images = inference(() => {
    const labels = classes ? oneHotLabels(classes, S.cfg.labelSize, device) : null;
    const w = seeds.length ? mapLatents(S, seedLatents(seeds, S.cfg.latentSize, device), { labels, truncation: trunc }) : null;
    const dst = o.rowDlatents ? latentRows(o.rowDlatents, { start: 0, end: R, device }) : w!.narrow(0, 0, R);
    const src = o.colDlatents ? latentRows(o.colDlatents, { start: 0, end: C, device }) : w!.narrow(0, rowSeeds.length, C);
    const mask = new Uint8Array(R * L);
    layers.forEach((ls, r) => ls.forEach((l) => (mask[r * L + l] = 1)));
    const fromSource = E.fromTypedArray(mask, [R, 1, L, 1], 'bool').to(device);
    const shape = [R, C, L, S.cfg.dlatentSize];
    const mixed = E.where(fromSource, src.unsqueeze(0).expand(...shape), dst.unsqueeze(1).expand(...shape)).reshape(R * C, L, -1);
    // Render order: sources (top row), destinations (left column), then the mixes row by row.
    const all = E.cat([src, dst, mixed], 0);
    // Noise of saved dlatents: seeded by their index, as `generate --dlatents` does.
    const [rowNoise, colNoise] = [o.rowDlatents ? [...Array(R).keys()] : rowSeeds, o.colDlatents ? [...Array(C).keys()] : colSeeds];
    const noiseSeeds = [...colNoise, ...rowNoise, ...rowNoise.flatMap((s) => new Array<number>(C).fill(s))];
    return synthesizeImages(S, all, { noise: noiseBySeed(S, mode, noiseSeeds), batch, precision: precisionOf(S, o) });
  });
  const cells: (ImageBatch | null)[] = [null];
  for (let c = 0; c < C; c++) cells.push(pick(images, c));
  for (let r = 0; r < R; r++) {
    cells.push(pick(images, C + r));
    for (let c = 0; c < C; c++) cells.push(pick(images, C + R + r * C + c));
  }
  return { grid: assembleGrid(cells, C + 1), layers };
}
