/**
 * Network output → pictures: float NCHW in a dynamic range (≈[−1, 1]) → uint8 (x·127.5 + 127.5, rounded and
 * clipped, as the official `convert_images_to_uint8`), grids, and PNG files written atomically with sharp.
 */
import sharp from 'sharp';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { writeFileAtomic } from './atomic.js';

/** uint8 images laid out [N, H, W, C]. */
export interface ImageBatch {
  data: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}

/** Converts [N, C, H, W] floats in `drange` to uint8 NHWC. */
export function toUint8(images: Tensor, drange: [number, number] = [-1, 1]): ImageBatch {
  const [n, c, h, w] = images.shape as [number, number, number, number];
  if (images.ndim !== 4) throw new Error(`expected images [N, C, H, W], got [${images.shape.join(', ')}]`);
  const scale = 255 / (drange[1] - drange[0]);
  const data = E.tidy(() =>
    images.detach().to('float32').sub(drange[0]).mul(scale).add(0.5).floor().clamp(0, 255).to('uint8').permute(0, 2, 3, 1).contiguous().toTypedArray() as Uint8Array,
  );
  return { data, count: n, height: h, width: w, channels: c };
}

/**
 * A grid of `count` cells of width × height × channels in `cols` columns (row-major), with `pad` pixels of
 * `padValue` between cells, filled batch by batch: only the grid itself is held, never the images it is made of.
 */
export class GridCanvas {
  readonly image: ImageBatch;
  constructor(
    readonly count: number,
    readonly cols: number,
    readonly cell: { width: number; height: number; channels: number },
    readonly pad = 0,
    padValue = 0,
  ) {
    const rows = Math.ceil(count / cols);
    const width = cols * cell.width + (cols - 1) * pad;
    const height = rows * cell.height + (rows - 1) * pad;
    this.image = { data: new Uint8Array(width * height * cell.channels).fill(padValue), count: 1, height, width, channels: cell.channels };
  }

  /** Bytes of a grid of `count` cells of `cellBytes` in `cols` columns (no padding). */
  static bytes(count: number, cols: number, cellBytes: number): number {
    return Math.ceil(count / cols) * cols * cellBytes;
  }

  /** Copies the images of `b` into cells `first`, `first + 1`, … */
  paste(b: ImageBatch, first: number): void {
    const { width, channels } = this.image;
    const rowBytes = b.width * b.channels;
    for (let i = 0; i < b.count; i++) {
      const cell = first + i;
      const gx = (cell % this.cols) * (b.width + this.pad);
      const gy = Math.floor(cell / this.cols) * (b.height + this.pad);
      for (let y = 0; y < b.height; y++) {
        const src = (i * b.height + y) * rowBytes;
        this.image.data.set(b.data.subarray(src, src + rowBytes), ((gy + y) * width + gx) * channels);
      }
    }
  }
}

/** Tiles images into a grid of `cols` columns (row-major), with `pad` pixels of `padValue` between cells. */
export function makeGrid(b: ImageBatch, cols: number, pad = 0, padValue = 0): ImageBatch {
  const grid = new GridCanvas(b.count, cols, b, pad, padValue);
  grid.paste(b, 0);
  return grid.image;
}

/** Image `i` of a batch as its own single-image batch (a view). */
export function pick(b: ImageBatch, i: number): ImageBatch {
  const size = b.height * b.width * b.channels;
  return { ...b, data: b.data.subarray(i * size, (i + 1) * size), count: 1 };
}

/** Encodes the first image of a batch as PNG. */
export async function encodePng(b: ImageBatch): Promise<Uint8Array> {
  const size = b.height * b.width * b.channels;
  const raw = Buffer.from(b.data.buffer, b.data.byteOffset, size);
  let img = sharp(raw, { raw: { width: b.width, height: b.height, channels: b.channels as 1 | 2 | 3 | 4 } });
  if (b.channels <= 2) img = img.toColourspace('b-w'); // keep gray images gray (sharp would write sRGB)
  const buf = await img.png().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Writes the first image of a batch as a PNG file (atomically). */
export async function writePng(path: string, b: ImageBatch): Promise<void> {
  await writeFileAtomic(path, await encodePng(b));
}

/** Reads a PNG/JPEG/WebP file into a single-image batch. */
export async function readImage(path: string): Promise<ImageBatch> {
  const meta = await sharp(path).metadata();
  const gray = meta.space === 'b-w' || meta.channels === 1 || meta.channels === 2;
  const { data, info } = await (gray ? sharp(path).toColourspace('b-w') : sharp(path)).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), count: 1, height: info.height, width: info.width, channels: info.channels };
}
