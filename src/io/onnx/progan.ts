/**
 * The Progressive GAN generator G_paper (Karras et al. 2017) as one ONNX graph, from the config and the official
 * variables: z [N, latent] (+ one-hot c [N, labels], concatenated) → images [N, C, R, R] (raw, nominal range −1…1).
 */
import { type ProGANConfig, nf, log2Resolution } from '../../nets/config.js';
import { resolveLod } from '../../nets/progressive.js';
import { OnnxGraph } from './graph.js';
import { type WeightSource, heCoef, lrelu, pixelNorm, dense, bias, conv2d, upConv2d, toRgb, fadeOutput } from './layers.js';

/** G_paper at level of detail `lod` (0 = full resolution; defaults to the network's `lod` variable). */
export function proganGeneratorGraph(cfg: ProGANConfig, W: WeightSource, o: { fp16?: boolean; lod?: number } = {}): Uint8Array {
  const g = new OnnxGraph('G_paper', o.fp16);
  const R = log2Resolution(cfg);
  const { lod, workRes } = resolveLod(o.lod ?? W('lod').data[0]!, R);
  const pn = (x: string) => (cfg.usePixelNorm ? pixelNorm(g, x, cfg.usePixelNormEps) : x);
  /** Conv, bias, leaky ReLU and pixel norm: one layer of G_paper. */
  const block = (x: string, scope: string, up: boolean) => {
    const w = W(`${scope}/weight`);
    const fanIn = up && cfg.fusedScale !== false ? w.shape[0]! * w.shape[1]! * w.shape[3]! : w.shape[0]! * w.shape[1]! * w.shape[2]!;
    const coef = heCoef(Math.SQRT2, fanIn);
    const y = up
      ? upConv2d(g, x, { name: `${scope}/weight`, w, coef, fused: cfg.fusedScale !== false, layout: 'progan' })
      : conv2d(g, x, { name: `${scope}/weight`, w, coef });
    return pn(lrelu(g, bias(g, y, { name: `${scope}/bias`, b: W(`${scope}/bias`), rank: 4 })));
  };

  let x = g.input('z', ['N', cfg.latentSize]);
  if (cfg.labelSize > 0) x = g.node('Concat', [x, g.input('c', ['N', cfg.labelSize])], { attrs: { axis: 1 } });
  if (cfg.normalizeLatents) x = pixelNorm(g, x, cfg.usePixelNormEps);
  const c1 = nf(cfg, 1);
  const wd = W('4x4/Dense/weight');
  x = g.node('Reshape', [dense(g, x, { name: '4x4/Dense/weight', w: wd, coef: heCoef(Math.SQRT2 / 4, wd.shape[0]!) }), g.ints('shape', [-1, c1, 4, 4])]);
  x = pn(lrelu(g, bias(g, x, { name: '4x4/Dense/bias', b: W('4x4/Dense/bias'), rank: 4 })));
  x = block(x, '4x4/Conv', false);
  const features = new Map<number, string>([[2, x]]);
  for (let res = 3; res <= workRes; res++) {
    const s = `${2 ** res}x${2 ** res}`;
    x = block(block(x, cfg.fusedScale !== false ? `${s}/Conv0_up` : `${s}/Conv0`, true), `${s}/Conv1`, false);
    features.set(res, x);
  }
  const image = (res: number) => toRgb(g, features.get(res)!, {
    scope: `ToRGB_lod${R - res}`, w: W(`ToRGB_lod${R - res}/weight`), b: W(`ToRGB_lod${R - res}/bias`),
  });
  g.output('images', fadeOutput(g, { images: image, lod, R }), ['N', cfg.numChannels, cfg.resolution, cfg.resolution]);
  return g.encode('Progressive GAN G_paper exported by stylegan-ts');
}
