/**
 * Progressive GAN (Karras et al. 2017) generator G_paper: pixel-normalized latent → 4×4 dense → conv, then per
 * resolution an upscaling conv and a conv, each with leaky ReLU and pixel norm; ToRGB per resolution. The
 * discriminator D_paper is `Discriminator` (shared with StyleGAN, without blur).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { Network } from '../nn/module.js';
import { Dense, Conv2d, UpConv2d, ToRGB, applyBias } from '../nn/layers.js';
import { pixelNorm, lrelu } from '../nn/ops.js';
import { type ProGANConfig, nf, log2Resolution } from './config.js';
import { resolveLod, growOutput } from './progressive.js';
import { Discriminator } from './stylegan.js';

export interface ProGANGenerateOptions {
  labels?: Tensor | null;
  lod?: number;
  native?: boolean;
}

export class ProGANGenerator extends Network {
  readonly resolutionLog2: number;
  readonly dense: Dense;
  readonly convs = new Map<string, Conv2d | UpConv2d>();
  readonly toRgb: ToRGB[] = [];

  constructor(readonly cfg: ProGANConfig, seed = 0, device = 'cpu') {
    super(seed, device);
    const R = log2Resolution(cfg);
    this.resolutionLog2 = R;
    const v = this.vars;
    v.add('lod', E.zeros([]), false);
    const c1 = nf(cfg, 1);
    this.dense = new Dense(v, '4x4/Dense', cfg.latentSize + cfg.labelSize, c1 * 16, { gain: Math.SQRT2 / 4 });
    v.add('4x4/Dense/bias', E.zeros([c1]), true);
    this.conv('4x4/Conv', new Conv2d(v, '4x4/Conv', c1, c1, 3));
    this.rgb(R, 2, c1);
    for (let res = 3; res <= R; res++) {
      const s = `${2 ** res}x${2 ** res}`;
      const [cin, c] = [nf(cfg, res - 2), nf(cfg, res - 1)];
      const fused = cfg.fusedScale !== false;
      const up = fused ? `${s}/Conv0_up` : `${s}/Conv0`;
      this.conv(up, new UpConv2d(v, up, cin, c, 3, fused, 'progan'));
      this.conv(`${s}/Conv1`, new Conv2d(v, `${s}/Conv1`, c, c, 3));
      this.rgb(R, res, c);
    }
  }

  private conv(name: string, layer: Conv2d | UpConv2d): void {
    this.convs.set(name, layer);
    this.vars.add(`${name}/bias`, E.zeros([layer.cout]), true);
  }
  private rgb(R: number, res: number, c: number): void {
    this.toRgb.push(new ToRGB(this.vars, `ToRGB_lod${R - res}`, c, this.cfg.numChannels));
  }
  private pn(x: Tensor): Tensor {
    return this.cfg.usePixelNorm ? pixelNorm(x, this.cfg.usePixelNormEps) : x;
  }
  private block(name: string, x: Tensor): Tensor {
    return this.pn(lrelu(applyBias(this.vars, `${name}/bias`, this.convs.get(name)!.forward(x))));
  }
  private toRgbAt(res: number, x: Tensor): Tensor {
    return this.toRgb[res - 2]!.forward(x);
  }

  /** z [N, latentSize] (+ one-hot labels) → images [N, C, H, W]. */
  forward(z: Tensor, o: ProGANGenerateOptions = {}): Tensor {
    const cfg = this.cfg;
    if (z.ndim !== 2 || z.shape[1] !== cfg.latentSize) throw new Error(`G_paper: latents must be [N, ${cfg.latentSize}], got [${z.shape.join(', ')}]`);
    const R = this.resolutionLog2;
    const { lod, workRes } = resolveLod(o.lod ?? this.vars.get('lod').item(), R);
    return E.tidy(() => {
      let x = z;
      if (cfg.labelSize > 0) {
        if (!o.labels) throw new Error(`G_paper: this network is conditional (${cfg.labelSize} classes): pass labels`);
        x = E.cat([z, o.labels], 1);
      }
      if (cfg.normalizeLatents) x = pixelNorm(x, cfg.usePixelNormEps);
      const c1 = nf(cfg, 1);
      x = this.dense.forward(x).reshape(-1, c1, 4, 4);
      x = this.pn(lrelu(applyBias(this.vars, '4x4/Dense/bias', x)));
      x = this.block('4x4/Conv', x);
      return growOutput({ x, img: this.toRgbAt(2, x) }, (res, input) => {
        const s = `${2 ** res}x${2 ** res}`;
        const y = this.block(`${s}/Conv1`, this.block(cfg.fusedScale !== false ? `${s}/Conv0_up` : `${s}/Conv0`, input));
        return { x: y, img: this.toRgbAt(res, y) };
      }, lod, R, workRes, o.native ?? false);
    });
  }
}

export { Discriminator as ProGANDiscriminator };
