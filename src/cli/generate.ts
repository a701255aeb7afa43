/**
 * `stylegan generate`: images from seeds (z = RandomState(seed).randn, as NVIDIA's scripts), from saved z, or from
 * saved dlatents; one PNG per image (--outdir) and/or one grid (--grid), optionally the images as .npy and the
 * latents used, with a progress display (see progress.ts).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  generateBatches, readLatents, writeLatents, concatLatents, isStyleGAN, type LatentArray, type LatentSource,
} from '../gen/index.js';
import { makeDirectory } from '../io/atomic.js';
import { GridCanvas, pick, writeImage, zoomImages, imageFormat } from '../io/images.js';
import { writeNpyFile } from '../io/npy.js';
import { integerAtLeast } from './options.js';
import { progress } from './progress.js';
import { renderOptions, openFromFlags, renderFrom, seedList, saveImage, type RenderFlags } from './gen-options.js';

interface GenerateFlags extends RenderFlags {
  seeds?: number[];
  z?: string;
  dlatents?: string;
  outdir?: string;
  grid?: string;
  cols?: number;
  npy: boolean;
  saveZ?: string;
  saveDlatents?: string;
}

/** Bytes of images --grid or --npy may hold at once (a 1024² RGB grid of 85 images; 260,000 Fashion-MNIST images). */
const MAX_HELD_IMAGE_BYTES = 2 ** 28;

async function generate(f: GenerateFlags, cmd: Command): Promise<void> {
  const sources = [f.seeds && '--seeds', f.z && '--z', f.dlatents && '--dlatents'].filter(Boolean);
  if (sources.length !== 1) throw new Error(`generate: give exactly one of --seeds, --z or --dlatents${sources.length ? ` (got ${sources.join(' and ')})` : ''}`);
  if (!f.outdir && !f.grid) throw new Error('generate: give --outdir DIR (one PNG per image) and/or --grid FILE.png');
  if (f.grid) imageFormat(f.grid);
  const zoom = f.zoom as number;
  const net = await openFromFlags(f, cmd);
  const G = net.G;
  const source: LatentSource = f.seeds ? { seeds: f.seeds }
    : f.z ? { z: await readLatents(f.z, 'z', G) } : { dlatents: await readLatents(f.dlatents!, 'dlatents', G) };
  const o = renderFrom(net, f, { classes: !f.dlatents });
  if (f.saveDlatents && !isStyleGAN(G)) throw new Error('--save-dlatents needs a StyleGAN generator; this network is a Progressive GAN');
  if (f.outdir) makeDirectory(f.outdir);

  const total = 'seeds' in source ? source.seeds.length : 'z' in source ? source.z.shape[0]! : source.dlatents.shape[0]!;
  const bar = progress('generate', 'images', total);
  const cell = { width: G.cfg.resolution, height: G.cfg.resolution, channels: G.cfg.numChannels };
  const cellBytes = cell.width * cell.height * cell.channels;
  const cols = f.cols ?? Math.ceil(Math.sqrt(total));
  for (const [flag, bytes] of [['--grid', f.grid ? GridCanvas.bytes(total, cols, cellBytes) : 0], ['--npy', f.npy ? total * cellBytes : 0]] as const) {
    if (bytes > MAX_HELD_IMAGE_BYTES) {
      throw new Error(`${flag}: ${total} images of ${cell.width}x${cell.height} take ${(bytes / 2 ** 20).toFixed(0)} MiB at once, ` +
        `more than ${MAX_HELD_IMAGE_BYTES / 2 ** 20} MiB; write them one by one with --outdir, or render fewer`);
    }
  }
  // The grid and the .npy are filled batch by batch: no batch is kept once it is copied in.
  const grid = f.grid ? new GridCanvas({ count: total, cols, cell }) : null;
  const all = f.npy ? new Uint8Array(total * cellBytes) : null;
  const zs: LatentArray[] = [];
  const ds: LatentArray[] = [];
  try {
    for (const b of generateBatches(G, source, { ...o, onProgress: (done) => bar.update(done) })) {
      if (f.outdir) {
        for (let i = 0; i < b.images.count; i++) {
          const name = b.seeds ? `seed${String(b.seeds[i]).padStart(4, '0')}.png` : `image${String(b.start + i).padStart(4, '0')}.png`;
          await writeImage(join(f.outdir, name), zoomImages(pick(b.images, i), zoom));
        }
      }
      grid?.paste(b.images, b.start);
      all?.set(b.images.data.subarray(0, b.images.count * cellBytes), b.start * cellBytes);
      if (b.z && f.saveZ) zs.push(b.z);
      if (b.dlatents && f.saveDlatents) ds.push(b.dlatents);
    }
  } finally {
    bar.stop();
  }
  const lines = f.outdir ? [`${total} images in ${f.outdir}`] : [];
  if (grid) lines.push(await saveImage(f.grid!, grid.image, { zoom }));
  if (all) {
    const file = f.outdir ? join(f.outdir, 'images.npy') : f.grid!.replace(/(\.(png|jpe?g))?$/i, '.npy');
    await writeNpyFile(file, { dtype: 'uint8', shape: [total, cell.height, cell.width, cell.channels], data: all });
    lines.push(`${file} (uint8 [N, H, W, C])`);
  }
  if (f.saveZ) {
    if (!zs.length) throw new Error('--save-z: rendering dlatents uses no z');
    await writeLatents(f.saveZ, concatLatents(zs));
    lines.push(f.saveZ);
  }
  if (f.saveDlatents) {
    await writeLatents(f.saveDlatents, concatLatents(ds));
    lines.push(f.saveDlatents);
  }
  process.stdout.write(`wrote ${lines.join(', ')}\n`);
}

export function register(program: Command): void {
  const cmd = program
    .command('generate')
    .description('generate images from seeds, saved z or saved dlatents (truncation, noise mode, class)')
    .option('--seeds <list>', "seeds, e.g. '0-7,42' (z = numpy RandomState(seed).randn(1, latent), as NVIDIA's scripts)", seedList)
    .option('--z <file.npy>', 'latents z [N, latent] to render')
    .option('--dlatents <file.npy>', 'dlatents [N, layers, dlatent] (or w [N, dlatent]) to render directly (StyleGAN)')
    .option('--outdir <dir>', 'write one PNG per image (seedNNNN.png, or imageNNNN.png for saved latents)')
    .option('--grid <file>', 'write all images as one grid (.png, .jpg or .jpeg)')
    .option('--cols <n>', 'grid columns (default: a square grid)', integerAtLeast(1))
    .option('--npy', 'also write the images (not zoomed) as one uint8 [N, H, W, C] .npy (images.npy in --outdir, else next to --grid)', false)
    .option('--save-z <file.npy>', 'save the z used')
    .option('--save-dlatents <file.npy>', 'save the dlatents passed to synthesis (after truncation)');
  renderOptions(cmd).action((f: GenerateFlags, c: Command) => generate(f, c));
}
