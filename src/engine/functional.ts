/**
 * Tensor creation and the functional operations (convolution, pooling, resampling, concatenation) in libtorch's
 * argument order with PyTorch's defaults.
 *
 * Functions here keep libtorch's positional signatures (e.g. `conv2d(input, weight, bias, stride, padding, …)`), also
 * beyond three parameters: a mechanical mirror is exempt from the project's named-options rule.
 */
import { native, type DType, type MemoryFormat } from './native.js';
import { Tensor, wrap, itemSize } from './tensor.js';
import type { Generator } from './random.js';
import { noteMutation } from './mutation.js';

export interface CreateOptions {
  dtype?: DType;
  device?: string;
  /** Random stream; the global generator when omitted. */
  generator?: Generator;
  requiresGrad?: boolean;
}

function finish(t: Tensor, o: CreateOptions): Tensor {
  return o.requiresGrad ? t.requiresGrad_(true) : t;
}
const gen = (o: CreateOptions) => o.generator?.handle ?? null;

export const zeros = (shape: readonly number[], o: CreateOptions = {}) => finish(wrap(native.zeros([...shape], o.dtype, o.device)), o);
export const ones = (shape: readonly number[], o: CreateOptions = {}) => finish(wrap(native.ones([...shape], o.dtype, o.device)), o);
export const empty = (shape: readonly number[], o: CreateOptions = {}) => finish(wrap(native.empty([...shape], o.dtype, o.device)), o);
export const full = (shape: readonly number[], value: number, o: CreateOptions = {}) =>
  finish(wrap(native.full([...shape], value, o.dtype, o.device)), o);
export const scalar = (value: number, o: CreateOptions = {}) => full([], value, o);
export function arange(start: number, end?: number, step = 1, o: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  return finish(wrap(native.arange(start, end, step, o.dtype ?? (Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step) ? 'int64' : 'float32'), o.device)), o);
}
export const linspace = (start: number, end: number, steps: number, o: CreateOptions = {}) =>
  finish(wrap(native.linspace(start, end, steps, o.dtype, o.device)), o);
/** Standard normal samples. */
export const randn = (shape: readonly number[], o: CreateOptions = {}) =>
  finish(wrap(native.randn([...shape], o.dtype, o.device, gen(o))), o);
/** Uniform samples in [0, 1). */
export const rand = (shape: readonly number[], o: CreateOptions = {}) =>
  finish(wrap(native.rand([...shape], o.dtype, o.device, gen(o))), o);
export const randint = (low: number, high: number, shape: readonly number[], o: CreateOptions = {}) =>
  wrap(native.randint(low, high, [...shape], o.dtype ?? 'int64', o.device, gen(o)));
export const randperm = (n: number, o: CreateOptions = {}) => wrap(native.randperm(n, o.dtype ?? 'int64', o.device, gen(o)));
/** Fills `t` in place with N(mean, std²) samples. */
export function normal_(t: Tensor, mean = 0, std = 1, generator?: Generator): Tensor {
  native.normal_(t.handle, mean, std, generator?.handle ?? null);
  noteMutation();
  return t;
}
export function uniform_(t: Tensor, from = 0, to = 1, generator?: Generator): Tensor {
  native.uniform_(t.handle, from, to, generator?.handle ?? null);
  noteMutation();
  return t;
}
export const bernoulli = (p: Tensor, generator?: Generator) => wrap(native.bernoulli(p.handle, generator?.handle ?? null));

const typedDtype = (a: ArrayBufferView): DType | undefined => {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return 'uint8';
  return undefined;
};

/**
 * A CPU tensor holding a copy of `data` (one memcpy). The dtype defaults to the typed array's; raw bytes
 * (Uint8Array / Uint16Array) can be reinterpreted as any dtype of matching size, e.g. float16 bits.
 */
