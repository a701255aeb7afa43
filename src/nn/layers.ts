/**
 * Layers with the equalized learning rate (ProGAN §4.1): weights are stored as N(0, 1/lrmul) and scaled at run time
 * by lrmul · gain / sqrt(fan_in); biases start at 0 and are scaled by lrmul. Variables keep the TF layouts and names.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { Variables } from './module.js';
import { fusedKernel, upscale2d, downscale2d } from './ops.js';
import { derivedKernel, upsampleConvByPhases } from './phase-conv.js';
import { computeOperand, likeActivation } from './autocast.js';

export interface WeightSpec {
  /** He gain; √2 for layers followed by leaky ReLU, 1 for linear outputs. */
  gain?: number;
  /** Equalized learning rate (runtime scaling) instead of scaled initialization. */
  useWscale?: boolean;
  /** Learning-rate multiplier (0.01 in StyleGAN's mapping network). */
  lrmul?: number;
  /** Overrides prod(shape[:-1]) as the fan-in. */
  fanIn?: number;
}

/**
 * Creates `name` with the equalized-learning-rate initialization and runtime coefficient (get_weight). `storage`: a
 * permutation of the dims; the variable keeps its shape (the TF layout) but its memory is laid out as
 * `permute(...storage)` contiguous, the form its layer computes with. The permuted runtime weight and its gradient
 * are then views instead of transposing copies on every pass, and the optimizer's elementwise updates see one layout.
 */
export function createWeight(vars: Variables, name: string, { shape, storage, ...spec }: WeightSpec & { shape: number[]; storage?: number[] }): void {
  const gain = spec.gain ?? Math.SQRT2;
  const lrmul = spec.lrmul ?? 1;
  const fanIn = spec.fanIn ?? shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const heStd = gain / Math.sqrt(fanIn);
  const [initStd, coef] = (spec.useWscale ?? true) ? [1 / lrmul, heStd * lrmul] : [heStd / lrmul, lrmul];
  if (storage && vars.init === 'none') {
    // Uninitialized (a loader fills it): allocated in the storage order directly, without a second copy.
    vars.add(name, E.tidy(() => E.empty(storage.map((d) => shape[d]!)).permute(...inversePermutation(storage)).detach()), { trainable: true, coef });
    return;
  }
  const init = vars.randn(shape, initStd);
  vars.add(name, storage ? layOut(init, storage) : init, { trainable: true, coef });
}

const inversePermutation = (order: number[]): number[] => order.map((_, i) => order.indexOf(i));

/** x with the same shape and values, its memory in the order of x.permute(...order) (a fresh tensor, not a view). */
function layOut(x: Tensor, order: number[]): Tensor {
  const out = E.tidy(() => x.permute(...order).contiguous().permute(...inversePermutation(order)).detach());
  x.dispose();
  return out;
}

/** A bias [n], zero-initialized, scaled by lrmul at run time. */
export function createBias(vars: Variables, name: string, { n, lrmul = 1 }: { n: number; lrmul?: number }): void {
  vars.add(name, E.zeros([n]), { trainable: true, coef: lrmul });
}

/** Adds the runtime bias `name` to dim 1 of x ([N, C] or [N, C, H, W]). */
export function applyBias(vars: Variables, name: string, x: Tensor): Tensor {
  return E.tidy(() => {
    const b = likeActivation(vars.runtime(name), x);
    return x.add(x.ndim === 2 ? b : b.reshape(1, -1, 1, 1));
  });
}

export interface LayerOptions extends WeightSpec {
  /** Creates `<scope>/bias` (zeros, scaled by lrmul) and adds it in `forward`. */
  bias?: boolean;
}

/** The bias of a layer created with `bias: true`, or none. */
function ownBias(vars: Variables, scope: string, { n, ...o }: LayerOptions & { n: number }): string | null {
  if (!o.bias) return null;
  createBias(vars, `${scope}/bias`, { n, lrmul: o.lrmul ?? 1 });
  return `${scope}/bias`;
}

const withBias = (vars: Variables, bias: string | null, y: Tensor): Tensor => (bias ? applyBias(vars, bias, y) : y);

export interface DenseOptions extends LayerOptions {
  inFeatures: number;
  outFeatures: number;
}

/** Fully connected layer, weight [in, out] (inputs of rank > 2 are flattened, NCHW order). */
export class Dense {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Name of the layer's own bias, or null. */
  readonly bias: string | null;
  constructor(readonly vars: Variables, readonly scope: string, o: DenseOptions) {
    this.inFeatures = o.inFeatures;
    this.outFeatures = o.outFeatures;
    createWeight(vars, `${scope}/weight`, { ...o, shape: [o.inFeatures, o.outFeatures] });
    this.bias = ownBias(vars, scope, { ...o, n: o.outFeatures });
  }
  forward(x: Tensor): Tensor {
    return E.tidy(() => {
      const flat = x.ndim > 2 ? x.reshape(x.shape[0]!, -1) : x;
      return withBias(this.vars, this.bias, computeOperand(flat).matmul(computeOperand(this.vars.runtime(`${this.scope}/weight`))));
    });
  }
}

