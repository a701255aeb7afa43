/**
 * `stylegan metric <name> …`: the metrics of stylegan2-ada-pytorch's calc_metrics.py on NVIDIA's detector files.
 *   metric fid50k_full --network N --data DATASET [--num-gen 10000] [--max-real N]
 *   metric fid --data A --data2 B                      two image sets (ZIPs or folders)
 *   metric ppl2_wend --network N                       (--data only supplies the class distribution)
 * Detectors: --detector-dir DIR or $STYLEGAN_DETECTORS (official file names), or --detector FILE (any TorchScript
 * with the same call). Without --network and --data2 the default model is measured.
 */
import type { Command } from 'commander';
import { openNetwork } from '../gen/network.js';
import { calcMetric, metricSpec, DETECTOR_ENV, DETECTOR_URL_BASE } from '../metrics/index.js';
import { asArgument, integerAtLeast, runtime } from './options.js';
import { progress, type Progress } from './progress.js';

interface CalcFlags {
  network?: string;
  data?: string;
  data2?: string;
  numGen?: number;
  maxReal?: number | null;
  detectorDir?: string;
  detector?: string;
  batch: number;
  seed: number;
  cache: boolean;
  json: boolean;
}

/** One shared progress display per phase (dataset features, generator features, …), a new one when the phase changes. */
function progressBars(): { update: (tag: string, done: number, total: number) => void; stop: () => void } {
  let current: { tag: string; display: Progress } | null = null;
  const stop = () => {
    current?.display.stop();
    current = null;
  };
  return {
    update: (tag, done, total) => {
      if (current?.tag !== tag) {
        stop();
        current = { tag, display: progress(tag, 'images', total) };
      }
      current.display.update(done, total);
    },
    stop,
  };
}

async function calcCommand(name: string, flags: CalcFlags, command: Command): Promise<void> {
  const { device } = runtime(command);
  metricSpec(name); // an unknown name fails before anything loads
  const opened = flags.data2 === undefined ? await openNetwork(flags.network, { device }) : null;
  const bars = progressBars();
  try {
    const r = await calcMetric(name, {
      G: opened?.G ?? null, data: flags.data, data2: flags.data2, numGen: flags.numGen, maxReal: flags.maxReal,
      detectorDir: flags.detectorDir, detectorFile: flags.detector, device, cacheDir: flags.cache ? undefined : null,
      seed: flags.seed, batch: flags.batch, onProgress: bars.update,
    });
    bars.stop();
    if (flags.json) console.log(JSON.stringify(r));
    else {
      const values = Object.entries(r.results).map(([k, v]) => `${k} ${v.toPrecision(6)}`).join('  ');
      const against = flags.data2 !== undefined ? `${flags.data2} (${r.numGen} images)` : `${r.numGen} generated`;
      console.log(`${values}  (${against}${r.numReal !== null ? ` vs ${r.numReal} real` : ''}, ${r.seconds.toFixed(1)} s)`);
    }
  } finally {
    bars.stop();
    opened?.G.dispose();
  }
}

const maxReal = asArgument((v) => (v === 'all' ? Infinity : integerAtLeast(1)(v)));

/** Registers `metric <name>` as the default subcommand of `metric`. */
export function registerCalc(metric: Command): void {
  const calc = metric
    .command('calc <name>', { isDefault: true })
    .description('official metrics: fid50k_full kid50k_full pr50k3_full ppl2_wend is50k, legacy fid50k kid50k pr50k3 ppl_zfull ' +
      'ppl_wfull ppl_zend ppl_wend, other sizes (fid10k_full, is10k, …), and fid / kid of two datasets')
    .option('--network <path>', 'generator (.pkl or .safetensors; default: the shipped model)')
    .option('--data <path>', 'real images: dataset ZIP or folder')
    .option('--data2 <path>', 'a second dataset in place of the generator (fid, kid)')
    .option('--num-gen <n>', 'generated images (or PPL samples) instead of the metric\'s count', integerAtLeast(2))
    .option('--max-real <n>', 'at most this many real images (a number or \'all\')', maxReal)
    .option('--detector-dir <dir>', `folder with inception-2015-12-05.pt and vgg16.pt (default $${DETECTOR_ENV}; from ${DETECTOR_URL_BASE})`)
    .option('--detector <file>', 'a TorchScript file used in place of the metric\'s detector')
    .option('--batch <n>', 'images per detector call', integerAtLeast(1), 64)
    .option('--seed <n>', 'seed of latents, noise, classes and KID subsets', integerAtLeast(0), 0)
    .option('--no-cache', 'recompute the dataset statistics instead of using the cache')
    .option('--json', 'print the result as one JSON object', false)
    .action((name: string, flags: CalcFlags, command: Command) =>
      calcCommand(name, { ...flags, maxReal: flags.maxReal === Infinity ? null : flags.maxReal }, command));
  return void calc;
}
