/**
 * Figure layout on uint8 image batches (NHWC): joining batches, blank cells, crops, nearest-neighbour zoom, gray →
 * colour, and grids whose cells may be left blank (the top-left corner of the style-mixing figure).
 */
import { makeGrid, type ImageBatch } from '../io/images.js';
import { concatArrays } from '../io/concat.js';

const size = (b: ImageBatch) => `${b.width}×${b.height}×${b.channels}`;

/** Concatenates batches of equally sized images, in order. */
export function concatImages(parts: readonly ImageBatch[]): ImageBatch {
  if (parts.length === 0) throw new Error('concatImages: no images');
  const first = parts[0]!;
  const bad = parts.find((p) => p.height !== first.height || p.width !== first.width || p.channels !== first.channels);
  if (bad) throw new Error(`concatImages: ${size(bad)} images cannot join ${size(first)} ones`);
  const count = parts.reduce((a, p) => a + p.count, 0);
  const cell = first.height * first.width * first.channels;
  const data = concatArrays(parts.map((p) => p.data.subarray(0, p.count * cell)));
  return { ...first, data, count };
}

/** One black image of the given size. */
export const blankImage = (width: number, height: number, channels: number): ImageBatch =>
  ({ data: new Uint8Array(width * height * channels), count: 1, width, height, channels });

/** Lays out single images row-major in `cols` columns; null cells stay black. All cells share one size. */
export function assembleGrid(cells: readonly (ImageBatch | null)[], cols: number): ImageBatch {
  const first = cells.find((c): c is ImageBatch => c !== null);
  if (!first) throw new Error('assembleGrid: every cell is blank');
  const blank = blankImage(first.width, first.height, first.channels);
  return makeGrid(concatImages(cells.map((c) => c ?? blank)), cols);
}

/** The rectangle [x, x + w) × [y, y + h) of the first image. */
export function cropImage(b: ImageBatch, { x, y, w, h }: { x: number; y: number; w: number; h: number }): ImageBatch {
  if (x < 0 || y < 0 || w < 1 || h < 1 || x + w > b.width || y + h > b.height || ![x, y, w, h].every(Number.isInteger)) {
    throw new Error(`crop ${w}×${h} at (${x}, ${y}) does not fit a ${b.width}×${b.height} image`);
  }
  const out = new Uint8Array(w * h * b.channels);
  for (let r = 0; r < h; r++) {
    const src = ((y + r) * b.width + x) * b.channels;
    out.set(b.data.subarray(src, src + w * b.channels), r * w * b.channels);
  }
  return { data: out, count: 1, width: w, height: h, channels: b.channels };
}

/** Nearest-neighbour resize of the first image (pixel (x, y) samples source (⌊x·W/w⌋, ⌊y·H/h⌋)). */
export function resizeNearest(b: ImageBatch, w: number, h: number): ImageBatch {
  const c = b.channels;
  const out = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) {
    const sy = Math.floor((y * b.height) / h);
    for (let x = 0; x < w; x++) {
      const s = (sy * b.width + Math.floor((x * b.width) / w)) * c;
      out.set(b.data.subarray(s, s + c), (y * w + x) * c);
    }
  }
  return { data: out, count: 1, width: w, height: h, channels: c };
}

/** A one-channel image repeated into `channels` channels (gray shown in a colour figure). */
export function grayTo(b: ImageBatch, channels: number): ImageBatch {
  if (b.channels !== 1) throw new Error(`grayTo: expected a 1-channel image, got ${b.channels} channels`);
  if (channels === 1) return b;
  const n = b.count * b.width * b.height;
  const out = new Uint8Array(n * channels);
  for (let p = 0; p < n; p++) out.fill(b.data[p]!, p * channels, (p + 1) * channels);
  return { ...b, data: out, channels };
}
