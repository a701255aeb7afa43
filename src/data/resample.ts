/**
 * Resampling of 8-bit images.
 *
 * - `box`: the exact area average. Output pixel x covers the input interval [x·inW/outW, (x+1)·inW/outW) and
 *   averages the input pixels weighted by their overlap with it (separably in x and y). In units of
 *   1/(outW·outH) of an input pixel every overlap is an integer, so the sums are exact integers and the result is
 *   rounded exactly. For an integer factor k this is the plain mean of each k×k block, which is what PIL's BOX
 *   filter (stylegan2-ada-pytorch's `--resize-filter=box`) computes. sharp has no box kernel, hence our own.
 * - `lanczos`: Lanczos-3 convolution as PIL's LANCZOS computes it (`lanczosResize`), stylegan2-ada-pytorch's
 *   default `--resize-filter`.
 * - `downscaleLod`: the lower levels of detail of a dataset. The official ProGAN/StyleGAN dataset_tool averages
 *   2×2 blocks repeatedly in float32 *without* re-quantising between levels, and stores each level as
 *   `np.rint(x).clip(0, 255)` in uint8. Those float32 sums are exact (multiples of 4^-k below 256 need at most
 *   8 + 2k mantissa bits), so level k is the exact mean of each 2^k × 2^k block, rounded half to even; that is
 *   what `downscaleLod` computes, with integers.
 */
import type { Pixels } from './pixels.js';

export type ResizeFilter = 'lanczos' | 'box';
/** How an exact average v = S/D is quantised: PIL rounds half up; numpy's `rint` rounds half to even. */
export type Rounding = 'half-up' | 'half-even';

/** Overlap weights of one axis: output i takes inputs start[i] … start[i] + count[i] − 1 with weight[offset[i] + j]. */
interface AxisWeights {
  start: Int32Array;
  count: Int32Array;
  offset: Int32Array;
  weight: Float64Array;
}

function axisWeights(inSize: number, outSize: number): AxisWeights {
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const offset = new Int32Array(outSize);
  const weights: number[] = [];
  for (let o = 0; o < outSize; o++) {
    // Output o spans [o·inSize, (o+1)·inSize); input i spans [i·outSize, (i+1)·outSize).
    const lo = o * inSize;
    const hi = (o + 1) * inSize;
    const first = Math.floor(lo / outSize);
    const last = Math.ceil(hi / outSize) - 1;
    start[o] = first;
    count[o] = last - first + 1;
    offset[o] = weights.length;
    for (let i = first; i <= last; i++) weights.push(Math.min(hi, (i + 1) * outSize) - Math.max(lo, i * outSize));
  }
  return { start, count, offset, weight: Float64Array.from(weights) };
}

/** Quantises S / D for non-negative integers S, D (exactly, for S < 2^53). */
function roundRatio(sum: number, divisor: number, rounding: Rounding): number {
  const q = Math.floor(sum / divisor);
  const twiceRest = 2 * (sum - q * divisor);
  if (twiceRest > divisor || (twiceRest === divisor && (rounding === 'half-up' || (q & 1) === 1))) return q + 1;
  return q;
}

/**
 * The exact area-average resampler for one pair of sizes, reusable across images. Works on interleaved pixels
 * (HWC) with any channel count; planar data is resampled plane by plane with `channels` = 1.
 */
export class AreaResampler {
  private readonly x: AxisWeights;
  private readonly y: AxisWeights;
  private rows = new Float64Array(0);

  readonly inWidth: number;
  readonly inHeight: number;
  readonly outWidth: number;
  readonly outHeight: number;

  /** Resamples images of size `input` to size `output`. */
  constructor(input: { width: number; height: number }, output: { width: number; height: number }) {
    this.inWidth = input.width;
    this.inHeight = input.height;
    this.outWidth = output.width;
    this.outHeight = output.height;
    this.x = axisWeights(input.width, output.width);
    this.y = axisWeights(input.height, output.height);
  }

  /** Resamples `src` (at `srcOffset`) into `dst` (at `dstOffset`). */
  run(src: Uint8Array, dst: Uint8Array, { srcOffset, dstOffset, channels, rounding }: { srcOffset: number; dstOffset: number; channels: number; rounding: Rounding }): void {
    const { inHeight, inWidth, outWidth, outHeight, x, y } = this;
    const rowLength = outWidth * channels;
    if (this.rows.length < inHeight * rowLength) this.rows = new Float64Array(inHeight * rowLength);
    const rows = this.rows;
    for (let r = 0; r < inHeight; r++) {
      const inRow = srcOffset + r * inWidth * channels;
      for (let o = 0; o < outWidth; o++) {
        for (let c = 0; c < channels; c++) {
          let sum = 0;
          for (let j = 0; j < x.count[o]; j++) sum += x.weight[x.offset[o] + j] * src[inRow + (x.start[o] + j) * channels + c];
          rows[r * rowLength + o * channels + c] = sum;
        }
      }
    }
    const divisor = inWidth * inHeight;
    for (let o = 0; o < outHeight; o++) {
      for (let k = 0; k < rowLength; k++) {
        let sum = 0;
        for (let j = 0; j < y.count[o]; j++) sum += y.weight[y.offset[o] + j] * rows[(y.start[o] + j) * rowLength + k];
        dst[dstOffset + o * rowLength + k] = roundRatio(sum, divisor, rounding);
      }
    }
  }
}

