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
import { autocastDtype } from '../nn/autocast.js';
import type { StyleGANConfig } from './config.js';

/** The dtype and memory layout an inference pass computes in (float32 / bfloat16, NCHW / channels-last). */
export interface Compute {
  dtype: 'float32' | 'bfloat16';
  format: E.MemoryFormat;
}

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

/** What one synthesis layer takes besides its features: its dlatent w, its noise map (null: none), the compute setting. */
export interface LayerInput {
  w: Tensor;
  noise: Tensor | null;
  compute?: Compute;
}

/**
 * Whether passes with autograd on the CPU (training) run the epilogue as one native autograd function or as the
 * separate differentiable ops: always (true, the default), never (false), or under bf16 mixed precision only ('bf16').
 * On its own the function is 3–9× faster than the ops; a whole training step gains 5–20 % under bf16 and 1–6 % in
 * float32 (`bench train-variants`, docs/training.md).
 */
export const trainingEpilogue: { fused: boolean | 'bf16' } = { fused: true };

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
      vars.add(`${scope}/const`, E.ones([1, channels, 4, 4]), { trainable: true });
      this.conv = null;
    } else {
      this.conv = o.input === 'up' ? new UpConv2d(vars, scope, { ...conv, fused: o.fused ?? false }) : new Conv2d(vars, scope, conv);
    }
    if (cfg.useNoise) vars.add(`${scope}/Noise/weight`, E.zeros([channels]), { trainable: true });
    createBias(vars, `${scope}/bias`, { n: channels });
    this.styleAffine = cfg.useStyles
      ? new Dense(vars, `${scope}/StyleMod`, { inFeatures: cfg.dlatentSize, outFeatures: channels * 2, gain: 1, bias: true })
      : null;
  }

  /**
   * Features before the epilogue: the constant for a batch of `n` (a fresh copy in `compute`'s dtype and layout when
   * given), or the (upsampling and blurred) convolution of x, which follows x's dtype and layout.
   */
  features(x: Tensor | null, n: number, compute?: Compute): Tensor {
    if (!this.conv) {
      const c = this.vars.get(`${this.scope}/const`).expand(n, -1, 4, 4);
      return compute ? E.tidy(() => c.to(compute.dtype).contiguous(compute.format).clone()) : c;
    }
    if (!x) throw new Error(`${this.scope}: a convolution layer needs input features`);
    const conv = this.conv;
    // The upsampling convolution's output is freed as soon as it is blurred.
    return this.input === 'up' ? E.tidy(() => blur2d(conv.forward(x))) : conv.forward(x);
  }

  /**
   * The epilogue: noise, bias, leaky ReLU, pixel/instance norm, style modulation. `w` [N, dlatentSize] is this
   * layer's dlatent; `noise` [N|1, 1, H, W] or null for none.
   */
  epilogue(x: Tensor, { w, noise, inPlace = false }: { w: Tensor; noise: Tensor | null; inPlace?: boolean }): Tensor {
    const cfg = this.cfg;
    if (x.device === 'cpu' && !cfg.usePixelNorm) {
      if (!E.isGradEnabled()) return E.tidy(() => E.fusedEpilogue_(inPlace ? x : x.clone(), this.fusedOptions(w, noise)));
      // The fused function gives the noise map no gradient: projection, which optimizes the noise, uses the ops.
      const fused = trainingEpilogue.fused === 'bf16' ? autocastDtype() !== null : trainingEpilogue.fused;
      if (fused && !noise?.requiresGrad) return E.tidy(() => E.fusedEpilogue(x, this.fusedOptions(w, noise)));
    }
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

  /**
   * The inputs of the fused epilogue on the CPU (src/engine fusedEpilogue_ / fusedEpilogue: two passes over x instead
   * of five ops with their temporaries): in place without autograd (inference), or a native autograd function
   * (training, see `trainingEpilogue`).
   */
  private fusedOptions(w: Tensor, noise: Tensor | null): E.FusedEpilogueOptions {
    return {
      noise: this.cfg.useNoise && noise ? { map: noise, strength: this.vars.get(`${this.scope}/Noise/weight`) } : null,
      bias: this.vars.runtime(`${this.scope}/bias`), instanceNorm: this.cfg.useInstanceNorm,
      style: this.styleAffine ? this.styleAffine.forward(w) : null,
    };
  }

  /**
   * x (ignored for the constant) → this layer's output, with its dlatent w and noise. `compute` (inference) sets the
   * dtype and memory layout of the constant, from which the rest of the network follows.
   */
  forward(x: Tensor | null, { w, noise, compute }: LayerInput): Tensor {
    const features = this.features(x, w.shape[0]!, compute);
    // The features are this layer's own, except the un-copied constant (a view of the variable).
    return this.epilogue(features, { w, noise, inPlace: this.conv !== null || compute !== undefined });
  }
}
