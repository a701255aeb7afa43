/**
 * The discriminator of both papers, D_paper (ProGAN) and D_basic (StyleGAN): a FromRGB per resolution, one block of
 * two convolutions per resolution from the top down to 8², then the 4² epilogue (minibatch stddev, conv, two dense
 * layers). The two papers differ only in the options of `discriminatorArch`.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { Network, type Variables } from '../nn/module.js';
import { Dense, Conv2d, DownConv2d } from '../nn/layers.js';
import { blur2d, lrelu, downscale2d, lerpClip, minibatchStddev } from '../nn/ops.js';
import { type NetworkConfig, nf, isFused, log2Resolution } from './config.js';
import { discriminatorInput } from './progressive.js';
import { requireLabels } from './labels.js';
import { autocastDtype } from '../nn/autocast.js';

/** Inputs of at most this many channels go channels-last into a D block (see `blockLayout`). */
export const THIN_CHANNELS = 32;

/**
 * x laid out for the D block (or FromRGB) that reads it with `channels` channels: in float32 training on the CPU, thin
 * activations (≤ THIN_CHANNELS channels) channels-last and the others NCHW. oneDNN computes NCHW convolutions in a
 * blocked layout and reorders every input and output to and from it; for a thin, large activation those reorders
 * cost as much as the convolution, while its channels-last kernels read the activation as it is. Measured on the
 * whole training step (interleaved, 2 threads): 128² small widths −10 to −13 %; at official widths, and with wider
 * inputs, channels-last lost, so they stay NCHW. Under bf16 autocast every operand is channels-last anyway.
 */
export function blockLayout(x: Tensor, channels: number): Tensor {
  if (!E.isGradEnabled() || x.device !== 'cpu' || autocastDtype() !== null || x.ndim !== 4) return x;
  const format = channels <= THIN_CHANNELS ? 'channels_last' : 'contiguous';
  return x.isContiguous(format) ? x : x.contiguous(format);
}

/** What distinguishes the papers' discriminators. */
export interface DiscriminatorArch {
  /** Blur before each downscaling convolution (StyleGAN). */
  blur: boolean;
  /** Whether the downscaling convolution consuming resolution `size` is fused. */
  fused: (size: number) => boolean;
  /** Scope name of an unfused downscaling convolution: 'Conv1_down' (StyleGAN) or 'Conv1' (ProGAN). */
  unfusedDownName: 'Conv1_down' | 'Conv1';
  /** Minibatch standard deviation (group size, features), or null. */
  mbstd: { groupSize: number; numFeatures: number } | null;
  /**
   * Conditioning: 'projection' (StyleGAN: one output per class, the score is the one of the label's class) or
   * 'auxiliary' (ProGAN: one score plus label logits for an auxiliary classifier).
   */
  labels: 'projection' | 'auxiliary';
}

/** The discriminator options of a config's paper. */
export function discriminatorArch(cfg: NetworkConfig): DiscriminatorArch {
  const mbstd = cfg.mbstdGroupSize > 1 ? { groupSize: cfg.mbstdGroupSize, numFeatures: cfg.mbstdNumFeatures } : null;
  if (cfg.arch === 'progan') return { blur: false, fused: () => cfg.fusedScale !== false, unfusedDownName: 'Conv1', mbstd, labels: 'auxiliary' };
  return { blur: true, fused: (size) => isFused(cfg, size), unfusedDownName: 'Conv1_down', mbstd, labels: 'projection' };
}

/** A 1×1 convolution with bias and leaky ReLU from image channels to features (the input at one resolution). */
export class FromRGB extends Conv2d {
  constructor(vars: Variables, scope: string, o: { channels: number; cout: number }) {
    super(vars, scope, { cin: o.channels, cout: o.cout, kernel: 1, bias: true });
  }
  override forward(x: Tensor): Tensor {
    return E.tidy(() => lrelu(super.forward(x)));
  }
}

/** Resolution 2^res → 2^(res−1): its FromRGB, conv (+ blur), downscaling conv, each with bias and leaky ReLU. */
export class DiscriminatorBlock {
  readonly fromRgb: FromRGB;
  readonly conv0: Conv2d;
  readonly conv1: DownConv2d;

  constructor(vars: Variables, readonly arch: DiscriminatorArch, o: { cfg: NetworkConfig; res: number }) {
    const { cfg, res } = o;
    const size = 2 ** res;
    const s = `${size}x${size}`;
    const [c, cout] = [nf(cfg, res - 1), nf(cfg, res - 2)];
    this.fromRgb = new FromRGB(vars, `FromRGB_lod${log2Resolution(cfg) - res}`, { channels: cfg.numChannels, cout: c });
    this.conv0 = new Conv2d(vars, `${s}/Conv0`, { cin: c, cout: c, kernel: 3, bias: true });
    const fused = arch.fused(size);
    this.conv1 = new DownConv2d(vars, `${s}/${fused ? 'Conv1_down' : arch.unfusedDownName}`, { cin: c, cout, kernel: 3, fused, bias: true });
  }

  forward(x: Tensor): Tensor {
    return E.tidy(() => {
      const y = lrelu(this.conv0.forward(x));
      return lrelu(this.conv1.forward(this.arch.blur ? blur2d(y) : y));
    });
  }
}

