/**
 * The papers' layers as ONNX subgraphs, one function each, from the official variables (TF layouts: dense [in, out],
 * conv [kh, kw, Cin, Cout]) and the documented equalized-learning-rate semantics: the value a layer computes with is
 * the stored weight × gain / sqrt(fan_in) × lrmul (ProGAN §4.1), which is baked into the exported initializers.
 * Values are NCHW; ops are the ones onnxruntime-web runs on both wasm and WebGPU (Resize, not Upsample; noise comes
 * in as graph inputs).
 */
import type { OnnxGraph } from './graph.js';

/** A variable's value in its TF layout. */
export interface WeightArray {
  shape: number[];
  data: Float32Array;
}

/** Looks up an official variable by name (throws naming the variable when missing). */
export type WeightSource = (name: string) => WeightArray;

/** The He coefficient of the equalized learning rate: gain / sqrt(fanIn) · lrmul. */
export const heCoef = (gain: number, fanIn: number, lrmul = 1): number => (gain / Math.sqrt(fanIn)) * lrmul;

/** stored × coef in float32, as the runtime multiplication does it. */
export function scaled(data: Float32Array, coef: number): Float32Array {
  if (coef === 1) return data;
  const c = Math.fround(coef);
  return data.map((v) => v * c);
}

/** Axis permutation of a dense row-major array. */
export function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): WeightArray {
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < perm.length; d++) src += idx[d]! * inStrides[perm[d]!]!;
    out[o] = data[src]!;
    for (let d = perm.length - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return { shape: outShape, data: out };
}

/**
 * The 4×4 kernel of the fused resampling convolutions from a 3×3 one [A, B, k, k]: pad by one and sum the four
 * shifted copies. With a stride-2 transposed convolution this is nearest upscaling followed by the k×k convolution.
 */
export function fusedKernel(w: WeightArray): WeightArray {
  const [a, b, k] = w.shape as [number, number, number, number];
  const K = k + 1;
  const out = new Float32Array(a * b * K * K);
  const at = (plane: number, i: number, j: number) => (i >= 0 && i < k && j >= 0 && j < k ? w.data[plane * k * k + i * k + j]! : 0);
  for (let p = 0; p < a * b; p++) {
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < K; j++) {
        // Same summation order as the libtorch path: (((p11 + p01) + p10) + p00) on the padded kernel.
        let s = Math.fround(at(p, i, j) + at(p, i - 1, j));
        s = Math.fround(s + at(p, i, j - 1));
        out[p * K * K + i * K + j] = s + at(p, i - 1, j - 1);
      }
    }
  }
  return { shape: [a, b, K, K], data: out };
}

/** Leaky ReLU, slope 0.2. */
export const lrelu = (g: OnnxGraph, x: string): string => g.node('LeakyRelu', [x], { attrs: { alpha: { float: 0.2 } } });

/** x / sqrt(mean over channels (axis 1) of x² + ε) (ProGAN §4.2). */
export function pixelNorm(g: OnnxGraph, x: string, eps = 1e-8): string {
  const ms = g.node('ReduceMean', [g.node('Mul', [x, x])], { attrs: { axes: [1], keepdims: 1 } });
  return g.node('Div', [x, g.node('Sqrt', [g.node('Add', [ms, g.scalars('eps', [eps], [])])])]);
}

/** Instance normalization over H, W without affine parameters (AdaIN's normalization), ε inside the root. */
export function instanceNorm(g: OnnxGraph, x: string, eps = 1e-8): string {
  const centered = g.node('Sub', [x, g.node('ReduceMean', [x], { attrs: { axes: [2, 3], keepdims: 1 } })]);
  const variance = g.node('ReduceMean', [g.node('Mul', [centered, centered])], { attrs: { axes: [2, 3], keepdims: 1 } });
  return g.node('Div', [centered, g.node('Sqrt', [g.node('Add', [variance, g.scalars('eps', [eps], [])])])]);
}

/** Fully connected: x [N, in] · (W [in, out] × coef). */
export function dense(g: OnnxGraph, x: string, { name, w, coef }: { name: string; w: WeightArray; coef: number }): string {
  return g.node('MatMul', [x, g.weight(name, scaled(w.data, coef), w.shape)]);
}

/** Adds the bias b × coef on axis 1 of a rank-2 or rank-4 (NCHW) value. */
export function bias(g: OnnxGraph, x: string, { name, b, rank, coef = 1 }: { name: string; b: WeightArray; rank: 2 | 4; coef?: number }): string {
  const dims = rank === 2 ? [b.data.length] : [1, b.data.length, 1, 1];
  return g.node('Add', [x, g.weight(name, scaled(b.data, coef), dims)]);
}

/** k×k convolution, "SAME" zero padding, weight [k, k, Cin, Cout] × coef. */
export function conv2d(g: OnnxGraph, x: string, { name, w, coef }: { name: string; w: WeightArray; coef: number }): string {
  const oihw = permute(scaled(w.data, coef), w.shape, [3, 2, 0, 1]);
  const k = w.shape[0]!;
  const p = (k - 1) >> 1;
  return g.node('Conv', [x, g.weight(name, oihw.data, oihw.shape)], { attrs: { kernel_shape: [k, k], pads: [p, p, p, p] } });
}

