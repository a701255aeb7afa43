/**
 * The papers' parameter-free primitives on NCHW tensors: pixel norm, instance norm, blur, nearest upscale, box
 * downscale, minibatch standard deviation, style modulation, noise injection and the fade-in interpolation.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { float32Of } from './autocast.js';

/** Leaky ReLU with slope 0.2 and no output gain (the √2 lives in the He constant of the next layer's weights). */
export const lrelu = (x: Tensor): Tensor => x.leakyRelu(0.2);

/** Pixelwise feature vector normalization: x / sqrt(mean_c(x²) + ε) (ProGAN §4.2). */
export function pixelNorm(x: Tensor, eps = 1e-8): Tensor {
  return E.tidy(() => {
    const y = float32Of(x);
    return y.mul(y.square().mean(1, true).add(eps).rsqrt());
  });
}

/** Instance normalization over H, W per sample and channel, without affine parameters (AdaIN's normalization). */
export function instanceNorm(x: Tensor, eps = 1e-8): Tensor {
  return E.tidy(() => {
    const y = float32Of(x);
    const centered = y.sub(y.mean([2, 3], true));
    return centered.mul(centered.square().mean([2, 3], true).add(eps).rsqrt());
  });
}

/** Nearest-neighbour upscaling by an integer factor. */
export function upscale2d(x: Tensor, factor = 2): Tensor {
  return factor === 1 ? x.clone() : E.upsampleNearest2d(x, factor);
}

/** Box (mean) downscaling by an integer factor. */
export function downscale2d(x: Tensor, factor = 2): Tensor {
  return factor === 1 ? x.clone() : E.avgPool2d(x, factor);
}

const blurKernels = new Map<string, Tensor>();
/** The normalized separable [1, 2, 1] ⊗ [1, 2, 1] / 16 kernel as a depthwise weight [C, 1, 3, 3]. */
function blurKernel(channels: number, dtype: E.DType, device: string): Tensor {
  const key = `${channels}/${dtype}/${device}`;
  let k = blurKernels.get(key);
  if (!k) {
    const f = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16);
    k = E.keep(E.tidy(() => E.tensor(f).reshape(1, 1, 3, 3).to(dtype).to(device).expand(channels, 1, 3, 3).contiguous()));
    blurKernels.set(key, k);
  }
  return k;
}

/**
 * Blur with the [1, 2, 1]² filter, zero ("SAME") padding, per channel (StyleGAN §2, after upsampling). Its gradient
 * is the same blur (the official code's custom gradient), to any order.
 */
export function blur2d(x: Tensor): Tensor {
  return E.symmetricBlur(x, blurKernel(x.shape[1]!, x.dtype, x.device));
}

/**
 * Minibatch standard deviation (ProGAN §3): within groups of `groupSize` samples, the per-feature standard deviation
 * over the group, averaged over channels-per-feature and pixels, appended as `numFeatures` extra channels.
 */
export function minibatchStddev(x: Tensor, groupSize = 4, numFeatures = 1): Tensor {
  return E.tidy(() => {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const g = Math.min(groupSize, n);
    if (n % g !== 0) throw new Error(`minibatch stddev: batch ${n} is not divisible by the group size ${g}`);
    if (c % numFeatures !== 0) throw new Error(`minibatch stddev: ${c} channels are not divisible into ${numFeatures} features`);
    const m = n / g;
    const y = float32Of(x).reshape(g, m, numFeatures, c / numFeatures, h, w);
    const centered = y.sub(y.mean(0, true));
    const std = centered.square().mean(0).add(1e-8).sqrt(); // [M, n, c, H, W]
    const feat = std.mean([2, 3, 4]); // [M, n]
    const tiled = feat.reshape(1, m, numFeatures, 1, 1).expand(g, m, numFeatures, h, w).reshape(n, numFeatures, h, w);
    return E.cat([x, tiled.to(x.dtype)], 1);
  });
}

/** Adds a single-channel noise map [N|1, 1, H, W] scaled by the learned per-channel strength [C]. */
export function applyNoise(x: Tensor, noise: Tensor, strength: Tensor): Tensor {
  return E.tidy(() => x.add(noise.mul(strength.reshape(1, -1, 1, 1))));
}

/** Style modulation (AdaIN's affine part): x · (ys + 1) + yb, where style = [ys | yb] has 2C features per sample. */
export function styleMod(x: Tensor, style: Tensor): Tensor {
  return E.tidy(() => {
    const c = x.shape[1]!;
    const s = style.reshape(-1, 2, c, 1, 1);
    return x.mul(s.select(1, 0).add(1)).add(s.select(1, 1));
  });
}

/** a + (b − a) · clip(t, 0, 1): the fade-in between resolutions. */
export function lerpClip(a: Tensor, b: Tensor, t: number): Tensor {
  const c = Math.min(Math.max(t, 0), 1);
  if (c === 0) return a.clone();
  if (c === 1) return b.clone();
  return a.lerp(b, c);
}

/**
 * The 4×4 kernel of the fused resampling convolutions, from a 3×3 kernel in OIHW or IOHW layout (the last two dims
 * are spatial): pad by one and sum the four shifted copies. With a stride-2 transposed convolution this is nearest
 * upscaling followed by the 3×3 convolution (with the kernel rotated by 180°, a property of the transposed
 * convolution); ×0.25 with a stride-2 convolution it is the 3×3 convolution followed by 2×2 box downscaling.
 */
export function fusedKernel(w: Tensor): Tensor {
  return E.tidy(() => {
    const p = E.pad(w, [1, 1, 1, 1]);
    const k = p.shape[2]!;
    const a = (i: number, j: number) => p.narrow(2, i, k - 1).narrow(3, j, k - 1);
    return a(1, 1).add(a(0, 1)).add(a(1, 0)).add(a(0, 0));
  });
}
