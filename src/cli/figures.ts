/**
 * The paper's figures from a network: `stylegan mix` (style mixing, Figure 3), `stylegan noise` (noise detail and
 * noise components, Figures 4–5), `stylegan truncation` (Figure 8) and `stylegan figures` (all of them, small, for
 * the documentation).
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import {
  styleMixingFigure, noiseDetailFigure, noiseComponentsFigure, truncationFigure, renderFigures, DEFAULT_PSIS, DEFAULT_NETWORK, type StyleLayers,
  readLatents, concatLatents,
} from '../gen/index.js';
import { imageFormat } from '../io/images.js';
import type { AnyGenerator, LatentArray } from '../gen/render.js';
import { integerAtLeast } from './options.js';
import { withProgress } from './progress.js';
import { renderOptions, openFromFlags, renderFrom, seedList, numberList, saveImage, cutoffValue, cutoffOf, asArgument, type RenderFlags } from './gen-options.js';

interface Titled {
  /** Column and row titles on the figure (--no-titles: the bare grid). */
  titles: boolean;
}

interface MixFlags extends RenderFlags, Titled {
  rows: MixSide;
  cols: MixSide;
  styles: string;
  output: string;
}

interface NoiseFlags extends Omit<RenderFlags, 'noiseMode'>, Titled {
  seeds: number[];
  samples: number;
  noiseSeed: number;
  split?: number;
  detail?: string;
  components?: string;
}

interface TruncationFlags extends Omit<RenderFlags, 'trunc'>, Titled {
  seeds: number[];
  psi: number[];
  output: string;
}

interface FiguresFlags extends Titled {
  network?: string;
  outdir: string;
  maxCell: number;
  zoom: number;
  samples: number;
  frames: number;
  fps: number;
  run?: string;
  batch: number;
}

/** One side of the mixing figure: seeds, or .npy files of dlatents (e.g. projected photos). */
interface MixSide {
  seeds: number[] | null;
  files: string[] | null;
}
const mixSide = asArgument((v): MixSide => {
  const parts = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length > 0 && parts.every((p) => /\.npy$/i.test(p))) return { seeds: null, files: parts };
  return { seeds: seedList(v), files: null };
});

/** The dlatents of a side given as files (each [N, layers, dlatent] or [N, dlatent]), concatenated; undefined for seeds. */
async function mixDlatents(side: MixSide, G: AnyGenerator): Promise<LatentArray | undefined> {
  if (!side.files) return undefined;
  return concatLatents(await Promise.all(side.files.map((file) => readLatents(file, 'dlatents', G))));
}