/** Box (area-average) resize of an HWC image, rounded half up like PIL. */
export function boxResize(image: Pixels, width: number, height: number): Pixels {
  const out = new Uint8Array(width * height * image.channels);
  new AreaResampler(image, { width, height }).run(image.data, out, { srcOffset: 0, dstOffset: 0, channels: image.channels, rounding: 'half-up' });
  return { width, height, channels: image.channels, data: out };
}

/** Fixed-point fraction bits of the convolution weights (PIL's PRECISION_BITS for 8-bit images). */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/** The Lanczos window a = 3: sinc(x)·sinc(x/3) on [−3, 3). */
function lanczos3(x: number): number {
  return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}
const LANCZOS3_SUPPORT = 3;

/** Fixed-point convolution weights of one axis: output i takes inputs start[i] … start[i] + count[i] − 1. */
function lanczosWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // widen the kernel when shrinking (antialiasing)
  const support = LANCZOS3_SUPPORT * filterScale;
  const inverse = 1 / filterScale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const offset = new Int32Array(outSize);
  const weights: number[] = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale; // pixel centers line up: output o ↔ input coordinate (o + ½)·scale
    const first = Math.max(0, Math.trunc(center - support + 0.5));
    const end = Math.min(inSize, Math.trunc(center + support + 0.5));
    const taps: number[] = [];
    let total = 0;
    for (let i = first; i < end; i++) {
      const w = lanczos3((i - center + 0.5) * inverse);
      taps.push(w);
      total += w;
    }
    start[o] = first;
    count[o] = taps.length;
    offset[o] = weights.length;
    for (const w of taps) {
      const normalized = total !== 0 ? w / total : 0;
      weights.push(normalized < 0 ? Math.trunc(-0.5 + normalized * ONE) : Math.trunc(0.5 + normalized * ONE));
    }
  }
  return { start, count, offset, weight: Float64Array.from(weights) };
}

/** One separable pass: resamples along x (`horizontal`) or y with fixed-point weights, rounding to uint8. */
function convolvePass(image: Pixels, weights: AxisWeights, { outSize, horizontal }: { outSize: number; horizontal: boolean }): Pixels {
  const { width, height, channels, data } = image;
  const outWidth = horizontal ? outSize : width;
  const outHeight = horizontal ? height : outSize;
  const out = new Uint8Array(outWidth * outHeight * channels);
  // Step between neighbouring taps and between output lines, in samples.
  const tapStride = horizontal ? channels : width * channels;
  const lines = horizontal ? height : width;
  const lineStride = horizontal ? width * channels : channels;
  const outLineStride = horizontal ? outWidth * channels : channels;
  const outStep = horizontal ? channels : outWidth * channels;
  for (let line = 0; line < lines; line++) {
    for (let o = 0; o < outSize; o++) {
      const base = line * lineStride + weights.start[o] * tapStride;
      for (let c = 0; c < channels; c++) {
        let sum = ONE / 2;
        for (let j = 0; j < weights.count[o]; j++) sum += data[base + j * tapStride + c] * weights.weight[weights.offset[o] + j];
        const value = Math.floor(sum / ONE);
        out[line * outLineStride + o * outStep + c] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
  }
  return { width: outWidth, height: outHeight, channels, data: out };
}

/**
 * Lanczos-3 resize of an HWC image, the convolution resampler PIL uses for `Image.LANCZOS` (the default filter
 * of stylegan2-ada-pytorch's dataset_tool): pixel centers aligned, the kernel stretched by the scale factor when
 * shrinking, weights normalised to sum 1 and held in 22-bit fixed point, and the image resampled first along x,
 * rounded to uint8, then along y. (sharp's lanczos3 shifts upscaled images by about half a pixel, so it is not
 * used.)
 */
export function lanczosResize(image: Pixels, width: number, height: number): Pixels {
  let out = image;
  if (width !== image.width) out = convolvePass(out, lanczosWeights(image.width, width), { outSize: width, horizontal: true });
  if (height !== image.height) out = convolvePass(out, lanczosWeights(image.height, height), { outSize: height, horizontal: false });
  return out;
}

/** Resizes an image with the chosen filter (no-op when the size already matches). */
export function resize(image: Pixels, { width, height, filter }: { width: number; height: number; filter: ResizeFilter }): Pixels {
  if (image.width === width && image.height === height) return image;
  return filter === 'box' ? boxResize(image, width, height) : lanczosResize(image, width, height);
}

/**
 * Level-of-detail downscale of `planes` square planes of `size`×`size` (stored one after another, e.g. an
 * [N, C, H, W] array has N·C planes) to `target`×`target`: each output pixel is the mean of its
 * (size/target)² block, rounded half to even (see the module comment).
 */
export function downscaleLod(src: Uint8Array, { planes, size, target }: { planes: number; size: number; target: number }): Uint8Array {
  if (target === size) return src;
  if (target > size || size % target !== 0) throw new Error(`downscaleLod: cannot downscale ${size} to ${target}`);
  const out = new Uint8Array(planes * target * target);
  const resampler = new AreaResampler({ width: size, height: size }, { width: target, height: target });
  for (let p = 0; p < planes; p++) resampler.run(src, out, { srcOffset: p * size * size, dstOffset: p * target * target, channels: 1, rounding: 'half-even' });
  return out;
}
