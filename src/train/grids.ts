/** The image grids of a run: fixed latents through Gs (drawn as the official loop does), and a grid of reals. */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { StyleGANGenerator, type Generator, type NetworkConfig } from '../nets/index.js';
import { BatchLoader } from '../data/loader.js';
import { RandomState } from '../engine/numpy-random.js';
import { toUint8, makeGrid, writePng, type ImageBatch } from '../io/images.js';

export interface FixedGridOptions {
  cols: number;
  rows: number;
  seed: number;
  numClasses: number;
  device: string;
}

export class FixedGrid {
  readonly latents: Tensor;
  readonly labels: Tensor | null;
  readonly cols: number;
  readonly rows: number;

  /** `cols`×`rows` latents from numpy's RandomState(seed) and class labels cycling per row. */
  constructor(config: NetworkConfig, { cols, rows, seed, numClasses, device }: FixedGridOptions) {
    this.cols = cols;
    this.rows = rows;
    const n = cols * rows;
    const rs = new RandomState(seed);
    this.latents = E.keep(E.fromTypedArray(Float32Array.from(rs.randn(n, config.latentSize)), [n, config.latentSize]).to(device));
    this.labels = numClasses ? E.keep(E.oneHot(Int32Array.from({ length: n }, (_, i) => Math.floor(i / cols) % numClasses), numClasses, device)) : null;
  }

  /** Gs at `lod` (const noise, no truncation) as uint8 images. */
  images(Gs: Generator, lod: number): ImageBatch {
    return E.tidy(() => E.noGrad(() => toUint8(Gs instanceof StyleGANGenerator
      ? Gs.forward(this.latents, { labels: this.labels, noise: 'const', lod })
      : Gs.forward(this.latents, { labels: this.labels, lod }))));
  }

  async write(file: string, Gs: Generator, lod: number): Promise<void> {
    await writePng(file, makeGrid(this.images(Gs, lod), this.cols));
  }

  dispose(): void {
    this.latents.dispose();
    this.labels?.dispose();
  }
}

/** A grid of `cols`×`rows` shuffled reals at full resolution. */
export async function writeReals(file: string, { data, resolution, cols, rows }: { data: string; resolution: number; cols: number; rows: number }): Promise<void> {
  const l = await BatchLoader.open(data, { resolution, batchSize: cols * rows, seed: 1, shuffle: true, validate: 'first', prefetch: 1 });
  try {
    const b = await l.next();
    const imgs = E.tidy(() => toUint8(E.fromTypedArray(b.images, [b.batchSize, b.channels, resolution, resolution], 'uint8').to('float32'), [0, 255]));
    await writePng(file, makeGrid(imgs, cols));
  } finally {
    await l.close();
  }
}
