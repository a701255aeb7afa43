/**
 * `stylegan metric …`: quality measures.
 *   metric fid-fmnist --network N [--num 10000] [--batch 256]   FID against the Fashion-MNIST test images
 *   metric train-fmnist-classifier -o PATH                       trains the feature network of fid-fmnist
 *   metric <official name> …                                     see metric-calc.ts
 */
import { InvalidArgumentError, type Command } from 'commander';
import { getNumThreads } from '../engine/index.js';
import { fidFmnist } from '../metrics/fid-fmnist.js';
import { DEFAULT_CLASSIFIER, trainAndSaveClassifier } from '../metrics/fmnist-classifier.js';
import { FMNIST_DIR } from '../metrics/fmnist-data.js';
import { integerAtLeast, runtime } from './options.js';
import { withProgress } from './progress.js';
import { registerCalc } from './metric-calc.js';

function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

interface FidFlags {
  network: string;
  num: number;
  batch: number;
  seed: number;
  classifier: string;
  data: string;
  cache: boolean;
  json: boolean;
}

async function fidCommand(flags: FidFlags, command: Command): Promise<void> {
  const { device } = runtime(command);
  const r = await withProgress({ label: 'fid-fmnist', unit: 'images generated', total: flags.num }, (p) => fidFmnist({
    network: flags.network, num: flags.num, batch: flags.batch, seed: flags.seed, device, classifier: flags.classifier,
    dataDir: flags.data, cacheDir: flags.cache ? undefined : null, onProgress: (done) => p.update(done),
  }));
  if (flags.json) console.log(JSON.stringify(r));
  else console.log(`fid-fmnist ${r.fid.toFixed(4)}  (${r.num} generated vs ${r.reference.count} t10k images, ${r.seconds.toFixed(1)} s)`);
}

interface TrainFlags {
  output: string;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  data: string;
}

async function trainCommand(flags: TrainFlags, command: Command): Promise<void> {
  const { device } = runtime(command);
  const reproduce = `stylegan --threads ${getNumThreads()} metric train-fmnist-classifier -o ${flags.output} ` +
    `--epochs ${flags.epochs} --batch ${flags.batch} --lr ${flags.lr} --seed ${flags.seed}`;
  const r = await withProgress({ label: 'train-fmnist-classifier', unit: 'steps', total: 0 }, (p) => trainAndSaveClassifier({
    output: flags.output, epochs: flags.epochs, batchSize: flags.batch, lr: flags.lr, seed: flags.seed, device,
    dataDir: flags.data, command: reproduce,
    onStep: ({ epoch, step, steps, loss }) => p.update(epoch * steps + step + 1, flags.epochs * steps, `epoch ${epoch + 1}/${flags.epochs} loss ${loss.toFixed(4)}`),
  }));
  console.log(`${r.path}: test accuracy ${(100 * r.testAccuracy).toFixed(2)}% on t10k after ${r.epochs} epochs (${r.trainSeconds.toFixed(0)} s of training)`);
}

export function register(program: Command): void {
  const metric = program.command('metric').description('quality measures of trained generators');
  registerCalc(metric);
  metric
    .command('fid-fmnist')
    .description('FID of a 32×32 gray generator against the Fashion-MNIST test images, in the features of a small classifier')
    .requiredOption('--network <path>', 'generator checkpoint (.safetensors)')
    .option('--num <n>', 'generated images', integerAtLeast(2), 10_000)
    .option('--batch <n>', 'images per forward pass', integerAtLeast(1), 256)
    .option('--seed <n>', 'seed of the latents and noise', integerAtLeast(0), 0)
    .option('--classifier <path>', 'feature network', DEFAULT_CLASSIFIER)
    .option('--data <dir>', 'folder of the Fashion-MNIST IDX files', FMNIST_DIR)
    .option('--no-cache', 'recompute the test-image statistics instead of using the cache')
    .option('--json', 'print the result as one JSON object', false)
    .action((flags: FidFlags, command: Command) => fidCommand(flags, command));
  metric
    .command('train-fmnist-classifier')
    .description('train the Fashion-MNIST classifier whose features fid-fmnist compares')
    .requiredOption('-o, --output <path>', 'classifier file to write (.safetensors)')
    .option('--epochs <n>', 'passes over the 60,000 training images', integerAtLeast(1), 3)
    .option('--batch <n>', 'images per Adam step', integerAtLeast(1), 128)
    .option('--lr <rate>', 'Adam learning rate (decays linearly to a tenth)', positiveNumber, 0.001)
    .option('--seed <n>', 'seed of the weights and the image order', integerAtLeast(0), 0)
    .option('--data <dir>', 'folder of the Fashion-MNIST IDX files', FMNIST_DIR)
    .action((flags: TrainFlags, command: Command) => trainCommand(flags, command));
}
