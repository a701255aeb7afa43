/**
 * Every figure of a network, rendered into small files for the documentation: an uncurated grid (per class for
 * conditional networks), style mixing, the two noise figures, truncation, interpolation videos in Z and W, and a
 * training timelapse when a run directory is given. Seeds are the official figure script's where it has them.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { makeDirectory } from '../io/atomic.js';
import { makeGrid, writePng, type ImageBatch } from '../io/images.js';
import { styleLayerRange } from '../nets/stylegan.js';
import { type AnyGenerator, isStyleGAN } from './render.js';
import { generateImages } from './generate.js';
import { styleMixingFigure } from './style-mixing.js';
import { noiseDetailFigure, noiseComponentsFigure } from './noise-figure.js';
import { truncationFigure, DEFAULT_PSIS } from './truncation-figure.js';
import { withTitles, type Titles } from './caption.js';
import { interpolationFrames, type InterpolationSpace } from './interpolation.js';
import { writeVideo } from './video.js';
import { resizeNearest } from './grid.js';
import { timelapseFrames } from './timelapse.js';

export interface FiguresOptions {
  outdir: string;
  /** Cells larger than this are downscaled (Lanczos) by a power of two (default 128 px). */
  maxCell?: number;
  /** Then every figure is enlarged this many times, nearest neighbour (default 1; 2 suits 32² networks). */
  zoom?: number;
  /** Noise samples of the noise-detail figure (default 100). */
  samples?: number;
  /** Interpolation video length and speed (default 60 frames at 15 fps). */
  frames?: number;
  fps?: number;
  /** A training run directory: adds timelapse.webp. */
  runDir?: string;
  batch?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Class names of a conditional network (column titles of the uncurated figure); default 'class i'. */
  classNames?: readonly string[] | null;
  /** Column and row titles on the figures (default true). */
  titles?: boolean;
  /** Called after each file with the files written and the total to write. */
  onProgress?: (done: number, total: number) => void;
}

export interface FigureFile {
  file: string;
  bytes: number;
  what: string;
}

/** Seeds of the official generate_figures.py. */
const MIX_ROWS = [888, 829, 1898, 1733, 1614, 845];
const MIX_COLS = [639, 701, 687, 615, 2268];
const MIX_STYLES = ['coarse', 'coarse', 'coarse', 'middle', 'middle', 'fine'] as const;
const NOISE_DETAIL_SEEDS = [1157, 1012];
const NOISE_COMPONENT_SEEDS = [1967, 1555];
const TRUNCATION_SEEDS = [91, 388];

/** Downscales an image whose cells are `cell` px to cells of at most `maxCell` px (by a power of two). */
export async function fitCells(b: ImageBatch, cell: number, maxCell: number): Promise<ImageBatch> {
  let f = 1;
  while (cell / f > maxCell) f *= 2;
  if (f === 1) return b;
  let img = sharp(b.data.subarray(0, b.width * b.height * b.channels), { raw: { width: b.width, height: b.height, channels: b.channels as 1 | 3 | 4 } })
    .resize(Math.round(b.width / f), Math.round(b.height / f), { kernel: 'lanczos3' });
  if (b.channels === 1) img = img.toColourspace('b-w');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), count: 1, width: info.width, height: info.height, channels: info.channels };
}

/** Class per seed for conditional networks (seed mod classes), so that the figures show several classes. */
const classesFor = (G: AnyGenerator, seeds: readonly number[]) => (G.cfg.labelSize ? seeds.map((s) => s % G.cfg.labelSize) : undefined);

