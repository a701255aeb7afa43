/**
 * Progressive GAN (Karras et al. 2017) generator G_paper: pixel-normalized latent → 4×4 dense → conv, then per
 * resolution an upscaling conv and a conv, each with leaky ReLU and pixel norm; ToRGB per resolution. The
 * discriminator D_paper is `Discriminator` (discriminator.ts) with ProGAN's options.
 *
 * Inference on the CPU (no autograd) takes the fast paths of the StyleGAN synthesis network: channels-last
 * activations, optional bfloat16 (`precision: 'bf16'`), and each layer's bias + leaky ReLU + pixel norm fused into one
 * in-place native pass (E.biasLreluPixelNorm_).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { Network, type Variables } from '../nn/module.js';
import { Dense, Conv2d, UpConv2d, ToRGB, createBias } from '../nn/layers.js';
import { pixelNorm, lrelu } from '../nn/ops.js';
import { type ProGANConfig, nf, log2Resolution } from './config.js';
import { resolveLod, growOutput, type GrowthState } from './progressive.js';
import { requireLabels } from './labels.js';
import { computeFor, type Precision } from './synthesis.js';

export interface ProGANGenerateOptions {
  labels?: Tensor | null;
  lod?: number;
  native?: boolean;
  /** Inference on the CPU: 'fp32' (default) or 'bf16' (bfloat16 activations and convolutions, float32 image). */
  precision?: Precision;
  /** Channels-last (NHWC) activations in CPU inference (default true). */
  channelsLast?: boolean;
}

/**
 * `x + bias` (x: a layer's output before its bias), leaky ReLU, then pixel norm when the config has it: what ends
 * every G_paper layer. Without autograd on the CPU, one in-place native pass over x (which the caller owns).
 */
function activate(cfg: ProGANConfig, x: Tensor, bias: Tensor): Tensor {
  if (!E.isGradEnabled() && x.device === 'cpu' && (x.isContiguous() || x.isContiguous('channels_last'))) {
    return E.biasLreluPixelNorm_(x, { bias, pixelNorm: cfg.usePixelNorm, eps: cfg.usePixelNormEps });
  }
  return E.tidy(() => {
    const y = lrelu(x.add(bias.reshape(1, -1, 1, 1)));
    return cfg.usePixelNorm ? pixelNorm(y, cfg.usePixelNormEps) : y;
  });
}

/** A G_paper convolution with its epilogue (bias, leaky ReLU, pixel norm). */
function convLayer(cfg: ProGANConfig, conv: Conv2d | UpConv2d, x: Tensor): Tensor {
  return E.tidy(() => activate(cfg, conv.convolve(x), conv.vars.runtime(conv.bias!)));
}

/** Resolution 2^res of G_paper (res ≥ 3): the upscaling conv, the conv and the ToRGB of that resolution. */
export class ProGANBlock {
  readonly conv0: UpConv2d;
  readonly conv1: Conv2d;
  readonly toRgb: ToRGB;
  constructor(vars: Variables, readonly cfg: ProGANConfig, res: number) {
    const s = `${2 ** res}x${2 ** res}`;
    const [cin, c] = [nf(cfg, res - 2), nf(cfg, res - 1)];
    const fused = cfg.fusedScale !== false;
    this.conv0 = new UpConv2d(vars, fused ? `${s}/Conv0_up` : `${s}/Conv0`, { cin, cout: c, kernel: 3, fused, layout: 'progan', bias: true });
    this.conv1 = new Conv2d(vars, `${s}/Conv1`, { cin: c, cout: c, kernel: 3, bias: true });
    this.toRgb = new ToRGB(vars, `ToRGB_lod${log2Resolution(cfg) - res}`, { cin: c, channels: cfg.numChannels });
  }
  forward(x: Tensor): GrowthState {
    const y = E.tidy(() => convLayer(this.cfg, this.conv1, convLayer(this.cfg, this.conv0, x)));
    return { x: y, img: this.toRgb.forward(y) };
  }
}

export class ProGANGenerator extends Network {
  readonly resolutionLog2: number;
  /** The 4² part: dense (its bias is per channel, added after the reshape to 4×4), conv, ToRGB. */
  readonly dense: Dense;
  readonly conv: Conv2d;
  readonly toRgb: ToRGB;
  /** Blocks from 8² up (blocks[i] has resolution 2^(i+3)). */
  readonly blocks: ProGANBlock[] = [];

  constructor(readonly cfg: ProGANConfig, seed = 0, device = 'cpu') {
    super(seed, device);
    const R = log2Resolution(cfg);
    this.resolutionLog2 = R;
    const v = this.vars;
    v.add('lod', E.zeros([]), { trainable: false });
    const c1 = nf(cfg, 1);
    this.dense = new Dense(v, '4x4/Dense', { inFeatures: cfg.latentSize + cfg.labelSize, outFeatures: c1 * 16, gain: Math.SQRT2 / 4 });
    createBias(v, '4x4/Dense/bias', { n: c1 });
    this.conv = new Conv2d(v, '4x4/Conv', { cin: c1, cout: c1, kernel: 3, bias: true });
    this.toRgb = new ToRGB(v, `ToRGB_lod${R - 2}`, { cin: c1, channels: cfg.numChannels });
    for (let res = 3; res <= R; res++) this.blocks.push(new ProGANBlock(v, cfg, res));
  }

  /** z [N, latentSize] (+ one-hot labels) → images [N, C, H, W] (float32, NCHW). */
  forward(z: Tensor, o: ProGANGenerateOptions = {}): Tensor {
    const cfg = this.cfg;
    if (z.ndim !== 2 || z.shape[1] !== cfg.latentSize) throw new Error(`G_paper: latents must be [N, ${cfg.latentSize}], got [${z.shape.join(', ')}]`);
    const R = this.resolutionLog2;
    const { lod, workRes } = resolveLod(o.lod ?? this.vars.get('lod').item(), R);
    const compute = computeFor(this.device, o);
    return E.tidy(() => {
      let x = cfg.labelSize > 0 ? E.cat([z, requireLabels('G_paper', cfg.labelSize, o.labels)], 1) : z;
      if (cfg.normalizeLatents) x = pixelNorm(x, cfg.usePixelNormEps);
      x = this.dense.forward(x).reshape(-1, nf(cfg, 1), 4, 4);
      // The dense output in the compute dtype and layout (always a fresh tensor), from which the network follows.
      x = compute ? x.to(compute.dtype).contiguous(compute.format).clone() : x;
      x = activate(cfg, x, this.vars.runtime('4x4/Dense/bias'));
      x = convLayer(cfg, this.conv, x);
      const img = growOutput({ x, img: this.toRgb.forward(x) }, (res, input) => this.blocks[res - 3]!.forward(input), { lod, R, workRes, native: o.native ?? false });
      return compute ? img.to('float32').contiguous() : img;
    });
  }
}