/** TF [kh, kw, Cin, Cout] → PyTorch OIHW. */
export const hwioToOihw = (w: Tensor): Tensor => w.permute(3, 2, 0, 1);
/** The dim order of hwioToOihw: convolution weights are stored in this memory order (see createWeight's `storage`). */
const OIHW = [3, 2, 0, 1];

export interface ConvOptions extends LayerOptions {
  cin: number;
  cout: number;
  kernel: number;
}

/** What every convolution layer shares: its weight [k, k, ·, ·] under `<scope>/weight` and an optional own bias. */
abstract class ConvLayer {
  readonly cin: number;
  readonly cout: number;
  readonly kernel: number;
  /** Name of the layer's own bias, or null. */
  readonly bias: string | null;
  /** `shape` is the stored weight's shape; `storage` its memory order (see createWeight; default OIHW). */
  constructor(readonly vars: Variables, readonly scope: string, o: ConvOptions & { shape: number[]; storage?: number[] }) {
    this.cin = o.cin;
    this.cout = o.cout;
    this.kernel = o.kernel;
    createWeight(vars, `${scope}/weight`, { ...o, storage: o.storage ?? OIHW });
    this.bias = ownBias(vars, scope, { ...o, n: o.cout });
  }
  /** The runtime kernel in OIHW (cached in inference, see `Variables.prepared`), in the dtype and layout of `like`. */
  weightOIHW(like?: Tensor): Tensor {
    return this.prepare('oihw', hwioToOihw, like);
  }
  /**
   * A prepared form of the weight: `derive` of the runtime weight (told the layout it will be given), cast to the
   * dtype of `like` and laid out in its memory format (channels-last when `like` is), cached per form, dtype and layout.
   */
  protected prepare(form: string, derive: (w: Tensor, layout: E.MemoryFormat) => Tensor, like?: Tensor): Tensor {
    const dtype = like?.dtype ?? 'float32';
    const layout: E.MemoryFormat = like && like.ndim === 4 && !like.isContiguous() && like.isContiguous('channels_last') ? 'channels_last' : 'contiguous';
    const key = dtype === 'float32' && layout === 'contiguous' ? form : `${form}/${dtype}/${layout}`;
    return this.vars.prepared(`${this.scope}/weight`, key, (w) => E.tidy(() => {
      const d = derive(w, layout);
      return (dtype === 'float32' ? d : d.to(dtype)).contiguous(layout);
    }));
  }
  /** SAME padding of the unfused k×k convolution. */
  protected get padding(): number {
    return (this.kernel - 1) >> 1;
  }
  /** The convolution without bias. */
  protected abstract apply(x: Tensor): Tensor;
  /** The convolution without the layer's bias (for a fused epilogue that adds it). */
  convolve(x: Tensor): Tensor {
    return E.tidy(() => this.apply(x));
  }
  forward(x: Tensor): Tensor {
    return E.tidy(() => withBias(this.vars, this.bias, this.apply(computeOperand(x))));
  }
}

/**
 * conv2d without bias. Under autograd on the CPU its gradients are oneDNN's backward-data and backward-weights
 * kernels at every order (E.conv2dGradConv): R1's double backward through D then takes the backward-weights kernel
 * where libtorch would run a batch-swapped convolution 2–3× slower.
 */
function convolve(x: Tensor, w: Tensor, o: { stride?: number; padding: number }): Tensor {
  if (E.isGradEnabled() && x.device === 'cpu') return E.conv2dGradConv(x, w, o);
  return E.conv2d(x, w, null, o);
}

/** k×k convolution with "SAME" padding, weight [k, k, Cin, Cout]. */
export class Conv2d extends ConvLayer {
  constructor(vars: Variables, scope: string, o: ConvOptions) {
    super(vars, scope, { ...o, shape: [o.kernel, o.kernel, o.cin, o.cout] });
  }
  protected apply(x: Tensor): Tensor {
    return convolve(x, this.weightOIHW(x), { padding: this.padding });
  }
}

export type UpLayout = 'stylegan' | 'progan';

export interface ResampleConvOptions extends ConvOptions {
  /** The fused (transposed / strided) convolution with the derived 4×4 kernel instead of resample + conv. */
  fused: boolean;
}

/**
 * Nearest upscale ×2 followed by a k×k convolution, or the fused transposed convolution with the derived 4×4 kernel.
 * StyleGAN stores the weight [k, k, Cin, Cout]; ProGAN's fused layer stores [k, k, Cout, Cin] with fan-in k²·Cin.
 */
