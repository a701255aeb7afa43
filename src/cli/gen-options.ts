/**
 * Options and output shared by the generate/explore commands (generate, mix, noise, truncation, video, figures):
 * the network to open, truncation, noise mode, class, batch, and argument parsers that turn the library's messages
 * into commander errors.
 */
import { type Command } from 'commander';
import { parseSeeds, parseNumberList, NOISE_MODES, withTitles, type AnyGenerator, type NoiseMode, type RenderOptions, type Titles } from '../gen/index.js';
import type { TruncationCenter } from '../gen/render.js';
import { openNetwork, DEFAULT_NETWORK, type OpenedNetwork } from '../gen/network.js';
import { writeImage, zoomImages, type ImageBatch } from '../io/images.js';
import { WATCHABLE_WIDTH } from '../gen/video.js';
import { missingClassError } from '../nets/labels.js';
import { classIndexOf } from '../io/class-names.js';
import { PRECISIONS, type Precision } from '../nets/synthesis.js';
import { integerAtLeast, runtime, asArgument, finiteNumber, oneOf } from './options.js';

export { asArgument, finiteNumber, oneOf };

export const seedList = asArgument((v) => parseSeeds(v));
export const numberList = asArgument((v) => parseNumberList(v, 'expected comma-separated numbers'));
/** A layer count, or 'all' (commander turns a parser's null into '', so 'all' stays a string until `cutoffOf`). */
export const cutoffValue = asArgument((v): number | 'all' => (v === 'all' ? 'all' : integerAtLeast(0)(v)));
/** --trunc-cutoff as the library takes it: a layer count, null for all layers, undefined for the network's default. */
export const cutoffOf = (v: number | 'all' | undefined): number | null | undefined => (v === 'all' ? null : v);

/** What the render options look like on the command line. */
export interface RenderFlags {
  network?: string;
  trunc?: number;
  truncCutoff?: number | 'all';
  truncCenter?: TruncationCenter;
  noiseMode?: NoiseMode;
  class?: string;
  batch: number;
  zoom: number | 'auto';
  precision?: Precision;
}

/** Adds --network, the truncation and noise options (unless turned off), --class, --batch and --zoom to a command. */
export function renderOptions(cmd: Command, o: { trunc?: boolean; center?: boolean; noise?: boolean; zoom?: number | 'auto' } = {}): Command {
  cmd.option('--network <path>', `official .pkl or stylegan-ts .safetensors (default: the packaged ${DEFAULT_NETWORK})`);
  if (o.trunc ?? true) {
    cmd
      .option('--trunc <psi>', 'truncation ψ (default 1 = off)', finiteNumber)
      .option('--trunc-cutoff <n>', "layers ψ applies to, or 'all' (default: the network's, 8 for the official nets)", cutoffValue);
  }
  if (o.center ?? o.trunc ?? true) {
    cmd.option('--trunc-center <c>', "conditional nets: ψ pulls towards the class's own average w ('class', default) or the global one ('global', official)", oneOf(['class', 'global'] as const));
  }
  if (o.noise ?? true) cmd.option('--noise-mode <mode>', `noise inputs: ${NOISE_MODES.join(', ')} (default const; StyleGAN only)`, oneOf(NOISE_MODES));
  zoomOption(cmd, o.zoom ?? 1);
  return cmd
    .option('--class <n|name|cycle>', "class of a conditional network: an index, a name (e.g. 'sneaker' for Fashion-MNIST) or 'cycle' (image i gets class i mod classes)")
    .option('--batch <n>', 'images per forward pass', integerAtLeast(1), 8)
    .option('--precision <p>', `arithmetic of the generator on the CPU: ${PRECISIONS.join(', ')} (default fp32)`, oneOf(PRECISIONS));
}

/** Opens --network on the --device of `cmd`. */
export async function openFromFlags(flags: { network?: string }, cmd: Command): Promise<OpenedNetwork> {
  return openNetwork(flags.network, { device: runtime(cmd).device });
}

/**
 * The library's render options from the flags; a conditional network without --class is an error naming the flag.
 * `classes: false` when the latents already carry the class (saved dlatents): then --class is refused.
 */
export function renderFrom(net: OpenedNetwork, f: RenderFlags, o: { classes?: boolean } = {}): RenderOptions {
  const G: AnyGenerator = net.G;
  const L = G.cfg.labelSize;
  if (o.classes === false) {
    if (f.class !== undefined) throw new Error('--class: saved dlatents already carry their class (it enters through the mapping network)');
    return { truncationPsi: f.trunc, truncationCutoff: cutoffOf(f.truncCutoff), noiseMode: f.noiseMode, batch: f.batch, precision: f.precision };
  }
  if (L > 0 && f.class === undefined) throw new Error(`${net.source}: ${missingClassError(L, `pass --class 0…${L - 1}`).message}`);
  if (L === 0 && f.class !== undefined) throw new Error(`--class ${f.class}: ${net.source} is unconditional`);
  const classes = f.class === undefined || f.class === 'cycle' ? f.class : classIndexOf(f.class, L, net.classNames);
  return { truncationPsi: f.trunc, truncationCutoff: cutoffOf(f.truncCutoff), truncationCenter: f.truncCenter, noiseMode: f.noiseMode, classes, batch: f.batch, precision: f.precision };
}

/**
 * Writes a PNG or JPEG (by extension) zoomed `zoom` times, with column / row titles drawn at the zoomed size, creating
 * its folder; returns a one-line description.
 */
export async function saveImage(path: string, image: ImageBatch, { zoom = 1, titles }: { zoom?: number | 'auto'; titles?: Titles } = {}): Promise<string> {
  if (zoom === 'auto') throw new Error('saveImage: auto zoom is for videos');
  const zoomed = zoomImages(image, zoom);
  const out = titles ? await withTitles(zoomed, titles) : zoomed;
  await writeImage(path, out);
  return `${path} (${out.width}×${out.height}${zoom > 1 ? `, zoom ${zoom}` : ''})`;
}

/** Adds `--zoom <n>` (nearest-neighbour enlargement of every image written). */
export function zoomOption(cmd: Command, fallback: number | 'auto' = 1): Command {
  const what = fallback === 'auto' ? `default: frames at least ${WATCHABLE_WIDTH} px wide` : `default ${fallback}`;
  return cmd.option('--zoom <n>', `enlarge every image n times, nearest neighbour (${what})`, integerAtLeast(1), fallback);
}