export function register(program: Command): void {
  const mix = program
    .command('mix')
    .description('style-mixing figure: rows = destination seeds, columns = source seeds; cells copy the chosen styles from the source')
    .requiredOption('--rows <list>', "destination seeds, e.g. '85,100,75', or dlatents files (.npy, e.g. projected_w.npy; comma-separated)", mixSide)
    .requiredOption('--cols <list>', "source seeds, e.g. '55,821,1789', or dlatents files (.npy)", mixSide)
    .option('--styles <spec>', "layers taken from the source: coarse, middle, fine or ranges like '0-3,8'; one per row with '/' (coarse/middle/fine)", 'coarse')
    .requiredOption('-o, --output <file>', 'the image written (.png, .jpg or .jpeg)');
  renderOptions(mix).option('--no-titles', 'leave out the column and row titles').action(async (f: MixFlags, cmd: Command) => {
    imageFormat(f.output);
    const net = await openFromFlags(f, cmd);
    const specs = f.styles.split('/') as StyleLayers[];
    const [rowDlatents, colDlatents] = [await mixDlatents(f.rows, net.G), await mixDlatents(f.cols, net.G)];
    const render = renderFrom(net, f, { classes: f.rows.seeds !== null || f.cols.seeds !== null });
    const fig = styleMixingFigure(net.G, {
      ...render, rowSeeds: f.rows.seeds ?? [], colSeeds: f.cols.seeds ?? [], rowDlatents, colDlatents, styles: specs.length === 1 ? specs[0]! : specs,
    });
    const rowNames: (number | string)[] = f.rows.seeds ?? f.rows.files!.map((file) => basename(file));
    const colNames: (number | string)[] = f.cols.seeds ?? f.cols.files!.map((file) => basename(file));
    const rows = fig.layers.map((l, i) => `row ${rowNames[i] ?? i}: layers ${l.join(',')}`).join('; ');
    const titles = { columns: ['', ...colNames.map((s) => `source ${s}`)], rows: ['', ...rowNames.map((s, i) => `${s} ← ${specs[specs.length === 1 ? 0 : i]}`)] };
    process.stdout.write(`wrote ${await saveImage(f.output, fig.grid, { zoom: f.zoom, titles: f.titles ? titles : undefined })}; ${rows}\n`);
  });

  const noise = program
    .command('noise')
    .description('noise figures: detail (one latent under many noise samples, zoomed crops, per-pixel std) and components (all/none/fine/coarse)')
    .option('--seeds <list>', 'latent seeds, one row each', seedList, [1157, 1012])
    .option('--samples <n>', 'noise samples per seed in the detail figure', integerAtLeast(2), 100)
    .option('--noise-seed <n>', 'noise sample k is drawn from seed noise-seed + k', integerAtLeast(0), 0)
    .option('--split <n>', 'first "fine" layer in the components figure (default min(8, layers/2))', integerAtLeast(1))
    .option('--detail <file.png>', 'write the detail figure (one latent under many noise samples, zoomed crops, per-pixel std)')
    .option('--components <file.png>', 'write the components figure (noise on all / none / fine / coarse layers)');
  // The noise figures draw their own noise: no --noise-mode.
  renderOptions(noise, { noise: false }).option('--no-titles', 'leave out the column and row titles').action(async (f: NoiseFlags, cmd: Command) => {
    if (!f.detail && !f.components) throw new Error('noise: give --detail FILE.png and/or --components FILE.png');
    for (const file of [f.detail, f.components]) if (file) imageFormat(file);
    const net = await openFromFlags(f, cmd);
    const o = { ...renderFrom(net, f), seeds: f.seeds, samples: f.samples, noiseSeed: f.noiseSeed, split: f.split };
    const lines: string[] = [];
    if (f.detail) {
      const detail = await withProgress({ label: 'noise', unit: 'images', total: f.samples * f.seeds.length }, (p) => noiseDetailFigure(net.G, { ...o, onProgress: (d) => p.update(d) }));
      lines.push(await saveImage(f.detail, detail, { zoom: f.zoom }));
    }
    if (f.components) {
      const b = noiseComponentsFigure(net.G, o);
      const titles = { columns: b.columns.map((c) => c.title.replace(/^noise in /, '').replace(/ only/, '')), rows: f.seeds.map((s) => `seed ${s}`) };
      lines.push(`${await saveImage(f.components, b.grid, { zoom: f.zoom, titles: f.titles ? titles : undefined })}; columns: ${b.columns.map((c) => c.title).join(' | ')}`);
    }
    process.stdout.write(`wrote ${lines.join(' and ')}\n`);
  });

  const trunc = program
    .command('truncation')
    .description('truncation-trick figure: one row per seed, one column per ψ')
    .option('--seeds <list>', 'seeds, one row each', seedList, [91, 388])
    .option('--psi <list>', 'ψ values, one column each', numberList, [...DEFAULT_PSIS])
    .option('--trunc-cutoff <n>', "layers ψ applies to, or 'all' (default all, as the paper's figure)", cutoffValue)
    .requiredOption('-o, --output <file>', 'the image written (.png, .jpg or .jpeg)');
  renderOptions(trunc, { trunc: false, center: true }).option('--no-titles', 'leave out the column and row titles').action(async (f: TruncationFlags, cmd: Command) => {
    imageFormat(f.output);
    const net = await openFromFlags(f, cmd);
    const grid = truncationFigure(net.G, { ...renderFrom(net, f), seeds: f.seeds, psis: f.psi, truncationCutoff: cutoffOf(f.truncCutoff) ?? null });
    const titles = { columns: f.psi.map((p) => `ψ = ${p}`), rows: f.seeds.map((s) => `seed ${s}`) };
    process.stdout.write(`wrote ${await saveImage(f.output, grid, { zoom: f.zoom, titles: f.titles ? titles : undefined })}; columns ψ = ${f.psi.join(', ')}\n`);
  });

  program
    .command('figures')
    .description('render every figure of a network into small PNG/WebP files for the documentation')
    .option('--network <path>', `official .pkl or stylegan-ts .safetensors (default: the packaged ${DEFAULT_NETWORK})`)
    .option('--outdir <dir>', 'output folder', 'docs/figures')
    .option('--max-cell <px>', 'downscale cells larger than this (power-of-two factor)', integerAtLeast(4), 128)
    .option('--zoom <n>', 'then enlarge every figure n times, nearest neighbour (2 suits 32² networks)', integerAtLeast(1), 1)
    .option('--samples <n>', 'noise samples in the noise-detail figure', integerAtLeast(2), 100)
    .option('--frames <n>', 'frames of the interpolation videos', integerAtLeast(2), 60)
    .option('--fps <n>', 'frames per second of the videos', integerAtLeast(1), 15)
    .option('--run <dir>', 'a training run directory: also render its timelapse')
    .option('--batch <n>', 'images per forward pass', integerAtLeast(1), 8)
    .option('--no-titles', 'leave out column / row titles and timelapse captions')
    .action(async (f: FiguresFlags, cmd: Command) => {
      const net = await openFromFlags(f, cmd);
      const files = await withProgress({ label: 'figures', unit: 'files', total: 1 }, (p) => renderFigures(net.G, {
        outdir: f.outdir, maxCell: f.maxCell, zoom: f.zoom, samples: f.samples, frames: f.frames, fps: f.fps, runDir: f.run, batch: f.batch,
        classNames: net.classNames, titles: f.titles,
        onProgress: (done, total) => p.update(done, total),
      }));
      for (const x of files) {
        process.stdout.write(`${x.file}  ${(x.bytes / 1024).toFixed(1)} KiB${x.bytes > 200 * 1024 ? '  (over 200 KiB: lower --max-cell or --frames)' : ''}\n`);
      }
    });
}
