/**
 * A small CNN that classifies Fashion-MNIST at 32×32; its penultimate layer is the feature space of the Fréchet
 * distance for this dataset (the role Inception-v3's pool3 plays in Heusel et al.'s FID on ImageNet-like data).
 *
 *   input   [N, 1, 32, 32] in [−1, 1] (fmnist-data.ts: Lanczos 28 → 32, like the training set)
 *   Conv0   3×3,  1 → 16, ReLU, 2×2 max pool → 16×16
 *   Conv1   3×3, 16 → 32, ReLU, 2×2 max pool →  8×8
 *   Conv2   3×3, 32 → 64, ReLU, 2×2 max pool →  4×4, flattened → [N, 1024]
 *   Dense0  1024 → 128, ReLU                        ← features (`features()`)
 *   Dense1  128 → 10                                ← class logits
 *
 * The widths are a quarter of the usual 32/64/128 so that training takes minutes on two CPU cores; keeping the
 * 4×4 layout instead of a global average keeps where things are, which this dataset needs (a sandal and a
 * sneaker differ mostly in where the pixels are).
 *
 * Layers are the equalized-learning-rate layers of src/nn with `useWscale: false`, i.e. plain He-initialized
 * weights in TF layout; the stored variables keep these names. The shipped network is
 * models/fmnist-classifier.safetensors (float16 storage; the metadata names the command that trained it, its
 * epochs and its t10k accuracy); `stylegan metric train-fmnist-classifier` trains a new one.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { Network } from '../nn/module.js';
import { Conv2d, Dense } from '../nn/layers.js';
import { tensorToRecord, recordToTensor } from '../io/checkpoint.js';
import { decodeSafetensors, writeSafetensorsFile } from '../io/safetensors.js';
import type { TensorRecord } from '../io/tensor-record.js';
import {
  FMNIST_CLASSES, FMNIST_PREPROCESS, FMNIST_RESOLUTION, loadFmnist, pixelsToUnitRange, type FmnistImages,
} from './fmnist-data.js';

export const CLASSIFIER_FORMAT = 'stylegan-ts/fmnist-classifier/1';
/** The shipped classifier (the repository's and the package's `models/` folder). */
export const DEFAULT_CLASSIFIER = fileURLToPath(new URL('../../../models/fmnist-classifier.safetensors', import.meta.url));
/** Width of the feature vectors (Dense0's outputs). */
export const FEATURE_DIM = 128;

const CONVS: readonly [string, number, number][] = [['Conv0', 1, 16], ['Conv1', 16, 32], ['Conv2', 32, 64]];
/** Side of the last feature maps (32 halved once per convolution). */
const LAST_SIDE = FMNIST_RESOLUTION >> CONVS.length;

export class FmnistClassifier extends Network {
  readonly convs: Conv2d[];
  readonly dense0: Dense;
  readonly dense1: Dense;

  constructor(seed = 0, device = 'cpu') {
    super(seed, device);
    const v = this.vars;
    this.convs = CONVS.map(([scope, cin, cout]) => {
      return new Conv2d(v, scope, { cin, cout, kernel: 3, useWscale: false, bias: true });
    });
    const flat = CONVS[CONVS.length - 1]![2] * LAST_SIDE * LAST_SIDE;
    this.dense0 = new Dense(v, 'Dense0', { inFeatures: flat, outFeatures: FEATURE_DIM, useWscale: false, bias: true });
    this.dense1 = new Dense(v, 'Dense1', { inFeatures: FEATURE_DIM, outFeatures: FMNIST_CLASSES, useWscale: false, gain: 1, bias: true });
  }

  /** images [N, 1, 32, 32] in [−1, 1] → features [N, 128] (ReLU outputs of Dense0). */
  features(images: Tensor): Tensor {
    const R = FMNIST_RESOLUTION;
    if (images.ndim !== 4 || images.shape[1] !== 1 || images.shape[2] !== R || images.shape[3] !== R) {
      throw new Error(`fmnist classifier: images must be [N, 1, ${R}, ${R}], got [${images.shape.join(', ')}]`);
    }
    return E.tidy(() => {
      let x = images;
      for (const conv of this.convs) x = E.maxPool2d(conv.forward(x).relu(), 2);
      return this.dense0.forward(x).relu();
    });
  }

