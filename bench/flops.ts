/**
 * Floating-point work of the StyleGAN generator as stylegan-ts runs it (multiply-adds × 2), from the configuration:
 * the mapping network, per synthesis layer its convolution (the fused transposed 4×4-tap upsampling convolution from
 * the config's fused threshold, else nearest upscale + 3×3), the blur after upsampling, the style dense layers, and
 * the ToRGB of every resolution. Elementwise work (epilogue, noise) is left out: it is memory-bound.
 */
import { nf, isFused, type StyleGANConfig, type ProGANConfig } from '../src/nets/config.js';

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
