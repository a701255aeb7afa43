/**
 * StyleGAN (Karras et al. 2018) as two ONNX graphs, built from the config and the official variables of G_mapping
 * and G_synthesis:
 * - mapping: z [N, latent] (+ one-hot c [N, labels]) → dlatents [N, layers, dlatent], w broadcast to every layer
 *   (before truncation: ψ, style mixing and the noise are the caller's);
 * - synthesis: dlatents [N, layers, dlatent] and noise0 … noise{L−1} [N, 1, r, r] → images [N, C, R, R] (raw,
 *   nominal range −1…1).
 */
import { type StyleGANConfig, nf, isFused, log2Resolution, numStyleLayers } from '../../nets/config.js';
import { resolveLod } from '../../nets/progressive.js';
import { OnnxGraph } from './graph.js';
import {
  type WeightSource, heCoef, lrelu, pixelNorm, instanceNorm, dense, bias, conv2d, upConv2d, blur2d, applyNoise, styleMod,
  toRgb, fadeOutput,
} from './layers.js';

/** The resolution (side in pixels) of synthesis layer i: two layers per resolution from 4². */
export const layerResolution = (i: number): number => 2 ** ((i >> 1) + 2);

/** The official scope of synthesis layer i ('4x4/Const', '4x4/Conv', '8x8/Conv0_up', '8x8/Conv1', …). */
export function layerScope(i: number): string {
  const r = layerResolution(i);
  if (r === 4) return i === 0 ? '4x4/Const' : '4x4/Conv';
  return `${r}x${r}/${i % 2 === 0 ? 'Conv0_up' : 'Conv1'}`;
}

/** G_mapping: z (+ label embedding) → pixel norm → dense layers with lrmul and leaky ReLU → w, broadcast. */
export function mappingGraph(cfg: StyleGANConfig, W: WeightSource, fp16 = false): Uint8Array {
  const g = new OnnxGraph('G_mapping', fp16);
  let x = g.input('z', ['N', cfg.latentSize]);
  if (cfg.labelSize > 0) {
    const c = g.input('c', ['N', cfg.labelSize]);
    x = g.node('Concat', [x, dense(g, c, { name: 'G_mapping/LabelConcat/weight', w: W('G_mapping/LabelConcat/weight'), coef: 1 })], { attrs: { axis: 1 } });
  }
  x = pixelNorm(g, x);
  for (let i = 0; i < cfg.mappingLayers; i++) {
    const w = W(`G_mapping/Dense${i}/weight`);
    x = dense(g, x, { name: `G_mapping/Dense${i}/weight`, w, coef: heCoef(Math.SQRT2, w.shape[0]!, cfg.mappingLrmul) });
    x = lrelu(g, bias(g, x, { name: `G_mapping/Dense${i}/bias`, b: W(`G_mapping/Dense${i}/bias`), rank: 2, coef: cfg.mappingLrmul }));
  }
  const L = numStyleLayers(cfg);
  const broadcast = g.node('Expand', [g.node('Reshape', [x, g.ints('w_shape', [-1, 1, cfg.dlatentSize])]), g.ints('layers', [1, L, 1])]);
  g.output('dlatents', broadcast, ['N', L, cfg.dlatentSize]);
  return g.encode('StyleGAN G_mapping exported by stylegan-ts');
}

/** G_synthesis at level of detail `lod` (0 = full resolution; defaults to the network's `lod` variable). */
export function synthesisGraph(cfg: StyleGANConfig, W: WeightSource, o: { fp16?: boolean; lod?: number } = {}): Uint8Array {
  const g = new OnnxGraph('G_synthesis', o.fp16);
  const R = log2Resolution(cfg);
  const L = numStyleLayers(cfg);
  const { lod, workRes } = resolveLod(o.lod ?? W('G_synthesis/lod').data[0]!, R);
  const v = (name: string) => W(`G_synthesis/${name}`);
  const dlatents = g.input('dlatents', ['N', L, cfg.dlatentSize]);
  const noise = Array.from({ length: L }, (_, i) => (cfg.useNoise ? g.input(`noise${i}`, ['N', 1, layerResolution(i), layerResolution(i)]) : ''));

  /** Noise, bias, activation, normalization and style modulation after each conv (the "epilogue" of layer i). */
  const epilogue = (x: string, i: number, channels: number): string => {
    const scope = layerScope(i);
    let y = x;
    if (cfg.useNoise) y = applyNoise(g, y, { noise: noise[i]!, name: `G_synthesis/${scope}/Noise/weight`, strength: v(`${scope}/Noise/weight`) });
    y = lrelu(g, bias(g, y, { name: `G_synthesis/${scope}/bias`, b: v(`${scope}/bias`), rank: 4 }));
    if (cfg.usePixelNorm) y = pixelNorm(g, y);
    if (cfg.useInstanceNorm) y = instanceNorm(g, y);
    if (cfg.useStyles) {
      const w = g.node('Gather', [dlatents, g.ints('layer', [i], [])], { attrs: { axis: 1 } });
      y = styleMod(g, y, {
        w, name: `G_synthesis/${scope}/StyleMod`, A: v(`${scope}/StyleMod/weight`), b: v(`${scope}/StyleMod/bias`),
        coef: heCoef(1, cfg.dlatentSize), channels,
      });
    }
    return y;
  };
  const convWeight = (name: string) => {
    const w = v(name);
    return { w, coef: heCoef(Math.SQRT2, w.shape[0]! * w.shape[1]! * w.shape[2]!) };
  };

  const c4 = nf(cfg, 1);
  let x = g.weight('G_synthesis/4x4/Const/const', v('4x4/Const/const').data, [1, c4, 4, 4]);
  if (!cfg.useNoise && !cfg.useStyles) {
    const n = g.node('Slice', [g.node('Shape', [dlatents]), g.ints('start', [0]), g.ints('end', [1])]);
    x = g.node('Expand', [x, g.node('Concat', [n, g.ints('chw', [c4, 4, 4])], { attrs: { axis: 0 } })]);
  }
  x = epilogue(x, 0, c4);
  const conv4 = convWeight('4x4/Conv/weight');
  x = epilogue(conv2d(g, x, { name: 'G_synthesis/4x4/Conv/weight', w: conv4.w, coef: conv4.coef }), 1, c4);
  const features = new Map<number, string>([[2, x]]);
  for (let res = 3; res <= workRes; res++) {
    const s = `${2 ** res}x${2 ** res}`;
    const c = nf(cfg, res - 1);
    const up = convWeight(`${s}/Conv0_up/weight`);
    x = upConv2d(g, x, { name: `G_synthesis/${s}/Conv0_up/weight`, w: up.w, coef: up.coef, fused: isFused(cfg, 2 ** res) });
    x = epilogue(blur2d(g, x, c), 2 * res - 4, c);
    const conv1 = convWeight(`${s}/Conv1/weight`);
    x = epilogue(conv2d(g, x, { name: `G_synthesis/${s}/Conv1/weight`, w: conv1.w, coef: conv1.coef }), 2 * res - 3, c);
    features.set(res, x);
  }
  const image = (res: number) => {
    const scope = `ToRGB_lod${R - res}`;
    return toRgb(g, features.get(res)!, { scope: `G_synthesis/${scope}`, w: v(`${scope}/weight`), b: v(`${scope}/bias`) });
  };
  g.output('images', fadeOutput(g, { images: image, lod, R }), ['N', cfg.numChannels, cfg.resolution, cfg.resolution]);
  return g.encode('StyleGAN G_synthesis exported by stylegan-ts');
}
