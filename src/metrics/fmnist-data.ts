/**
 * Fashion-MNIST (Xiao et al. 2017) as the networks see it: 10 classes of 28×28 gray clothing images, brought to
 * 32×32 by the Lanczos-3 resize that `stylegan dataset create` applies by default (src/data/resample.ts). The
 * measure compares generated images with real ones, so the real images take the same path as the training set
 * the generator learned from; zero-padding (stylegan2-ada-pytorch's MNIST path) would give images the default
 * dataset never contains. Pixels stay uint8 until a batch is fed to a network, then map to [−1, 1] like the
 * generator's output (x / 127.5 − 1).
 */
import { join } from 'node:path';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { readIdx } from '../data/idx.js';
import { lanczosResize } from '../data/resample.js';

/** Where the IDX files live unless a caller names another folder. */
export const FMNIST_DIR = '/usr/share/datasets/fashion-mnist';
/** Side of the images the classifier and the generators work at. */
export const FMNIST_RESOLUTION = 32;
export const FMNIST_CLASSES = 10;
/** Names the preprocessing in stored metadata and cache keys: change it when the path above changes. */
export const FMNIST_PREPROCESS = 'lanczos3-28to32-uint8';

export type FmnistSplit = 'train' | 't10k';

/** One split at 32×32: `images` [count, 32, 32] uint8, `labels` [count] class indices 0…9. */
export interface FmnistImages {
  count: number;
  images: Uint8Array;
  labels: Uint8Array;
}

/** The files of a split, `<dir>/<split>-images-idx3-ubyte.gz` and `<dir>/<split>-labels-idx1-ubyte.gz`. */
export function fmnistFiles(split: FmnistSplit, dir = FMNIST_DIR): { images: string; labels: string } {
  return { images: join(dir, `${split}-images-idx3-ubyte.gz`), labels: join(dir, `${split}-labels-idx1-ubyte.gz`) };
}

/** Resizes `count` 28×28 uint8 images (stored one after another) to 32×32 with the dataset tool's Lanczos filter. */
export function resizeTo32(images28: Uint8Array, count: number): Uint8Array {
  const side = 28;
  const R = FMNIST_RESOLUTION;
  if (images28.length !== count * side * side) {
    throw new Error(`resizeTo32: ${images28.length} bytes are not ${count} images of ${side}×${side}`);
  }
  const out = new Uint8Array(count * R * R);
  for (let i = 0; i < count; i++) {
    const image = { width: side, height: side, channels: 1, data: images28.subarray(i * side * side, (i + 1) * side * side) };
    out.set(lanczosResize(image, R, R).data, i * R * R);
  }
  return out;
}

/** Reads a split (optionally only its first `limit` images) and resizes it to 32×32. */
export async function loadFmnist(split: FmnistSplit, o: { dir?: string; limit?: number } = {}): Promise<FmnistImages> {
  const files = fmnistFiles(split, o.dir);
  const [images, labels] = await Promise.all([readIdx(files.images), readIdx(files.labels)]);
  if (images.dtype !== 'uint8' || images.shape.length !== 3 || images.shape[1] !== 28 || images.shape[2] !== 28) {
    throw new Error(`${files.images}: expected uint8 images [N, 28, 28], got ${images.dtype} [${images.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new Error(`${files.labels}: expected ${images.shape[0]} uint8 labels, got ${labels.dtype} [${labels.shape.join(', ')}]`);
  }
  const bad = (labels.data as Uint8Array).findIndex((c) => c >= FMNIST_CLASSES);
  if (bad >= 0) throw new Error(`${files.labels}: label ${labels.data[bad]} of image ${bad} is not a class 0…${FMNIST_CLASSES - 1}`);
  const count = Math.min(images.shape[0]!, o.limit ?? Infinity);
  return {
    count,
    images: resizeTo32((images.data as Uint8Array).subarray(0, count * 28 * 28), count),
    labels: (labels.data as Uint8Array).slice(0, count),
  };
}

/** uint8 pixels [N, H, W] or [N, 1, H, W] → float32 [N, 1, H, W] in [−1, 1], on `device`. */
export function pixelsToUnitRange(pixels: Tensor, device = 'cpu'): Tensor {
  return E.tidy(() => {
    const x = pixels.ndim === 3 ? pixels.unsqueeze(1) : pixels;
    return x.to(device).to('float32').div(127.5).sub(1);
  });
}

/** Images in ≈[−1, 1] → the same images after 8-bit quantization (round(127.5·(x + 1)) clipped to 0…255), in [−1, 1]. */
export function quantizeUnitRange(images: Tensor): Tensor {
  return E.tidy(() => images.add(1).mul(127.5).round().clamp(0, 255).div(127.5).sub(1));
}