  /** images [N, 1, 32, 32] → class logits [N, 10]. */
  logits(images: Tensor): Tensor {
    return E.tidy(() => this.dense1.forward(this.features(images)));
  }
}

/** Runs `fn` on the batches [start, start + size) of `count` items, in order. */
function forEachBatch(count: number, size: number, fn: (start: number, size: number) => void): void {
  for (let start = 0; start < count; start += size) fn(start, Math.min(size, count - start));
}

/** Feature vectors [count, 128] (float32, CPU) of uint8 images [count, 32, 32], computed `batch` at a time. */
export function imageFeatures(net: FmnistClassifier, images: Uint8Array, { count, batch = 500 }: { count: number; batch?: number }): Tensor {
  const R = FMNIST_RESOLUTION;
  const parts: Tensor[] = [];
  E.noGrad(() => forEachBatch(count, batch, (start, n) => {
    parts.push(E.tidy(() => {
      const pixels = E.fromTypedArray(images.subarray(start * R * R, (start + n) * R * R), [n, R, R]);
      return net.features(pixelsToUnitRange(pixels, net.device)).to('cpu');
    }));
  }));
  return E.tidy(() => E.cat(parts, 0));
}

/** Fraction of `data` whose most likely class is its label. */
export function accuracy(net: FmnistClassifier, data: FmnistImages, batch = 500): number {
  const R = FMNIST_RESOLUTION;
  let correct = 0;
  E.noGrad(() => forEachBatch(data.count, batch, (start, n) => E.tidy(() => {
    const pixels = E.fromTypedArray(data.images.subarray(start * R * R, (start + n) * R * R), [n, R, R]);
    const predicted = net.logits(pixelsToUnitRange(pixels, net.device)).argmax(1).to('cpu').to('int32');
    const p = predicted.toTypedArray() as Int32Array;
    for (let i = 0; i < n; i++) if (p[i] === data.labels[start + i]) correct++;
  })));
  return correct / data.count;
}

export interface TrainClassifierOptions {
  /** Passes over the training set. */
  epochs: number;
  /** Images per Adam step. */
  batchSize: number;
  /** Adam learning rate; it decays linearly to lr/10 over the run. */
  lr: number;
  /** Seeds the initial weights and the order of the images. */
  seed: number;
  device?: string;
  /** Called after each step with the epoch (0-based), the step within it, the steps per epoch and the loss. */
  onStep?: (p: { epoch: number; step: number; steps: number; loss: number }) => void;
}

/** Trains a fresh classifier on `train` (cross-entropy, Adam, a new random order every epoch). */
export function trainClassifier(train: FmnistImages, o: TrainClassifierOptions): FmnistClassifier {
  const device = o.device ?? 'cpu';
  const R = FMNIST_RESOLUTION;
  const net = new FmnistClassifier(o.seed, device);
  const opt = new E.Adam(net.parameters(), { lr: o.lr });
  const order = new E.Generator(o.seed + 1);
  const [images, labels] = E.tidy(() => [
    E.keep(E.fromTypedArray(train.images, [train.count, R, R])),
    E.keep(E.fromTypedArray(train.labels, [train.count]).to('int64')),
  ]);
  const steps = Math.ceil(train.count / o.batchSize);
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const perm = E.keep(E.randperm(train.count, { generator: order }));
      forEachBatch(train.count, o.batchSize, (start, n) => {
        const done = (epoch * steps + start / o.batchSize) / (o.epochs * steps);
        opt.lr = o.lr * (1 - 0.9 * done);
        const loss = E.tidy(() => {
          const idx = perm.narrow(0, start, n);
          const x = pixelsToUnitRange(images.indexSelect(0, idx), device);
          const y = labels.indexSelect(0, idx).to(device);
          const l = E.nllLoss(E.logSoftmax(net.logits(x), 1), y);
          opt.zeroGrad();
          l.backward();
          opt.step();
          return l.item();
        });
        o.onStep?.({ epoch, step: start / o.batchSize, steps, loss });
      });
      perm.dispose();
    }
  } finally {
    opt.zeroGrad();
    opt.dispose();
    images.dispose();
    labels.dispose();
  }
  return net;
}