/** Renders every figure of `G` into `o.outdir`; returns the files written. */
export async function renderFigures(G: AnyGenerator, o: FiguresOptions): Promise<FigureFile[]> {
  makeDirectory(o.outdir);
  const res = G.cfg.resolution;
  const maxCell = o.maxCell ?? 128;
  const batch = o.batch ?? 8;
  const zoom = o.zoom ?? 1;
  if (!Number.isInteger(zoom) || zoom < 1) throw new Error(`figures: zoom must be an integer ≥ 1, got ${zoom}`);
  const fit = async (img: ImageBatch, cell: number, max: number) => {
    const f = await fitCells(img, cell, max);
    return zoom === 1 ? f : resizeNearest(f, f.width * zoom, f.height * zoom);
  };
  const out: FigureFile[] = [];
  const done = (file: string, what: string) => {
    out.push({ file, bytes: statSync(file).size, what });
    o.log?.(`${file}: ${what}`);
    o.onProgress?.(out.length, (isStyleGAN(G) ? 7 : 2) + (o.runDir ? 1 : 0));
  };
  const png = async (name: string, img: ImageBatch, { what, titles }: { what: string; titles?: Titles }) => {
    const file = join(o.outdir, name);
    const fitted = await fit(img, res, maxCell);
    await writePng(file, titles && (o.titles ?? true) ? await withTitles(fitted, titles) : fitted);
    done(file, what);
  };

  // Uncurated: one column per class for conditional networks (up to 10), else 8 × 4; ψ = 0.7 as the paper's Figure 2.
  const L = G.cfg.labelSize;
  const cols = L ? Math.min(L, 10) : 8;
  const seeds = Array.from({ length: cols * 4 }, (_, i) => i);
  const psi = isStyleGAN(G) ? 0.7 : undefined;
  const uncurated = generateImages(G, { seeds }, { truncationPsi: psi, batch, classes: L ? seeds.map((i) => i % cols) : undefined });
  const classTitles = L ? Array.from({ length: cols }, (_, i) => o.classNames?.[i] ?? `class ${i}`) : undefined;
  await png('uncurated.png', makeGrid(uncurated.images, cols), {
    what: `uncurated seeds 0–${seeds.length - 1}${psi ? ', ψ = 0.7' : ''}${L ? ', one class per column' : ''}`,
    titles: classTitles && { columns: classTitles },
  });
  if (!isStyleGAN(G)) {
    o.log?.('the other figures need a StyleGAN generator: skipped');
  } else {
    // Style mixing, Figure 3: rows copy coarse, middle or fine styles from the column sources (groups this network lacks are left out).
    const rows = MIX_ROWS.filter((_, i) => styleLayerRange(MIX_STYLES[i]!, G.numLayers).length > 0);
    const styles = MIX_STYLES.filter((s) => styleLayerRange(s, G.numLayers).length > 0);
    const mix = styleMixingFigure(G, { rowSeeds: rows, colSeeds: MIX_COLS, styles, batch, classes: classesFor(G, [...rows, ...MIX_COLS]) });
    await png('style-mixing.png', mix.grid, {
      what: `style mixing: rows ${rows.join(',')} take ${styles.join('/')} styles from columns ${MIX_COLS.join(',')}`,
      titles: { columns: ['', ...MIX_COLS.map(String)], rows: ['', ...styles] },
    });
    const samples = o.samples ?? 100;
    const detail = noiseDetailFigure(G, { seeds: NOISE_DETAIL_SEEDS, samples, batch, classes: classesFor(G, NOISE_DETAIL_SEEDS) });
    await png('noise-detail.png', detail, { what: `noise detail: ${samples} noise samples, zoomed crops, per-pixel std` });
    const comp = noiseComponentsFigure(G, { seeds: NOISE_COMPONENT_SEEDS, batch, classes: classesFor(G, NOISE_COMPONENT_SEEDS) });
    await png('noise-components.png', comp.grid, {
      what: comp.columns.map((c) => c.title).join(' | '),
      titles: { columns: comp.columns.map((c) => c.title.replace(/^noise in /, '').replace(/ layers only.*$/, '').replace(/ layers$/, '')) },
    });
    const trunc = truncationFigure(G, { seeds: TRUNCATION_SEEDS, batch, classes: classesFor(G, TRUNCATION_SEEDS) });
    await png('truncation.png', trunc, { what: 'truncation ψ = 1, 0.7, 0.5, 0, −0.5, −1', titles: { columns: DEFAULT_PSIS.map((p) => `ψ ${p}`) } });
  }
  const keys = [0, 1, 2, 3];
  const spaces: InterpolationSpace[] = isStyleGAN(G) ? ['z', 'w'] : ['z'];
  for (const space of spaces) {
    const file = join(o.outdir, `interpolation-${space}.webp`);
    const frames = interpolationFrames(G, { seeds: keys, space, frames: o.frames ?? 60, batch, classes: classesFor(G, keys) });
    await writeVideo(file, mapFrames(frames, (f) => fit(f, res, maxCell)), { fps: o.fps ?? 15 });
    done(file, `interpolation in ${space.toUpperCase()} through seeds ${keys.join(', ')} and back`);
  }
  if (o.runDir) {
    const file = join(o.outdir, 'timelapse.webp');
    // Whole snapshot grids, downscaled to at most 1024 px wide (not zoomed).
    await writeVideo(file, mapFrames(timelapseFrames(o.runDir, { captions: o.titles ?? true }), (f) => fitCells(f, f.width, 1024)), { fps: o.fps ?? 10 });
    done(file, `training timelapse of ${o.runDir}`);
  }
  return out;
}

async function* mapFrames(frames: Iterable<ImageBatch> | AsyncIterable<ImageBatch>, f: (b: ImageBatch) => Promise<ImageBatch>): AsyncGenerator<ImageBatch> {
  for await (const b of frames) yield await f(b);
}