export function fromTypedArray(data: ArrayBufferView, shape: readonly number[], dtype?: DType): Tensor {
  const d = dtype ?? typedDtype(data);
  if (!d) throw new Error(`fromTypedArray: cannot infer a dtype from ${data.constructor.name}; pass one`);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel * itemSize[d] !== data.byteLength) {
    throw new Error(`fromTypedArray: ${data.byteLength} bytes cannot hold shape [${shape.join(', ')}] of ${d} (${numel * itemSize[d]} bytes)`);
  }
  return wrap(native.fromBuffer(data, d, [...shape]));
}

/** A float32 tensor from nested number arrays or a flat array with a shape. */
export function tensor(values: number[] | number[][] | number[][][] | number[][][][], shape?: readonly number[], dtype: DType = 'float32'): Tensor {
  const inferred: number[] = [];
  let v: unknown = values;
  while (Array.isArray(v)) {
    inferred.push(v.length);
    v = v[0];
  }
  const flat = (values as unknown[]).flat(Infinity) as number[];
  const f32 = fromTypedArray(Float32Array.from(flat), shape ?? inferred);
  if (dtype === 'float32') return f32;
  const out = f32.to(dtype);
  f32.dispose();
  return out;
}

/** One-hot rows [N, numClasses] (float32) for class indices, as torch.nn.functional.one_hot(...).float(). */
export function oneHot(classes: ArrayLike<number>, numClasses: number, device = 'cpu'): Tensor {
  const a = new Float32Array(classes.length * numClasses);
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new Error(`oneHot: class ${c} is outside 0…${numClasses - 1}`);
    a[i * numClasses + c] = 1;
  }
  const t = wrap(native.fromBuffer(a, 'float32', [classes.length, numClasses]));
  if (device === 'cpu') return t;
  const moved = t.to(device);
  t.dispose();
  return moved;
}

export const cat = (ts: readonly Tensor[], dim = 0) => wrap(native.cat(ts.map((t) => t.handle), dim));
export const stack = (ts: readonly Tensor[], dim = 0) => wrap(native.stack(ts.map((t) => t.handle), dim));
export const where = (cond: Tensor, a: Tensor | number, b: Tensor | number) =>
  wrap(native.where(cond.handle, typeof a === 'number' ? a : a.handle, typeof b === 'number' ? b : b.handle));

export interface Conv2dOptions {
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  groups?: number;
}
const pair = (v: number | number[] | undefined, d: number): number[] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v);

/** 2-D convolution; weight [Cout, Cin/groups, kh, kw]. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  return wrap(native.conv2d(x.handle, weight.handle, bias?.handle ?? null, pair(o.stride, 1), pair(o.padding, 0), pair(o.dilation, 1), o.groups ?? 1));
}
/** Transposed 2-D convolution; weight [Cin, Cout/groups, kh, kw]. */
export function convTranspose2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions & { outputPadding?: number | number[] } = {}): Tensor {
  return wrap(native.convTranspose2d(x.handle, weight.handle, bias?.handle ?? null, pair(o.stride, 1), pair(o.padding, 0), pair(o.outputPadding, 0), o.groups ?? 1, pair(o.dilation, 1)));
}
/** x·Wᵀ + b with W [out, in]. */
export const linear = (x: Tensor, weight: Tensor, bias: Tensor | null = null) => wrap(native.linear(x.handle, weight.handle, bias?.handle ?? null));
export const matmul = (a: Tensor, b: Tensor) => a.matmul(b);
export function avgPool2d(x: Tensor, kernel: number | number[], o: { stride?: number | number[]; padding?: number | number[]; ceilMode?: boolean; countIncludePad?: boolean } = {}): Tensor {
  const k = pair(kernel, 1);
  return wrap(native.avgPool2d(x.handle, k, o.stride === undefined ? k : pair(o.stride, 1), pair(o.padding, 0), o.ceilMode ?? false, o.countIncludePad ?? true));
}
export function maxPool2d(x: Tensor, kernel: number | number[], o: { stride?: number | number[]; padding?: number | number[] } = {}): Tensor {
  const k = pair(kernel, 1);
  return wrap(native.maxPool2d(x.handle, k, o.stride === undefined ? k : pair(o.stride, 1), pair(o.padding, 0)));
}
export const adaptiveAvgPool2d = (x: Tensor, size: number | number[]) => wrap(native.adaptiveAvgPool2d(x.handle, pair(size, 1)));
/** Nearest-neighbour upsampling by an integer factor (or to an explicit [h, w]). */
export function upsampleNearest2d(x: Tensor, factorOrSize: number | [number, number]): Tensor {
  const [, , hh, ww] = x.shape as [number, number, number, number];
  const size = typeof factorOrSize === 'number' ? [hh * factorOrSize, ww * factorOrSize] : factorOrSize;
  return wrap(native.upsampleNearest2d(x.handle, size));
}
export const upsampleBilinear2d = (x: Tensor, size: [number, number], alignCorners = false) =>
  wrap(native.upsampleBilinear2d(x.handle, size, alignCorners));
