/**
 * Floating-point work of the StyleGAN generator as stylegan-ts runs it (multiply-adds × 2), from the configuration:
 * the mapping network, per synthesis layer its convolution (the fused transposed 4×4-tap upsampling convolution from
 * the config's fused threshold, else nearest upscale + 3×3), the blur after upsampling, the style dense layers, and
 * the ToRGB of every resolution. Elementwise work (epilogue, noise) is left out: it is memory-bound.
 */
import { nf, isFused, log2Resolution, type NetworkConfig, type StyleGANConfig, type ProGANConfig } from '../src/nets/config.js';
import { discriminatorArch } from '../src/nets/discriminator.js';

/** FLOP of one image through G (mapping + synthesis) at full resolution. */
export function styleganGFlopPerImage(cfg: StyleGANConfig): number {
  const R = Math.log2(cfg.resolution);
  let flop = 0;
  let features = cfg.latentSize + (cfg.labelSize > 0 ? cfg.latentSize : 0);
  for (let i = 0; i < cfg.mappingLayers; i++) {
    const out = i === cfg.mappingLayers - 1 ? cfg.dlatentSize : cfg.mappingFmaps;
    flop += 2 * features * out;
    features = out;
  }
  const style = (c: number) => 2 * cfg.dlatentSize * 2 * c;
  const rgb = (c: number, px: number) => 2 * c * cfg.numChannels * px;
  const c4 = nf(cfg, 1);
  flop += 2 * style(c4) + 2 * 9 * c4 * c4 * 16 + rgb(c4, 16);
  for (let res = 3; res <= R; res++) {
    const [cin, c, px] = [nf(cfg, res - 2), nf(cfg, res - 1), 4 ** res];
    flop += (isFused(cfg, 2 ** res) ? 2 * 4 : 2 * 9) * cin * c * px; // upsampling conv: 4 taps per output (fused) or 3×3
    flop += 2 * 9 * c * px; // blur, depthwise 3×3
    flop += 2 * 9 * c * c * px; // Conv1
    flop += 2 * style(c) + rgb(c, px);
  }
  return flop / 1e9;
}

/** FLOP of one image through ProGAN's G_paper: the 4² dense and conv, per resolution the upsampling conv and the conv, every ToRGB. */
export function proganGFlopPerImage(cfg: ProGANConfig): number {
  const R = Math.log2(cfg.resolution);
  const rgb = (c: number, px: number) => 2 * c * cfg.numChannels * px;
  const c4 = nf(cfg, 1);
  let flop = 2 * (cfg.latentSize + cfg.labelSize) * c4 * 16 + 2 * 9 * c4 * c4 * 16 + rgb(c4, 16);
  for (let res = 3; res <= R; res++) {
    const [cin, c, px] = [nf(cfg, res - 2), nf(cfg, res - 1), 4 ** res];
    flop += (cfg.fusedScale !== false ? 2 * 4 : 2 * 9) * cin * c * px + 2 * 9 * c * c * px + rgb(c, px);
  }
  return flop / 1e9;
}

/**
 * FLOP of one image through the discriminator (D_basic / D_paper) at full resolution: FromRGB, per block the 3×3
 * conv, the blur (StyleGAN), the downscaling conv (fused: the 4×4 stride-2 kernel; else 3×3 at full size), then the 4²
 * conv (with the minibatch-stddev channel) and both dense layers.
 */
export function discriminatorGFlopPerImage(cfg: NetworkConfig): number {
  const R = log2Resolution(cfg);
  const arch = discriminatorArch(cfg);
  let flop = 2 * cfg.numChannels * nf(cfg, R - 1) * 4 ** R;
  for (let res = R; res >= 3; res--) {
    const [c, cout, px] = [nf(cfg, res - 1), nf(cfg, res - 2), 4 ** res];
    flop += 2 * 9 * c * c * px + (arch.blur ? 2 * 9 * c * px : 0);
    flop += arch.fused(2 ** res) ? (2 * 16 * c * cout * px) / 4 : 2 * 9 * c * cout * px;
  }
  const [c1, c0] = [nf(cfg, 1), nf(cfg, 0)];
  flop += 2 * 9 * (c1 + (arch.mbstd?.numFeatures ?? 0)) * c1 * 16 + 2 * c1 * 16 * c0 + 2 * c0 * Math.max(cfg.labelSize, 1);
  return flop / 1e9;
}

/**
 * Nominal FLOP of one image in one StyleGAN training step (bench train), counting each backward pass as twice its
 * forward: the D step runs G forward (G_F), D on the fakes with its backward (3 D_F), D on the reals with its backward
 * (3 D_F) and the R1 penalty (its input gradient 2 D_F, whose own backward 4 D_F); the G step runs G and D forward and
 * backward (3 G_F + 3 D_F). Total 4 G_F + 15 D_F; the style-mixing mapping pass and the elementwise work are left out.
 */
export function trainingGFlopPerImage(cfg: StyleGANConfig): number {
  return 4 * styleganGFlopPerImage(cfg) + 15 * discriminatorGFlopPerImage(cfg);
}
