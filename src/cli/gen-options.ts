/**
 * Options and output shared by the generate/explore commands (generate, mix, noise, truncation, video, figures):
 * the network to open, truncation, noise mode, class, batch, and argument parsers that turn the library's messages
 * into commander errors.
 */
import { dirname } from 'node:path';
import { type Command } from 'commander';
import { parseSeeds, parseNumberList, NOISE_MODES, type AnyGenerator, type NoiseMode, type RenderOptions } from '../gen/index.js';
import type { TruncationCenter } from '../gen/render.js';
import { openNetwork, DEFAULT_NETWORK, type OpenedNetwork } from '../gen/network.js';
import { makeDirectory } from '../io/atomic.js';
import { writePng, type ImageBatch } from '../io/images.js';
import { missingClassError } from '../nets/labels.js';
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
  class?: number | 'cycle';
  batch: number;
}

/** Adds --network, the truncation and noise options (unless turned off), --class and --batch to a command. */
export function renderOptions(cmd: Command, o: { trunc?: boolean; center?: boolean; noise?: boolean } = {}): Command {
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
  return cmd
    .option('--class <n|cycle>', "class of a conditional network, or 'cycle' (image i gets class i mod classes)", asArgument((v): number | 'cycle' => (v === 'cycle' ? 'cycle' : integerAtLeast(0)(v))))
    .option('--batch <n>', 'images per forward pass', integerAtLeast(1), 8);
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
    return { truncationPsi: f.trunc, truncationCutoff: cutoffOf(f.truncCutoff), noiseMode: f.noiseMode, batch: f.batch };
  }
  if (L > 0 && f.class === undefined) throw new Error(`${net.source}: ${missingClassError(L, `pass --class 0…${L - 1}`).message}`);
  if (L === 0 && f.class !== undefined) throw new Error(`--class ${f.class}: ${net.source} is unconditional`);
  return { truncationPsi: f.trunc, truncationCutoff: cutoffOf(f.truncCutoff), truncationCenter: f.truncCenter, noiseMode: f.noiseMode, classes: f.class, batch: f.batch };
}

/** Writes a PNG, creating its folder; returns a one-line description. */
export async function savePng(path: string, image: ImageBatch): Promise<string> {
  makeDirectory(dirname(path));
  await writePng(path, image);
  return `${path} (${image.width}×${image.height})`;
}