/** Rounds every variable to float16 and back, so the network in memory is exactly the one a saved file holds. */
export function roundToFloat16(net: FmnistClassifier): void {
  E.noGrad(() => {
    for (const t of net.vars.tensors.values()) E.tidy(() => t.copy_(t.to('float16')));
  });
}

/** Writes the classifier (float16 storage) with `metadata` (provenance: command, epochs, accuracy, …). */
export async function saveClassifier(path: string, net: FmnistClassifier, metadata: Record<string, string>): Promise<void> {
  const records = new Map<string, TensorRecord>();
  E.tidy(() => {
    for (const [name, t] of net.stateDict()) records.set(name, tensorToRecord(t.detach().to('float16')));
  });
  await writeSafetensorsFile(path, records, {
    ...metadata, format: CLASSIFIER_FORMAT, preprocess: FMNIST_PREPROCESS, feature_dim: String(FEATURE_DIM),
  });
}

export interface LoadedClassifier {
  net: FmnistClassifier;
  metadata: Record<string, string>;
  /** SHA-256 of the file (hex): identifies the feature space in caches. */
  sha256: string;
  path: string;
}

/** Reads a classifier written by `saveClassifier`; every problem names the file. */
export async function loadClassifier(path = DEFAULT_CLASSIFIER, device = 'cpu'): Promise<LoadedClassifier> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const hint = path === DEFAULT_CLASSIFIER ? ' (retrain it with `stylegan metric train-fmnist-classifier -o PATH`)' : '';
    throw new Error(`fmnist classifier ${path}: cannot read: ${(e as Error).message}${hint}`);
  }
  const { tensors, metadata } = decodeSafetensors(bytes, { path });
  if (metadata.format !== CLASSIFIER_FORMAT) {
    throw new Error(`${path}: not a Fashion-MNIST classifier (metadata format is ${JSON.stringify(metadata.format ?? null)}, expected '${CLASSIFIER_FORMAT}')`);
  }
  if (metadata.preprocess !== FMNIST_PREPROCESS) {
    throw new Error(`${path}: classifier was trained on '${metadata.preprocess}' images, this version feeds '${FMNIST_PREPROCESS}'`);
  }
  const net = new FmnistClassifier(0, device);
  try {
    E.tidy(() => {
      const values = new Map<string, Tensor>();
      for (const [name, rec] of tensors) values.set(name, recordToTensor(rec, `${path}: ${name}`));
      net.loadStateDict(values, { source: path });
    });
  } catch (e) {
    net.dispose();
    throw e;
  }
  return { net, metadata, sha256: createHash('sha256').update(bytes).digest('hex'), path };
}

export interface TrainAndSaveOptions extends TrainClassifierOptions {
  /** Where to write the classifier. */
  output: string;
  /** Folder of the Fashion-MNIST IDX files. */
  dataDir?: string;
  /** The command line that reproduces this run, stored in the metadata. */
  command: string;
}

export interface TrainAndSaveResult {
  path: string;
  /** Accuracy of the saved (float16-rounded) network on the 10,000 t10k images. */
  testAccuracy: number;
  trainSeconds: number;
  epochs: number;
}

/** Trains on the 60,000 training images, measures t10k accuracy and writes the classifier with its provenance. */
export async function trainAndSaveClassifier(o: TrainAndSaveOptions): Promise<TrainAndSaveResult> {
  const train = await loadFmnist('train', { dir: o.dataDir });
  const t0 = performance.now();
  const net = trainClassifier(train, o);
  const trainSeconds = (performance.now() - t0) / 1000;
  try {
    roundToFloat16(net);
    const testAccuracy = accuracy(net, await loadFmnist('t10k', { dir: o.dataDir }));
    await saveClassifier(o.output, net, {
      command: o.command,
      epochs: String(o.epochs),
      batch_size: String(o.batchSize),
      lr: String(o.lr),
      seed: String(o.seed),
      train_images: String(train.count),
      test_accuracy: testAccuracy.toFixed(4),
      train_seconds: trainSeconds.toFixed(0),
      threads: String(E.getNumThreads()),
      libtorch: E.torchVersion().torch,
    });
    return { path: o.output, testAccuracy, trainSeconds, epochs: o.epochs };
  } finally {
    net.dispose();
  }
}
