/** `stylegan dataset create|info`: datasets in the stylegan2-ada-pytorch layout (zip or folder of PNGs + dataset.json). */
import type { Command } from 'commander';
import { createDataset, type CreatedDataset, type CropTransform, type OptionSpelling } from '../data/create.js';
import type { LabelSource } from '../data/source.js';
import { datasetInfo } from '../data/dataset.js';
import { integerAtLeast, oneOf } from './options.js';
import { withProgress } from './progress.js';

/** Error messages name the command's flags. */
const CLI_SPELLING: OptionSpelling = {
  skipBad: '--skip-bad',
  transform: (value) => `--transform ${value}`,
  channels: (value) => `--channels ${value}`,
  resolution: '--resolution',
};

export function register(program: Command): void {
  const dataset = program.command('dataset').description('create and inspect training datasets');
  dataset
    .command('create')
    .description('convert a folder of images, a zip, or IDX files (e.g. Fashion-MNIST) into a dataset')
    .requiredOption('--source <path>', 'folder (recursive; PNG/JPEG/WebP), zip, or IDX images file (.gz ok)')
    .requiredOption('--dest <path>', 'output .zip, or a folder')
    .option('--resolution <n>', 'output resolution (a power of two; default: the source size)', integerAtLeast(4))
    .option('--channels <n>', '1 (gray) or 3 (RGB); default: from the first image', (v) => Number(oneOf(['1', '3'] as const)(v)) as 1 | 3)
    .option('--transform <t>', 'none, center-crop, center-crop-wide', oneOf(['none', 'center-crop', 'center-crop-wide'] as const))
    .option('--resize-filter <f>', 'lanczos or box', oneOf(['lanczos', 'box'] as const), 'lanczos')
    .option('--labels <source>', 'auto (IDX label file, dataset.json, or none), json, folders, none', oneOf(['auto', 'json', 'folders', 'none'] as const), 'auto')
    .option('--background <b>', 'what alpha is composited over: black or white', oneOf(['black', 'white'] as const), 'black')
    .option('--max-images <n>', 'use only the first N images', integerAtLeast(1))
    .option('--skip-bad', 'leave out unreadable images instead of failing (they are listed)', false)
    .action(async (o: {
      source: string; dest: string; resolution?: number; channels?: 1 | 3; transform?: CropTransform; resizeFilter: 'lanczos' | 'box';
      labels: LabelSource; background: 'black' | 'white'; maxImages?: number; skipBad: boolean;
    }) => {
      // The display stops however creation ends (a running bar keeps a timer that would hold the process open).
      const r: CreatedDataset = await withProgress({ label: 'dataset', unit: 'images', total: 0 }, (p) => createDataset({
        source: o.source, dest: o.dest, resolution: o.resolution, channels: o.channels, transform: o.transform,
        resizeFilter: o.resizeFilter, background: o.background, maxImages: o.maxImages, onError: o.skipBad ? 'skip' : 'fail',
        labels: o.labels, spelling: CLI_SPELLING,
        onProgress: ({ done, total, name }) => p.update(done, total, name),
      }));
      for (const s of r.skipped) process.stderr.write(`skipped ${s.name}: ${s.reason}\n`);
      process.stdout.write(`${r.dest}: ${r.count} images, ${r.resolution}x${r.resolution}, ${r.channels} channel(s), ${r.labelled ? 'labelled' : 'unlabelled'}\n`);
    });
  dataset
    .command('info')
    .description('print count, resolution, channels and labels of a dataset')
    .argument('<path>', 'dataset zip or folder')
    .option('--json', 'machine-readable output', false)
    .action(async (p: string, o: { json: boolean }) => {
      const info = await datasetInfo(p);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(info)}\n`);
        return;
      }
      process.stdout.write(`${info.path} (${info.kind})\n  images:     ${info.count}\n  resolution: ${info.resolution}x${info.resolution}\n  channels:   ${info.channels}\n` +
        `  labels:     ${info.labelled ? `${info.numClasses} classes (${info.classCounts.join(', ')} images per class)` : 'none'}\n`);
    });
}
