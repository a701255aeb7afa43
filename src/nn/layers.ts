/**
 * Layers with the equalized learning rate (ProGAN §4.1): weights are stored as N(0, 1/lrmul) and scaled at run time
 * by lrmul · gain / sqrt(fan_in); biases start at 0 and are scaled by lrmul. Variables keep the TF layouts and names.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { Variables } from './module.js';
import { fusedKernel, upscale2d, downscale2d } from './ops.js';
import { phaseKernels, upsampleConvByPhases } from './phase-conv.js';

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

/** Creates `name` with the equalized-learning-rate initialization and runtime coefficient (get_weight). */
export function createWeight(vars: Variables, name: string, shape: number[], spec: WeightSpec = {}): void {
  const gain = spec.gain ?? Math.SQRT2;
  const lrmul = spec.lrmul ?? 1;
  const fanIn = spec.fanIn ?? shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const heStd = gain / Math.sqrt(fanIn);
  const [initStd, coef] = (spec.useWscale ?? true) ? [1 / lrmul, heStd * lrmul] : [heStd / lrmul, lrmul];
  const init = vars.randn(shape, initStd);
  vars.add(name, init, true, coef);
}

/** A bias [n], zero-initialized, scaled by lrmul at run time. */
export function createBias(vars: Variables, name: string, n: number, lrmul = 1): void {
  vars.add(name, E.zeros([n]), true, lrmul);
}

/** Adds the runtime bias `name` to dim 1 of x ([N, C] or [N, C, H, W]). */
export function applyBias(vars: Variables, name: string, x: Tensor): Tensor {
  return E.tidy(() => {
    const b = vars.runtime(name);
    return x.add(x.ndim === 2 ? b : b.reshape(1, -1, 1, 1));
  });
}

/** Fully connected layer, weight [in, out] (inputs of rank > 2 are flattened, NCHW order). */
export class Dense {
  constructor(readonly vars: Variables, readonly scope: string, readonly inFeatures: number, readonly outFeatures: number, spec: WeightSpec = {}) {
    createWeight(vars, `${scope}/weight`, [inFeatures, outFeatures], spec);
  }
  forward(x: Tensor): Tensor {
    return E.tidy(() => {
      const flat = x.ndim > 2 ? x.reshape(x.shape[0]!, -1) : x;
      return flat.matmul(this.vars.runtime(`${this.scope}/weight`));
    });
  }
}

/** TF [kh, kw, Cin, Cout] → PyTorch OIHW. */
export const hwioToOihw = (w: Tensor): Tensor => w.permute(3, 2, 0, 1);

/** k×k convolution with "SAME" padding, weight [k, k, Cin, Cout]. */
export class Conv2d {
  constructor(readonly vars: Variables, readonly scope: string, readonly cin: number, readonly cout: number, readonly kernel: number, spec: WeightSpec = {}) {
    createWeight(vars, `${scope}/weight`, [kernel, kernel, cin, cout], spec);
  }
  /** The runtime kernel in OIHW (cached in inference, see `Variables.prepared`). */
  weightOIHW(): Tensor {
    return this.vars.prepared(`${this.scope}/weight`, 'oihw', (w) => hwioToOihw(w).contiguous());
  }
  forward(x: Tensor): Tensor {
    return E.tidy(() => E.conv2d(x, this.weightOIHW(), null, { padding: (this.kernel - 1) >> 1 }));
  }
}

export type UpLayout = 'stylegan' | 'progan';

/**
 * Nearest upscale ×2 followed by a k×k convolution, or the fused transposed convolution with the derived 4×4 kernel.
 * StyleGAN stores the weight [k, k, Cin, Cout]; ProGAN's fused layer stores [k, k, Cout, Cin] with fan-in k²·Cin.
 */
export class UpConv2d {
  constructor(
    readonly vars: Variables, readonly scope: string, readonly cin: number, readonly cout: number, readonly kernel: number,
    readonly fused: boolean, readonly layout: UpLayout = 'stylegan', spec: WeightSpec = {},
  ) {
    const shape = layout === 'progan' && fused ? [kernel, kernel, cout, cin] : [kernel, kernel, cin, cout];
    createWeight(vars, `${scope}/weight`, shape, { ...spec, fanIn: kernel * kernel * cin });
  }
  /** The runtime kernel as the convolution takes it: OIHW, or the fused 4×4 kernel in IOHW (conv_transpose2d's layout). */
  kernelForConv(): Tensor {
    const name = `${this.scope}/weight`;
    if (!this.fused) return this.vars.prepared(name, 'oihw', (w) => hwioToOihw(w).contiguous());
    return this.vars.prepared(name, 'fused-iohw', (w) => this.fusedKernel(w).contiguous());
  }
  /** The fused 4×4 kernel in IOHW from the runtime weight. */
  private fusedKernel(w: Tensor): Tensor {
    return fusedKernel(this.layout === 'progan' ? w.permute(3, 2, 0, 1) : w.permute(2, 3, 0, 1));
  }
  forward(x: Tensor): Tensor {
    return E.tidy(() => {
      if (this.fused && !E.isGradEnabled() && x.device === 'cpu') {
        // Inference on the CPU: the same transposed convolution as four phase convolutions (src/nn/phase-conv.ts).
        return upsampleConvByPhases(x, this.vars.prepared(`${this.scope}/weight`, 'phases', (w) => phaseKernels(this.fusedKernel(w))));
      }
      const k = this.kernelForConv();
      if (!this.fused) return E.conv2d(upscale2d(x), k, null, { padding: (this.kernel - 1) >> 1 });
      return E.convTranspose2d(x, k, null, { stride: 2, padding: 1 });
    });
  }
}

/** A k×k convolution followed by 2×2 box downscaling, or the fused stride-2 convolution with the derived kernel × 0.25. */
export class DownConv2d {
  constructor(readonly vars: Variables, readonly scope: string, readonly cin: number, readonly cout: number, readonly kernel: number, readonly fused: boolean, spec: WeightSpec = {}) {
    createWeight(vars, `${scope}/weight`, [kernel, kernel, cin, cout], spec);
  }
  /** The runtime kernel as the convolution takes it: OIHW, or the fused 4×4 kernel × 0.25. */
  kernelForConv(): Tensor {
    const name = `${this.scope}/weight`;
    if (!this.fused) return this.vars.prepared(name, 'oihw', (w) => hwioToOihw(w).contiguous());
    return this.vars.prepared(name, 'fused-oihw', (w) => fusedKernel(hwioToOihw(w)).mul(0.25).contiguous());
  }
  forward(x: Tensor): Tensor {
    return E.tidy(() => {
      const k = this.kernelForConv();
      if (!this.fused) return downscale2d(E.conv2d(x, k, null, { padding: (this.kernel - 1) >> 1 }));
      return E.conv2d(x, k, null, { stride: 2, padding: 1 });
    });
  }
}

/** ToRGB: a linear 1×1 convolution (gain 1) with bias, from features to image channels. */
export class ToRGB {
  readonly conv: Conv2d;
  constructor(readonly vars: Variables, readonly scope: string, cin: number, channels: number) {
    this.conv = new Conv2d(vars, scope, cin, channels, 1, { gain: 1 });
    vars.add(`${scope}/bias`, E.zeros([channels]), true);
  }
  forward(x: Tensor): Tensor {
    return applyBias(this.vars, `${this.scope}/bias`, this.conv.forward(x));
  }
}