export class UpConv2d extends ConvLayer {
  readonly fused: boolean;
  readonly layout: UpLayout;
  constructor(vars: Variables, scope: string, o: ResampleConvOptions & { layout?: UpLayout }) {
    const layout = o.layout ?? 'stylegan';
    const k = o.kernel;
    // Stored in the order the convolution reads it: IOHW for StyleGAN's fused kernel, else as hwioToOihw permutes.
    const storage = o.fused && layout === 'stylegan' ? [2, 3, 0, 1] : OIHW;
    super(vars, scope, { ...o, fanIn: k * k * o.cin, shape: layout === 'progan' && o.fused ? [k, k, o.cout, o.cin] : [k, k, o.cin, o.cout], storage });
    this.fused = o.fused;
    this.layout = layout;
  }
  /** The runtime kernel as the convolution takes it: OIHW, or the fused 4×4 kernel in IOHW (conv_transpose2d's layout). */
  kernelForConv(like?: Tensor): Tensor {
    if (!this.fused) return this.weightOIHW(like);
    return this.prepare('fused-iohw', (w) => this.fusedKernel(w), like);
  }
  /** The fused 4×4 kernel in IOHW from the runtime weight. */
  private fusedKernel(w: Tensor): Tensor {
    return fusedKernel(this.fusedWeightOIHW(w).transpose(0, 1));
  }
  /** The fused layer's 3×3 weight as [Cout, Cin, 3, 3] (its fused kernel is the transposed convolution's, IOHW). */
  private fusedWeightOIHW(w: Tensor): Tensor {
    return w.permute(...(this.layout === 'progan' ? [2, 3, 0, 1] : [3, 2, 0, 1]));
  }
  protected apply(x: Tensor): Tensor {
    if (!this.fused) {
      // On the CPU the 3×3 convolution of the upscaled input runs as four 2×2 phase convolutions of the input itself:
      // the same function with 2.25× fewer multiply-adds (src/nn/phase-conv.ts).
      if (x.device === 'cpu' && this.kernel === 3) return upsampleConvByPhases(x, this.prepare('up-phases', (w, f) => derivedKernel('upscale-phases', hwioToOihw(w), f), x));
      return E.conv2d(upscale2d(x), this.kernelForConv(x), null, { padding: this.padding });
    }
    if (x.device === 'cpu') {
      // On the CPU: the same transposed convolution as four phase convolutions (src/nn/phase-conv.ts), which run on
      // oneDNN's direct convolution in float32 and bfloat16 (training forward + backward at 128²: ~1.8–2.6× faster
      // than libtorch's transposed convolution, which has no bfloat16 kernel on the CPU).
      return upsampleConvByPhases(x, this.prepare('phases', (w, f) => derivedKernel('fused-up-phases', this.fusedWeightOIHW(w), f), x));
    }
    return E.convTranspose2d(x, this.kernelForConv(x), null, { stride: 2, padding: 1 });
  }
}

/** A k×k convolution followed by 2×2 box downscaling, or the fused stride-2 convolution with the derived kernel × 0.25. */
export class DownConv2d extends ConvLayer {
  readonly fused: boolean;
  constructor(vars: Variables, scope: string, o: ResampleConvOptions) {
    super(vars, scope, { ...o, shape: [o.kernel, o.kernel, o.cin, o.cout] });
    this.fused = o.fused;
  }
  /** The runtime kernel as the convolution takes it: OIHW, or the fused 4×4 kernel × 0.25. */
  kernelForConv(like?: Tensor): Tensor {
    return this.fused ? this.stridedKernel(like) : this.weightOIHW(like);
  }
  /** The fused 4×4 kernel × 0.25 in OIHW. */
  private stridedKernel(like?: Tensor): Tensor {
    return this.prepare('fused-oihw', (w, f) => derivedKernel('strided', hwioToOihw(w), f), like);
  }
  protected apply(x: Tensor): Tensor {
    // On the CPU the unfused layer (3×3) runs as the fused one: a 3×3 convolution followed by 2×2 box downscaling is
    // the stride-2 convolution with the derived 4×4 kernel × 0.25, which takes 16 instead of 36 multiply-adds per
    // output pixel and channel pair.
    const strided = this.fused || (x.device === 'cpu' && this.kernel === 3);
    if (!strided) return downscale2d(convolve(x, this.kernelForConv(x), { padding: this.padding }));
    return convolve(x, this.stridedKernel(x), { stride: 2, padding: 1 });
  }
}

/** ToRGB: a linear 1×1 convolution (gain 1) with its bias, from features to image channels. */
export class ToRGB extends Conv2d {
  constructor(vars: Variables, scope: string, o: { cin: number; channels: number }) {
    super(vars, scope, { cin: o.cin, cout: o.channels, kernel: 1, gain: 1, bias: true });
  }
}
