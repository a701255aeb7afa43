/**
 * Pixel-level operations on 8-bit images: alpha compositing, gray/RGB conversion, center crops, canvases, layout
 * changes (HWC ↔ CHW) and the horizontal flip used for mirror augmentation. All of them are exact integer
 * formulas, documented where they are defined.
 */

/** An 8-bit image in row-major, channel-interleaved order (HWC): 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
export interface Pixels {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** The colour that transparent pixels are composited over (and that fills the bars of a wide crop). */
export type Background = 'black' | 'white';

export function backgroundValue(background: Background): number {
  return background === 'white' ? 255 : 0;
}

export function hasAlpha(image: Pixels): boolean {
  return image.channels === 2 || image.channels === 4;
}

/**
 * Composites an image with alpha over a uniform background: out = round((c·a + bg·(255 − a)) / 255), i.e.
 * `floor((c·a + bg·(255 − a) + 127) / 255)` (exact; 255 is odd so no value falls on .5). Gray+alpha becomes gray,
 * RGBA becomes RGB; images without alpha are returned unchanged.
 */
export function compositeAlpha(image: Pixels, background: Background): Pixels {
  if (!hasAlpha(image)) return image;
  const bg = backgroundValue(background);
  const colour = image.channels - 1;
  const n = image.width * image.height;
  const out = new Uint8Array(n * colour);
  const src = image.data;
  for (let p = 0; p < n; p++) {
    const a = src[p * image.channels + colour];
    for (let c = 0; c < colour; c++) {
      out[p * colour + c] = Math.floor((src[p * image.channels + c] * a + bg * (255 - a) + 127) / 255);
    }
  }
  return { width: image.width, height: image.height, channels: colour, data: out };
}

/** Whether an RGB image has R = G = B everywhere (a grayscale picture stored as RGB). Gray images are gray. */
export function isGrayContent(image: Pixels): boolean {
  if (image.channels === 1) return true;
  const d = image.data;
  for (let i = 0; i < d.length; i += 3) if (d[i] !== d[i + 1] || d[i] !== d[i + 2]) return false;
  return true;
}

/**
 * Converts a gray or RGB image (no alpha) to 1 or 3 channels. RGB → gray is ITU-R BT.601 luma
 * Y ≈ 0.299 R + 0.587 G + 0.114 B in the 16-bit fixed point of PIL's `convert('L')`:
 * Y = (19595 R + 38470 G + 7471 B + 32768) >> 16, so gray datasets match those made with PIL.
 * Gray → RGB repeats the value.
 */
export function convertChannels(image: Pixels, channels: 1 | 3): Pixels {
  if (hasAlpha(image)) throw new Error('convertChannels: composite the alpha channel first');
  if (image.channels === channels) return image;
  const n = image.width * image.height;
  const src = image.data;
  const out = new Uint8Array(n * channels);
  if (channels === 1) {
    for (let p = 0; p < n; p++) {
      out[p] = (19595 * src[3 * p] + 38470 * src[3 * p + 1] + 7471 * src[3 * p + 2] + 32768) >>> 16;
    }
  } else {
    for (let p = 0; p < n; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = src[p];
  }
  return { width: image.width, height: image.height, channels, data: out };
}

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * The centered crop of a `width`×`height` image with aspect 1:1 (`square`) or 2:1 (`wide`, width twice the
 * height). The crop is as large as possible; the leftover is split with the extra pixel on the right / bottom,
 * like stylegan2-ada-pytorch's `img[(h - s) // 2 : (h + s) // 2, ...]`. For `wide`, an image narrower than 2:1
 * keeps its full width and gets height ⌊width / 2⌋.
 */
export function centerCropBox(width: number, height: number, aspect: 'square' | 'wide'): CropBox {
  let cropWidth: number;
  let cropHeight: number;
  if (aspect === 'square') {
    cropWidth = cropHeight = Math.min(width, height);
  } else if (width >= 2 * height) {
    cropWidth = 2 * height;
    cropHeight = height;
  } else {
    cropWidth = width;
    cropHeight = Math.max(1, Math.floor(width / 2));
  }
  return {
    left: Math.floor((width - cropWidth) / 2),
    top: Math.floor((height - cropHeight) / 2),
    width: cropWidth,
    height: cropHeight,
  };
}

/** Copies a rectangle out of an image. */
export function crop(image: Pixels, box: CropBox): Pixels {
  if (box.left === 0 && box.top === 0 && box.width === image.width && box.height === image.height) return image;
  const { channels } = image;
  const out = new Uint8Array(box.width * box.height * channels);
  const rowBytes = box.width * channels;
  for (let y = 0; y < box.height; y++) {
    const from = ((box.top + y) * image.width + box.left) * channels;
    out.set(image.data.subarray(from, from + rowBytes), y * rowBytes);
  }
  return { width: box.width, height: box.height, channels, data: out };
}

/**
 * Places an image on a `size`×`size` canvas of the background colour, horizontally at the left edge and with its
 * top row at `top` (the wide crop puts a size × size/2 image at top = size/4).
 */
export function placeOnCanvas(image: Pixels, { size, top, background }: { size: number; top: number; background: Background }): Pixels {
  const { channels } = image;
  const out = new Uint8Array(size * size * channels).fill(backgroundValue(background));
  const rowBytes = image.width * channels;
  for (let y = 0; y < image.height; y++) {
    out.set(image.data.subarray(y * rowBytes, (y + 1) * rowBytes), ((top + y) * size) * channels);
  }
  return { width: size, height: size, channels, data: out };
}

/** Writes an HWC image into `dst` at `offset` in CHW (planar) order. */
export function hwcToChw(image: Pixels, dst: Uint8Array, offset = 0): void {
  const { channels, data } = image;
  const plane = image.width * image.height;
  if (channels === 1) {
    dst.set(data, offset);
    return;
  }
  for (let c = 0; c < channels; c++) {
    const base = offset + c * plane;
    for (let p = 0; p < plane; p++) dst[base + p] = data[p * channels + c];
  }
}

/**
 * Copies one CHW image of `channels` × `size` × `size` from `src` to `dst`, mirrored left–right when `flipX`
 * (dst[c, y, x] = src[c, y, size − 1 − x]).
 */
export function copyChw(
  src: Uint8Array, dst: Uint8Array, { srcOffset, dstOffset, channels, size, flipX }: { srcOffset: number; dstOffset: number; channels: number; size: number; flipX: boolean },
): void {
  const length = channels * size * size;
  if (!flipX) {
    dst.set(src.subarray(srcOffset, srcOffset + length), dstOffset);
    return;
  }
  for (let row = 0; row < channels * size; row++) {
    const from = srcOffset + row * size;
    const to = dstOffset + row * size + size - 1;
    for (let x = 0; x < size; x++) dst[to - x] = src[from + x];
  }
}