/** Constant padding; `pad` lists (before, after) pairs starting from the last dim, as torch.nn.functional.pad. */
export const pad = (x: Tensor, padding: number[], mode: 'constant' | 'reflect' | 'replicate' = 'constant', value = 0): Tensor =>
  mode === 'constant'
    ? wrap(native.constantPad(x.handle, padding, value))
    : wrap(mode === 'reflect' ? native.reflectionPad2d(x.handle, padding) : native.replicationPad2d(x.handle, padding));
export const softmax = (x: Tensor, dim: number) => wrap(native.softmax(x.handle, dim));
export const logSoftmax = (x: Tensor, dim: number) => wrap(native.logSoftmax(x.handle, dim));
/** Mean negative log-likelihood of int64 class targets under log-probabilities [N, C]. */
export const nllLoss = (logp: Tensor, target: Tensor) => wrap(native.nllLoss(logp.handle, target.handle));
/** Eigen-decomposition of a symmetric matrix: [eigenvalues ascending, eigenvectors as columns]. */
export function eigh(a: Tensor): [Tensor, Tensor] {
  const [l, q] = native.linalgEigh(a.handle);
  return [wrap(l), wrap(q)];
}

export interface FusedEpilogueOptions {
  /** Noise map [N|1, 1, H, W] and its per-channel strength [C]. */
  noise?: { map: Tensor; strength: Tensor } | null;
  /** Per-channel bias [C]. */
  bias?: Tensor | null;
  /** Instance normalization over H, W after the activation. */
  instanceNorm?: boolean;
  /** Style [N, 2C] = [ys | yb]: y · (ys + 1) + yb. */
  style?: Tensor | null;
  slope?: number;
  eps?: number;
}
/**
 * lrelu(x + noise · strength + bias) → instance norm → style, in two passes over x and in place, without autograd
 * (inference). x [N, C, H, W], contiguous NCHW or channels-last, float32 or bfloat16, on the CPU; it must be a fresh
 * activation the caller owns (in-place writes to variables go through the `_` methods, which note the mutation).
 */
export function fusedEpilogue_(x: Tensor, o: FusedEpilogueOptions): Tensor {
  native.fusedEpilogue_(x.handle, o.noise?.map.handle, o.noise?.strength.handle, o.bias?.handle, o.style?.handle, o.instanceNorm ?? false, o.slope ?? 0.2, o.eps ?? 1e-8);
  return x;
}

/**
 * The ProGAN layer epilogue without autograd on a CPU activation [N, C, H, W] (contiguous NCHW or channels-last,
 * float32 or bfloat16), in place: lrelu(x + bias[c], slope), then pixel norm y · rsqrt(mean_c(y²) + eps) when
 * `pixelNorm`. One native pass per pixel row on channels-last (native/pixel-norm.cc). Returns x.
 */
