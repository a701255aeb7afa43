/**
 * Network output → pictures: float NCHW in a dynamic range (≈[−1, 1]) → uint8 (x·127.5 + 127.5, rounded and
 * clipped, as the official `convert_images_to_uint8`), grids, and PNG files written atomically with sharp.
 */
import { extname } from 'node:path';
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
  const data = E.tidy(() => {
    const x = images.detach();
    return E.toUint8Images(x.device === 'cpu' && x.dtype === 'float32' ? x : x.to('float32').to('cpu'), drange[0], scale).toTypedArray() as Uint8Array;
  });
  return { data, count: n, height: h, width: w, channels: c };
}

/**
 * A grid of `count` cells of width × height × channels in `cols` columns (row-major), with `pad` pixels of
 * `padValue` between cells, filled batch by batch: only the grid itself is held, never the images it is made of.
 */
export class GridCanvas {
  readonly image: ImageBatch;
  readonly count: number;
  readonly cols: number;
  readonly cell: { width: number; height: number; channels: number };
  readonly pad: number;
  constructor(
    { count, cols, cell, pad = 0, padValue = 0 }:
    { count: number; cols: number; cell: { width: number; height: number; channels: number }; pad?: number; padValue?: number },
  ) {
    this.count = count;
    this.cols = cols;
    this.cell = cell;
    this.pad = pad;
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
export function makeGrid(b: ImageBatch, cols: number, { pad = 0, padValue = 0 }: { pad?: number; padValue?: number } = {}): ImageBatch {
  const grid = new GridCanvas({ count: b.count, cols, cell: b, pad, padValue });
  grid.paste(b, 0);
  return grid.image;
}

/** Image `i` of a batch as its own single-image batch (a view). */
export function pick(b: ImageBatch, i: number): ImageBatch {
  const size = b.height * b.width * b.channels;
  return { ...b, data: b.data.subarray(i * size, (i + 1) * size), count: 1 };
}

/** Every image of a batch enlarged `n` times, nearest neighbour (each pixel becomes an n×n block). */
export function zoomImages(b: ImageBatch, n: number): ImageBatch {
  if (!Number.isInteger(n) || n < 1) throw new Error(`zoom must be an integer ≥ 1, got ${n}`);
  if (n === 1) return b;
  const [w, c] = [b.width * n, b.channels];
  const out = new Uint8Array(b.count * b.height * n * w * c);
  const row = new Uint8Array(w * c);
  for (let i = 0; i < b.count; i++) {
    for (let y = 0; y < b.height; y++) {
      const src = ((i * b.height + y) * b.width) * c;
      for (let x = 0; x < b.width; x++) for (let k = 0; k < n; k++) row.set(b.data.subarray(src + x * c, src + x * c + c), (x * n + k) * c);
      for (let k = 0; k < n; k++) out.set(row, ((i * b.height + y) * n + k) * w * c);
    }
  }
  return { data: out, count: b.count, height: b.height * n, width: w, channels: c };
}

/** The image file formats written, by extension. */
export type ImageFormat = 'png' | 'jpeg';

/** The format of an image file name (.png, .jpg, .jpeg); anything else is refused. */
export function imageFormat(path: string): ImageFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  throw new Error(`${path}: unknown image format '${ext || '(no extension)'}'; use .png, .jpg or .jpeg`);
}

function single(b: ImageBatch, what: string): void {
  if (b.count !== 1) throw new Error(`${what}: a batch of ${b.count} images; write a grid (makeGrid) or each image (pick)`);
}

/** Encodes a single-image batch as PNG (lossless) or JPEG (quality 95). */
export async function encodeImage(b: ImageBatch, format: ImageFormat = 'png'): Promise<Uint8Array> {
  single(b, `encode ${format}`);
  const size = b.height * b.width * b.channels;
  const raw = Buffer.from(b.data.buffer, b.data.byteOffset, size);
  let img = sharp(raw, { raw: { width: b.width, height: b.height, channels: b.channels as 1 | 2 | 3 | 4 } });
  if (b.channels <= 2) img = img.toColourspace('b-w'); // keep gray images gray (sharp would write sRGB)
  const buf = await (format === 'png' ? img.png() : img.jpeg({ quality: 95 })).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Encodes a single-image batch as PNG. */
export const encodePng = (b: ImageBatch): Promise<Uint8Array> => encodeImage(b, 'png');

/**
 * Writes a single-image batch (a batch of several is refused: write a grid or each image) as PNG or JPEG by the
 * file's extension, atomically, creating missing folders.
 */
export async function writeImage(path: string, b: ImageBatch): Promise<void> {
  const format = imageFormat(path);
  single(b, path);
  await writeFileAtomic(path, await encodeImage(b, format));
}

/** Writes a single-image batch as a PNG file (atomically, creating missing folders); see `writeImage`. */
export async function writePng(path: string, b: ImageBatch): Promise<void> {
  if (imageFormat(path) !== 'png') throw new Error(`${path}: writePng writes PNG; name the file .png or use writeImage`);
  await writeImage(path, b);
}

/** Reads a PNG/JPEG/WebP file into a single-image batch. */
export async function readImage(path: string): Promise<ImageBatch> {
  const meta = await sharp(path).metadata();
  const gray = meta.space === 'b-w' || meta.channels === 1 || meta.channels === 2;
  const { data, info } = await (gray ? sharp(path).toColourspace('b-w') : sharp(path)).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), count: 1, height: info.height, width: info.width, channels: info.channels };
}