/** Nearest-neighbour upscaling by an integer factor (Resize: asymmetric coordinates, floor). */
export function upscale2d(g: OnnxGraph, x: string, factor = 2): string {
  if (factor === 1) return x;
  return g.node('Resize', [x, '', g.scalars('scales', [1, 1, factor, factor])], { attrs: {
    mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor',
  } });
}

/**
 * Upscale ×2 then k×k convolution; fused: the stride-2 transposed convolution with the derived (k+1)×(k+1) kernel.
 * `layout` 'progan' is ProGAN's fused weight [k, k, Cout, Cin]; otherwise [k, k, Cin, Cout].
 */
export function upConv2d(
  g: OnnxGraph, x: string,
  { name, w, coef, fused, layout = 'stylegan' }: { name: string; w: WeightArray; coef: number; fused: boolean; layout?: 'stylegan' | 'progan' },
): string {
  if (!fused) return conv2d(g, upscale2d(g, x), { name, w, coef });
  const iohw = fusedKernel(permute(scaled(w.data, coef), w.shape, layout === 'progan' ? [3, 2, 0, 1] : [2, 3, 0, 1]));
  const K = iohw.shape[2]!;
  return g.node('ConvTranspose', [x, g.weight(name, iohw.data, iohw.shape)], { attrs: { kernel_shape: [K, K], strides: [2, 2], pads: [1, 1, 1, 1] } });
}

/** Depthwise blur with the normalized [1, 2, 1] ⊗ [1, 2, 1] filter, zero padding (StyleGAN, after upsampling). */
export function blur2d(g: OnnxGraph, x: string, channels: number): string {
  const f = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16);
  const kernel = new Float32Array(channels * 9).map((_, i) => f[i % 9]!);
  return g.node('Conv', [x, g.scalars('blur', Array.from(kernel), [channels, 1, 3, 3])], { attrs: {
    kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: channels,
  } });
}

/** x + noise [N, 1, H, W] × per-channel strength [C]. */
export function applyNoise(g: OnnxGraph, x: string, { noise, name, strength }: { noise: string; name: string; strength: WeightArray }): string {
  return g.node('Add', [x, g.node('Mul', [noise, g.weight(name, strength.data, [1, strength.data.length, 1, 1])])]);
}

/**
 * Style modulation (AdaIN's affine part): style = w · A + b with 2C features [ys | yb], then x · (ys + 1) + yb. The
 * affine map is split into its scale and bias halves at export time, so the graph needs no slicing.
 */
export function styleMod(
  g: OnnxGraph, x: string,
  { w, name, A, b, coef, channels }: { w: string; name: string; A: WeightArray; b: WeightArray; coef: number; channels: number },
): string {
  const [din] = A.shape as [number, number];
  const half = (start: number) => {
    const m = new Float32Array(din * channels);
    for (let i = 0; i < din; i++) m.set(A.data.subarray(i * 2 * channels + start, i * 2 * channels + start + channels), i * channels);
    const y = dense(g, w, { name: `${name}/weight_${start ? 'bias' : 'scale'}`, w: { shape: [din, channels], data: m }, coef });
    const yb = bias(g, y, { name: `${name}/bias_${start ? 'bias' : 'scale'}`, b: { shape: [channels], data: b.data.slice(start, start + channels) }, rank: 2 });
    return g.node('Reshape', [yb, g.ints('style_shape', [-1, channels, 1, 1])]);
  };
  const ys = g.node('Add', [half(0), g.scalars('one', [1], [])]);
  return g.node('Add', [g.node('Mul', [x, ys]), half(channels)]);
}

/** ToRGB: linear 1×1 convolution (gain 1) with bias. */
export function toRgb(g: OnnxGraph, x: string, { scope, w, b }: { scope: string; w: WeightArray; b: WeightArray }): string {
  return bias(g, conv2d(g, x, { name: `${scope}/weight`, w, coef: heCoef(1, w.shape[2]!) }), { name: `${scope}/bias`, b, rank: 4 });
}

/** a + (b − a) · t for a constant t in (0, 1) (the fade-in between resolutions). */
export function lerp(g: OnnxGraph, { a, b, t }: { a: string; b: string; t: number }): string {
  return g.node('Add', [a, g.node('Mul', [g.node('Sub', [b, a]), g.scalars('t', [t], [])])]);
}

/**
 * The generator's output at level of detail `lod` (ProGAN §3): the image at the working resolution faded with the
 * upscaled previous one by frac(lod), then nearest-upscaled to full size. `images[r]` is the ToRGB output at 2^r.
 */
export function fadeOutput(g: OnnxGraph, { images, lod, R }: { images: (r: number) => string; lod: number; R: number }): string {
  const workRes = R - Math.floor(lod);
  const frac = lod - Math.floor(lod);
  const img = frac > 0 ? lerp(g, { a: images(workRes), b: upscale2d(g, images(workRes - 1)), t: frac }) : images(workRes);
  return upscale2d(g, img, 2 ** (R - workRes));
}