export function biasLreluPixelNorm_(x: Tensor, o: { bias?: Tensor | null; pixelNorm: boolean; slope?: number; eps?: number }): Tensor {
  native.biasLreluPixelNorm_(x.handle, o.bias?.handle, o.pixelNorm, o.slope ?? 0.2, o.eps ?? 1e-8);
  return x;
}

/**
 * The same epilogue with autograd (training), as a new tensor in x's dtype and memory layout: two passes over x
 * forward and two backward (a native autograd function), differentiable w.r.t. x, the strength, the bias and the
 * style to first order (no double backward; the noise map gets no gradient). x float32, float64 or bfloat16 (computed
 * in float32), on the CPU.
 */
export function fusedEpilogue(x: Tensor, o: FusedEpilogueOptions): Tensor {
  return wrap(native.fusedEpilogue(x.handle, o.noise?.map.handle, o.noise?.strength.handle, o.bias?.handle, o.style?.handle, o.instanceNorm ?? false, o.slope ?? 0.2, o.eps ?? 1e-8));
}

/**
 * A linear map of every kernel's spatial taps: w [O, C, kh, kw] and a constant m [kh·kw, groups·qh·qw] →
 * out [groups·O, C, qh, qw] with out[g·O + o, c, r, s] = Σ_t m[t, (g·qh + r)·qw + s] · w[o, c, t] (t = i·kw + j), in
 * `memoryFormat`. One native pass over w, differentiable w.r.t. w to any order (m gets no gradient); float32 or
 * float64 on the CPU. The derived kernels of the resampling convolutions are such maps (src/nn/phase-conv.ts).
 */
export function tapMap(w: Tensor, m: Tensor, o: { groups: number; outTaps: [number, number]; memoryFormat?: MemoryFormat }): Tensor {
  return wrap(native.tapMap(w.handle, m.handle, o.groups, o.outTaps[0], o.outTaps[1], o.memoryFormat === 'channels_last'));
}

/**
 * The depthwise convolution of x [N, C, H, W] with k [C, 1, k, k] (odd k, symmetric under a 180° turn), "SAME" zero
 * padding, whose gradient w.r.t. x is the same convolution of the incoming gradient, to any order (it is its own
 * adjoint): R1's double backward through a blur costs a blur instead of libtorch's generic depthwise double backward.
 * k gets no gradient.
 */
export function symmetricBlur(x: Tensor, k: Tensor): Tensor {
  return wrap(native.symmetricBlur(x.handle, k.handle));
}

/**
 * conv2d(x, w) (no bias, groups or dilation) whose gradients are the backward-data and backward-weights convolutions,
 * and theirs again the three of them, to any order. The values equal conv2d's; only the second order differs in how
 * it is computed: libtorch differentiates its convolution backward by a convolution with batch and channels swapped,
 * which oneDNN runs 2–3× slower than the backward-weights kernel for the same product (R1's double backward).
 */
export function conv2dGradConv(x: Tensor, w: Tensor, o: Pick<Conv2dOptions, 'stride' | 'padding'> = {}): Tensor {
  return wrap(native.conv2dGradConv(x.handle, w.handle, pair(o.stride, 1), pair(o.padding, 0)));
}

/**
 * Images [N, C, H, W] (float32 on the CPU, NCHW or channels-last) as bytes [N, H, W, C]: floor((x − offset)·scale + 0.5)
 * clamped to [0, 255] (NaN → 0), in one pass; the same bytes as those float32 ops one after another.
 */
export function toUint8Images(x: Tensor, offset: number, scale: number): Tensor {
  return wrap(native.toUint8Images(x.handle, offset, scale));
}

/**
 * dst.copy_(src) for a dst created by the caller's own computation (an output being assembled, never a variable or
 * a tensor a cache derives from): unlike the `_` methods it does not advance the mutation epoch, so prepared
 * weights stay cached.
 */
export function copyIntoFresh_(dst: Tensor, src: Tensor): Tensor {
  native.copy_(dst.handle, src.handle);
  return dst;
}
