/**
 * `stylegan project --target IMG --outdir DIR`: finds the dlatents that reproduce an image (projector.py). Writes
 * target.png (the prepared target), proj.png (the projection), projected_w.npy ([1, layers, dlatent]: loadable by
 * `generate --dlatents` and `mix --rows/--cols`) and proj.mp4 (target | projection at each recorded step).
 * The loss is LPIPS through vgg16.pt when it is found (--vgg, --detector-dir or $STYLEGAN_DETECTORS), else MSE
 * (said in the output).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import * as E from '../engine/index.js';
import { writeVideo, assembleGrid, writeLatents, type OpenedNetwork } from '../gen/index.js';
import { requireStyleGAN, toLatentArray } from '../gen/render.js';
import { toUint8, writePng, type ImageBatch } from '../io/images.js';
import { findDetector } from '../metrics/detector.js';
import { projectWithNoise, loadTarget, type ProjectionLoss, type ProjectionNoise, type ProjectionSpace } from '../project/index.js';
import { integerAtLeast, oneOf } from './options.js';
import { openFromFlags } from './gen-options.js';

interface ProjectFlags {
  network?: string;
  target: string;
  outdir: string;
  steps: number;
  space: ProjectionSpace;
  loss?: ProjectionLoss;
  vgg?: string;
  detectorDir?: string;
  class?: number;
  seed: number;
  noise: ProjectionNoise;
  video: boolean;
  videoEvery: number;
}

/** The VGG16 file to use, or null when none is found (and --loss lpips was not asked for). */
function findVgg(flags: ProjectFlags): string | null {
  if (flags.vgg !== undefined) return flags.vgg;
  const { file, found } = findDetector('vgg16', { dir: flags.detectorDir });
  if (found) return file;
  if (flags.loss === 'lpips') throw new Error(`${file}: --loss lpips needs vgg16.pt; pass --vgg FILE or --detector-dir DIR, or use --loss mse`);
  return null;
}

async function projectCommand(flags: ProjectFlags, command: Command): Promise<void> {
  const net: OpenedNetwork = await openFromFlags(flags, command);
  const G = requireStyleGAN(net.G, 'projection');
  try {
    const L = G.cfg.labelSize;
    if (L > 0 && flags.class === undefined) throw new Error(`${net.source}: this network is conditional (${L} classes): pass --class 0…${L - 1}`);
    if (L === 0 && flags.class !== undefined) throw new Error(`--class ${flags.class}: ${net.source} is unconditional`);
    const vgg = flags.loss === 'mse' ? null : findVgg(flags);
    const loss: ProjectionLoss = vgg ? 'lpips' : 'mse';
    const target = await loadTarget(flags.target, G.cfg.resolution, G.cfg.numChannels as 1 | 3);
    mkdirSync(flags.outdir, { recursive: true });
    console.log(`projecting ${flags.target} into ${flags.space.toUpperCase()} of ${net.source}: ${flags.steps} steps, ` +
      (vgg ? `LPIPS distance (${vgg})` : 'MSE distance (no vgg16.pt given or found)') + `, noise ${flags.noise}`);
    const frames: Float32Array[] = [];
    const tty = process.stderr.isTTY;
    const t0 = performance.now();
    const r = await projectWithNoise(net, target.tensor, {
      steps: flags.steps, space: flags.space, loss, vggPath: vgg ?? undefined, classIndex: flags.class, seed: flags.seed, noise: flags.noise,
      onStep: ({ step, steps, loss: d, dlatents }) => {
        if (flags.video && (step % flags.videoEvery === 0 || step === steps - 1)) frames.push(toLatentArray(dlatents).data);
        if (tty || step === steps - 1) process.stderr.write(`${tty ? '\r' : ''}step ${step + 1}/${steps}: dist ${d.toFixed(4)}${step === steps - 1 ? '\n' : ''}`);
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    try {
      const render = (d: E.Tensor): ImageBatch => E.tidy(() => E.noGrad(() => toUint8(G.synthesis.forward(d, { noise: r.noise }))));
      const files = [join(flags.outdir, 'target.png'), join(flags.outdir, 'proj.png'), join(flags.outdir, 'projected_w.npy')];
      await writePng(files[0]!, target.image);
      await writePng(files[1]!, render(r.dlatents));
      await writeLatents(files[2]!, toLatentArray(r.dlatents));
      console.log(`dist ${r.loss.toFixed(5)} after ${flags.steps} steps (${seconds.toFixed(1)} s)`);
      console.log(`wrote ${files.join(', ')}`);
      if (flags.noise === 'optimize') console.log('(proj.png uses the optimised noise maps; generate --dlatents renders with the network\'s stored maps: use --noise const to project for those)');
      if (flags.video) {
        const shape = r.dlatents.shape;
        const video = join(flags.outdir, 'proj.mp4');
        const frameAt = function* (): Generator<ImageBatch> {
          for (const data of frames) yield assembleGrid([target.image, render(E.fromTypedArray(data, shape).to(G.synthesis.device))], 2);
        };
        const info = await writeVideo(video, frameAt(), { fps: 10 });
        console.log(`wrote ${info.path} (${info.frames} frames, ${info.width}×${info.height})`);
      }
    } finally {
      E.disposeAll([r.dlatents, r.noise]);
      target.tensor.dispose();
    }
  } finally {
    G.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('project')
    .description('find the dlatents that reproduce an image (stylegan2-ada-pytorch projector.py), in W or W+')
    .requiredOption('--target <image>', 'image to project (centre-cropped and Lanczos-resized to the network)')
    .requiredOption('--outdir <dir>', 'where target.png, proj.png, projected_w.npy and proj.mp4 go')
    .option('--network <path>', 'StyleGAN network (default: the packaged model)')
    .option('--steps <n>', 'optimisation steps', integerAtLeast(1), 1000)
    .option('--space <s>', "'w' (one w, official) or 'w+' (one w per layer)", oneOf(['w', 'w+'] as const), 'w')
    .option('--loss <l>', "'lpips' (needs vgg16.pt) or 'mse' (default: lpips when vgg16.pt is found)", oneOf(['lpips', 'mse'] as const))
    .option('--vgg <file>', 'vgg16.pt (default: in --detector-dir / $STYLEGAN_DETECTORS)')
    .option('--detector-dir <dir>', 'folder holding vgg16.pt')
    .option('--class <n>', 'class of a conditional network', integerAtLeast(0))
    .option('--seed <n>', 'seed of the initial noise maps and the w noise', integerAtLeast(0), 303)
    .option('--noise <mode>', "'optimize' fresh noise maps (official) or keep the network's 'const' maps", oneOf(['optimize', 'const'] as const), 'optimize')
    .option('--no-video', 'skip proj.mp4')
    .option('--video-every <n>', 'record every n-th step in the video', integerAtLeast(1), 1)
    .action((flags: ProjectFlags, command: Command) => projectCommand(flags, command));
}
