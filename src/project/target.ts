/**
 * A projection target from an image file, as projector.py prepares it: alpha composited over black, converted to the
 * network's channels, centre-cropped to a square (PIL's box ((w − s)//2, (h − s)//2, (w + s)//2, (h + s)//2)) and
 * Lanczos-resized to the network's resolution. Errors name the file.
 */
import { readFile } from 'node:fs/promises';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { decodeImage } from '../data/decode.js';
import { centerCropBox, compositeAlpha, convertChannels, crop, hasAlpha, type Pixels } from '../data/pixels.js';
import { lanczosResize } from '../data/resample.js';
import type { ImageBatch } from '../io/images.js';

export interface ProjectionTarget {
  /** The prepared image (uint8 HWC), as written to target.png. */
  image: ImageBatch;
  /** [C, H, W] float32 in [−1, 1]. */
  tensor: Tensor;
}

/** Prepares decoded pixels for a network of `resolution` and `channels`. */
export function prepareTarget(pixels: Pixels, resolution: number, channels: 1 | 3): ProjectionTarget {
  let p = hasAlpha(pixels) ? compositeAlpha(pixels, 'black') : pixels;
  p = convertChannels(p, channels);
  p = crop(p, centerCropBox(p.width, p.height, 'square'));
  p = lanczosResize(p, resolution, resolution);
  const image: ImageBatch = { data: p.data, count: 1, height: resolution, width: resolution, channels };
  const tensor = E.tidy(() => E.fromTypedArray(p.data, [resolution, resolution, channels]).permute(2, 0, 1).to('float32').div(127.5).sub(1).contiguous());
  return { image, tensor };
}

/** Reads and prepares a target image file. */
export async function loadTarget(path: string, resolution: number, channels: 1 | 3): Promise<ProjectionTarget> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the target image: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return prepareTarget(await decodeImage(bytes, path), resolution, channels);
}
