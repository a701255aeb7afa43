/**
 * Decoding image files (PNG, JPEG, WebP, …) to 8-bit pixels with their natural channel count: 1 gray,
 * 2 gray+alpha, 3 RGB, 4 RGBA. 8-bit PNGs take our own fast path (png.ts); everything else goes through sharp.
 * 16-bit images are reduced to 8 bits by sharp; palette images become RGB (or RGBA with transparency).
 */
import type { Metadata, Sharp, SharpOptions } from 'sharp';
import { decodePng, fastPngChannels, readPngHeader } from './png.js';
import type { Pixels } from './pixels.js';
import { checkImageSize, MAX_IMAGE_PIXELS } from '../io/limits.js';

let sharpModule: Promise<(input: Uint8Array, options?: SharpOptions) => Sharp> | null = null;
/** sharp, loaded on first use: PNG datasets never need it, and loading it costs a worker thread ~250 ms. */
function loadSharp(): Promise<(input: Uint8Array, options?: SharpOptions) => Sharp> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}

/** Width, height and decoded channel count of an image, from its header. */
export interface ImageHeader {
  width: number;
  height: number;
  channels: number;
}

function describe(err: unknown): string {
  return (err as Error).message.replace(/:\s*$/, '');
}

/** Reads the header of an image file. `bytes` may be just the start of the file when it is a PNG (33 bytes). */
export async function readImageHeader(bytes: Uint8Array, name: string): Promise<ImageHeader> {
  const png = readPngHeader(bytes);
  if (png) {
    checkImageSize(png.width, png.height, name);
    const channels = fastPngChannels(png);
    if (channels !== null) return { width: png.width, height: png.height, channels };
  }
  const sharp = await loadSharp();
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata();
  } catch (err) {
    throw new Error(`${name}: cannot read image (${describe(err)})`);
  }
  if (!meta.width || !meta.height) throw new Error(`${name}: cannot read image size`);
  checkImageSize(meta.width, meta.height, name);
  const gray = (meta.channels ?? 3) <= 2;
  return { width: meta.width, height: meta.height, channels: (gray ? 1 : 3) + (meta.hasAlpha ? 1 : 0) };
}

/** Whether `readImageHeader` needs the whole file for these first bytes (anything but a fast-path PNG). */
export function headerNeedsWholeFile(head: Uint8Array): boolean {
  const png = readPngHeader(head);
  return !png || fastPngChannels(png) === null;
}

/** Decodes an image file. Errors name the file. */
export async function decodeImage(bytes: Uint8Array, name: string): Promise<Pixels> {
  const png = readPngHeader(bytes);
  if (png) {
    checkImageSize(png.width, png.height, name);
    const fast = decodePng(bytes, name);
    if (fast) return fast;
  }
  const sharp = await loadSharp();
  try {
    const image = sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS });
    const meta = await image.metadata();
    const gray = (meta.channels ?? 3) <= 2;
    // sharp returns gray images as sRGB unless asked for b-w; b-w would drop an alpha channel, so gray+alpha is
    // decoded as RGBA (R = G = B) and reduced to gray+alpha below.
    const { data, info } = await image
      .toColourspace(gray && !meta.hasAlpha ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const pixels: Pixels = {
      width: info.width,
      height: info.height,
      channels: info.channels,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
    if (gray && meta.hasAlpha && info.channels === 4) {
      const n = info.width * info.height;
      const out = new Uint8Array(2 * n);
      for (let p = 0; p < n; p++) {
        out[2 * p] = pixels.data[4 * p];
        out[2 * p + 1] = pixels.data[4 * p + 3];
      }
      return { width: info.width, height: info.height, channels: 2, data: out };
    }
    return pixels;
  } catch (err) {
    throw new Error(`${name}: cannot decode image (${describe(err)})`);
  }
}
