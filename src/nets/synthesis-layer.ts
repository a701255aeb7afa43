/**
 * One layer of StyleGAN's synthesis network (StyleGAN §2, Figure 1b): its input (the learned 4×4 constant, a 3×3
 * convolution, or a 2× upsampling convolution followed by the blur), then the epilogue: per-pixel noise scaled by a
 * learned per-channel strength, bias, leaky ReLU, the normalizations, and the style modulation from w through the
 * layer's own affine transform A.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { Variables } from '../nn/module.js';
import { Dense, Conv2d, UpConv2d, createBias, applyBias } from '../nn/layers.js';
import { pixelNorm, instanceNorm, applyNoise, styleMod, blur2d, lrelu } from '../nn/ops.js';
import type { StyleGANConfig } from './config.js';

/** Where a synthesis layer's features come from. */
export type SynthesisInput = 'const' | 'conv' | 'up';

export interface SynthesisLayerOptions {
  /** Official scope, e.g. '4x4/Const', '8x8/Conv0_up', '8x8/Conv1'. */
  scope: string;
  /** Index of the layer's style and noise inputs (0 … numLayers − 1). */
  index: number;
  input: SynthesisInput;
  /** Input and output feature maps (cin is unused by the constant). */
  cin: number;
  channels: number;
  /** Fused upsampling convolution ('up' only). */
  fused?: boolean;
}

export class SynthesisLayer {
  readonly scope: string;
  readonly index: number;
  readonly input: SynthesisInput;
  readonly channels: number;
  /** The convolution ('conv', 'up'), or null for the constant input. */
  readonly conv: Conv2d | UpConv2d | null;
  /** The style affine transform A: w → [scale | shift] (2·channels), or null without styles. */
  readonly styleAffine: Dense | null;

  constructor(readonly vars: Variables, readonly cfg: StyleGANConfig, o: SynthesisLayerOptions) {
    const { scope, channels } = o;
    this.scope = scope;
    this.index = o.index;
    this.input = o.input;
    this.channels = channels;
    const conv = { cin: o.cin, cout: channels, kernel: 3 };
    if (o.input === 'const') {
      vars.add(`${scope}/const`, E.ones([1, channels, 4, 4]), true);
      this.conv = null;
    } else {
      this.conv = o.input === 'up' ? new UpConv2d(vars, scope, { ...conv, fused: o.fused ?? false }) : new Conv2d(vars, scope, conv);
    }
    if (cfg.useNoise) vars.add(`${scope}/Noise/weight`, E.zeros([channels]), true);
    createBias(vars, `${scope}/bias`, channels);
    this.styleAffine = cfg.useStyles
      ? new Dense(vars, `${scope}/StyleMod`, { inFeatures: cfg.dlatentSize, outFeatures: channels * 2, gain: 1, bias: true })
      : null;
  }

  /** Features before the epilogue: the constant for a batch of `n`, or the (upsampling and blurred) convolution of x. */
  features(x: Tensor | null, n: number): Tensor {
    if (!this.conv) return this.vars.get(`${this.scope}/const`).expand(n, -1, 4, 4);
    if (!x) throw new Error(`${this.scope}: a convolution layer needs input features`);
    return this.input === 'up' ? blur2d(this.conv.forward(x)) : this.conv.forward(x);
  }

  /**
   * The epilogue: noise, bias, leaky ReLU, pixel/instance norm, style modulation. `w` [N, dlatentSize] is this
   * layer's dlatent; `noise` [N|1, 1, H, W] or null for none.
   */
  epilogue(x: Tensor, w: Tensor, noise: Tensor | null): Tensor {
    const cfg = this.cfg;
    return E.tidy(() => {
      let y = x;
      if (cfg.useNoise && noise) y = applyNoise(y, noise, this.vars.get(`${this.scope}/Noise/weight`));
      y = lrelu(applyBias(this.vars, `${this.scope}/bias`, y));
      if (cfg.usePixelNorm) y = pixelNorm(y);
      if (cfg.useInstanceNorm) y = instanceNorm(y);
      if (this.styleAffine) y = styleMod(y, this.styleAffine.forward(w));
      return y;
    });
  }

  /** x (ignored for the constant) → this layer's output, with its dlatent w and noise. */
  forward(x: Tensor | null, w: Tensor, noise: Tensor | null): Tensor {
    return this.epilogue(this.features(x, w.shape[0]!), w, noise);
  }
}