/** The 4² epilogue: FromRGB_lod(R−2), minibatch stddev, 3×3 conv, Dense0, Dense1 (scores, or per-class outputs). */
export class DiscriminatorEpilogue {
  readonly fromRgb: FromRGB;
  readonly conv: Conv2d;
  readonly dense0: Dense;
  readonly dense1: Dense;

  constructor(vars: Variables, readonly arch: DiscriminatorArch, cfg: NetworkConfig) {
    const [c1, c0] = [nf(cfg, 1), nf(cfg, 0)];
    this.fromRgb = new FromRGB(vars, `FromRGB_lod${log2Resolution(cfg) - 2}`, { channels: cfg.numChannels, cout: c1 });
    this.conv = new Conv2d(vars, '4x4/Conv', { cin: c1 + (arch.mbstd?.numFeatures ?? 0), cout: c1, kernel: 3, bias: true });
    this.dense0 = new Dense(vars, '4x4/Dense0', { inFeatures: c1 * 16, outFeatures: c0, bias: true });
    const outs = arch.labels === 'auxiliary' ? 1 + cfg.labelSize : Math.max(cfg.labelSize, 1);
    this.dense1 = new Dense(vars, '4x4/Dense1', { inFeatures: c0, outFeatures: outs, gain: 1, bias: true });
  }

  /** Features [N, C, 4, 4] → Dense1's outputs. */
  forward(x: Tensor): Tensor {
    return E.tidy(() => {
      const mb = this.arch.mbstd;
      const y = mb ? minibatchStddev(x, mb.groupSize, mb.numFeatures) : x;
      return this.dense1.forward(lrelu(this.dense0.forward(lrelu(this.conv.forward(y)))));
    });
  }
}

export interface DiscriminatorOptions {
  /** One-hot labels [N, labelSize] for conditional networks. */
  labels?: Tensor | null;
  /** Level of detail; defaults to the resolution of the input (full size → the `lod` variable). */
  lod?: number;
}

/** D_basic (StyleGAN) / D_paper (ProGAN). */
export class Discriminator extends Network {
  readonly resolutionLog2: number;
  readonly arch: DiscriminatorArch;
  /** Blocks from the top resolution down to 8² (blocks[i] consumes resolution 2^(R−i)). */
  readonly blocks: DiscriminatorBlock[] = [];
  readonly epilogue: DiscriminatorEpilogue;

  constructor(readonly cfg: NetworkConfig, seed = 0, device = 'cpu') {
    super(seed, device);
    const R = log2Resolution(cfg);
    this.resolutionLog2 = R;
    this.arch = discriminatorArch(cfg);
    this.vars.add('lod', E.zeros([]), { trainable: false });
    for (let res = R; res >= 3; res--) this.blocks.push(new DiscriminatorBlock(this.vars, this.arch, { cfg, res }));
    this.epilogue = new DiscriminatorEpilogue(this.vars, this.arch, cfg);
  }

  /** The block consuming resolution 2^res (3 ≤ res ≤ R). */
  blockAt(res: number): DiscriminatorBlock {
    const b = this.blocks[this.resolutionLog2 - res];
    if (!b || res < 3) throw new Error(`D: no block at resolution ${2 ** res}`);
    return b;
  }
  /** FromRGB of resolution 2^res. */
  fromRgbAt(res: number): FromRGB {
    return res === 2 ? this.epilogue.fromRgb : this.blockAt(res).fromRgb;
  }

  /**
   * images [N, C, r, r] → { scores [N, 1], labelLogits (ProGAN conditional: [N, labelSize]) }. The input may be at the
   * working resolution of `lod` or at full size (then box-downscaled first, which the official linear structure
   * computes implicitly).
   */
  forwardFull(images: Tensor, o: DiscriminatorOptions = {}): { scores: Tensor; labelLogits: Tensor | null } {
    const R = this.resolutionLog2;
    return E.tidy(() => {
      const { lod, workRes, img } = discriminatorInput(images, { lod: o.lod, R, channels: this.cfg.numChannels, storedLod: () => this.vars.get('lod').item() });
      const frac = lod - Math.floor(lod);
      const inputChannels = (res: number) => (res >= 3 ? this.blockAt(res).conv0.cin : this.epilogue.conv.cin);
      let x = this.fromRgbAt(workRes).forward(blockLayout(img, inputChannels(workRes)));
      for (let res = workRes; res >= 3; res--) {
        const input = x;
        x = E.tidy(() => {
          const y = this.blockAt(res).forward(blockLayout(input, inputChannels(res)));
          return res === workRes && frac > 0 ? lerpClip(y, this.fromRgbAt(res - 1).forward(downscale2d(img)), frac) : y;
        });
        input.dispose();
      }
      const out = this.epilogue.forward(x);
      const L = this.cfg.labelSize;
      if (this.arch.labels === 'auxiliary') return { scores: out.narrow(1, 0, 1), labelLogits: L > 0 ? out.narrow(1, 1, L) : null };
      if (L > 0) return { scores: out.mul(requireLabels('D', L, o.labels)).sum(1, true), labelLogits: null };
      return { scores: out, labelLogits: null };
    });
  }

  /** Scores [N, 1]. */
  forward(images: Tensor, o: DiscriminatorOptions = {}): Tensor {
    return E.tidy(() => this.forwardFull(images, o).scores);
  }
}
