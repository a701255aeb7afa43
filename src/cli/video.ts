/**
 * `stylegan video` (a latent interpolation through seeds, in Z or W) and `stylegan timelapse` (a training run's
 * snapshot grids in kimg order). MP4 needs ffmpeg on the PATH; .webp and .gif are written with sharp.
 */
import type { Command } from 'commander';
import { interpolationFrames, timelapse, writeVideo, videoFormat, hasFfmpeg, type InterpolationSpace } from '../gen/index.js';
import type { ImageBatch } from '../io/images.js';
import { integerAtLeast } from './options.js';
import { progress } from './progress.js';
import { renderOptions, openFromFlags, renderFrom, seedList, oneOf, finiteNumber, zoomOption, type RenderFlags } from './gen-options.js';

interface VideoFlags extends RenderFlags {
  seeds: number[];
  space: InterpolationSpace;
  frames: number;
  fps: number;
  loop: boolean;
  output: string;
}

/** Fails early (before opening the network) when the output cannot be written. */
function checkOutput(file: string): void {
  if (videoFormat(file) === 'mp4' && !hasFfmpeg()) {
    throw new Error(`${file}: writing MP4 needs ffmpeg, which is not on the PATH (install it, or write .webp or .gif instead)`);
  }
}

function* counted(frames: Iterable<ImageBatch>, total: number): Generator<ImageBatch> {
  const bar = progress('video', 'frames', total);
  let n = 0;
  try {
    for (const f of frames) {
      yield f;
      bar.update(++n);
    }
  } finally {
    bar.stop();
  }
}

export function register(program: Command): void {
  const video = program
    .command('video')
    .description('interpolation video through seeds: Z with slerp or W with lerp; .mp4 (ffmpeg), .webp or .gif')
    .requiredOption('--seeds <list>', "key seeds in order, e.g. '0-3'", seedList)
    .option('--space <space>', 'z (slerp) or w (lerp; StyleGAN)', oneOf(['z', 'w'] as const), 'z')
    .option('--frames <n>', 'frames in total', integerAtLeast(2), 120)
    .option('--fps <n>', 'frames per second', finiteNumber, 30)
    .option('--loop', 'return to the first seed at the end (default)', true)
    .option('--no-loop', 'end on the last seed')
    .requiredOption('-o, --output <file>', 'output .mp4, .webp or .gif');
  renderOptions(video, { zoom: 'auto' }).action(async (f: VideoFlags, cmd: Command) => {
    checkOutput(f.output);
    const net = await openFromFlags(f, cmd);
    const frames = interpolationFrames(net.G, { ...renderFrom(net, f), seeds: f.seeds, space: f.space, frames: f.frames, loop: f.loop });
    const info = await writeVideo(f.output, counted(frames, f.frames), { fps: f.fps, zoom: f.zoom });
    process.stdout.write(`wrote ${info.path} (${info.format}, ${info.frames} frames of ${info.width}×${info.height}, ${f.fps} fps)\n`);
  });

  const lapse = program
    .command('timelapse')
    .description("video of a training run's fakes*.png grids in kimg order")
    .argument('<run-dir>', 'training run directory')
    .option('--fps <n>', 'frames per second', finiteNumber, 10)
    .requiredOption('-o, --output <file>', 'output .mp4, .webp or .gif');
  zoomOption(lapse, 'auto')
    .action(async (runDir: string, f: { fps: number; output: string; zoom: number | 'auto' }) => {
      checkOutput(f.output);
      const info = await timelapse(runDir, f.output, { fps: f.fps, zoom: f.zoom });
      process.stdout.write(`wrote ${info.path} (${info.format}, ${info.frames} frames of ${info.width}×${info.height}, ${f.fps} fps)\n`);
    });
}
