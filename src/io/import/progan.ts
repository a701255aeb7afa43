/**
 * The architecture of an official ProGAN TF pickle (tkarras/progressive_growing_of_gans: G_paper and D_paper in
 * `tfutil.Network` state version 2, no components), read from the variable shapes and names, and from the static
 * kwargs for what they cannot tell (pixel norm, minibatch-stddev group).
 *
 * Both layouts of the upscaling / downscaling convolutions are recognised by name: fused (G 'RxR/Conv0_up' with
 * its weight stored [k, k, Cout, Cin], D 'RxR/Conv1_down') and separate resampling (G 'RxR/Conv0', D 'RxR/Conv1'),
 * the latter as in the Theano-trained CelebA-HQ networks, which are named G_paper / D_paper and use a
 * minibatch-stddev group of 16. A network without a `lod` variable (a Theano-converted state) gets lod 0, as
 * TensorFlow initialises it.
 */
import { proganConfig, type ProGANConfig } from '../../nets/config.js';
import type { NetworkRole } from '../checkpoint.js';
import { inferFeatureMaps, StageWidths } from './feature-maps.js';
import {
  addDiscriminatorWidths, addGeneratorWidths, Agreed, discriminatorOutputs, featureMapHints, imageChannels, minibatchStddev,
  resolutionLog2,
} from './layout.js';
import { Kwargs, shapeOf, type TfNetwork } from './tf-network.js';

export const PROGAN_GENERATOR = 'G_paper';
export const PROGAN_DISCRIMINATOR = 'D_paper';

/** Fails on static kwargs that select layers our networks do not have. */
function checkSupported(kw: Kwargs): void {
  kw.requireDefault('use_wscale', true, 'equalized learning rate');
  kw.requireDefault('use_leakyrelu', true, 'leaky ReLU');
  kw.requireDefault('use_batchnorm', false, 'no batch norm');
  kw.requireDefault('use_layernorm', false, 'no layer norm');
}

/** Whether the first resampling layer found is the fused one: `fusedName` present, `plainName` present, or neither. */
function fusedByName(net: TfNetwork, fusedName: string, plainName: string): boolean | undefined {
  if (net.variables.has(fusedName)) return true;
  if (net.variables.has(plainName)) return false;
  return undefined;
}

/** The ProGANConfig that rebuilds the networks of a ProGAN pickle (G and/or Gs, and/or D). */
export function inferProGANConfig(nets: Partial<Record<NetworkRole, TfNetwork>>, where: string): ProGANConfig {
  const res = new Agreed<number>('resolution', where);
  const channels = new Agreed<number>('image channels', where);
  const fused = new Agreed<boolean>('fused_scale', where);
  const denseIn = new Agreed<number>('latent + label size', where);
  const labels = new Agreed<number>('label size', where);
  const widths = new StageWidths(where);
  const readCommon = (net: TfNetwork, role: string): Kwargs => {
    const kw = new Kwargs(net, where);
    checkSupported(kw);
    const source = `${role}/${net.buildFuncName} static kwargs`;
    if (kw.has('resolution')) res.add(kw.number('resolution', 0), source);
    if (kw.has('num_channels')) channels.add(kw.number('num_channels', 0), source);
    res.add(2 ** resolutionLog2(net, where), `${role} ${role === 'D' ? 'FromRGB' : 'ToRGB'} layers`);
    channels.add(imageChannels(net, where), `${role} ${role === 'D' ? 'FromRGB' : 'ToRGB'}_lod0`);
    return kw;
  };

  for (const role of ['Gs', 'G'] as const) {
    const g = nets[role];
    if (!g) continue;
    if (g.buildFuncName !== PROGAN_GENERATOR) throw new Error(`${where}: ${role} is built by ${g.buildFuncName}, expected ${PROGAN_GENERATOR}`);
    const kw = readCommon(g, role);
    const r = Math.log2(res.get());
    addGeneratorWidths(widths, g, { R: r, where });
    denseIn.add(shapeOf(g, '4x4/Dense/weight', where)[0], `${role} 4x4/Dense/weight`);
    const byName = r >= 3 ? fusedByName(g, '8x8/Conv0_up/weight', '8x8/Conv0/weight') : undefined;
    if (r >= 3 && byName === undefined) throw new Error(`${where}: ${role} has neither 8x8/Conv0_up nor 8x8/Conv0`);
    fused.add(byName ?? kw.bool('fused_scale', true), `${role} ${byName === undefined ? 'static kwargs' : 'layer names'}`);
  }
  let mbstd = { mbstdGroupSize: 4, mbstdNumFeatures: 1 };
  const d = nets.D;
  if (d) {
    if (d.buildFuncName !== PROGAN_DISCRIMINATOR) throw new Error(`${where}: D is built by ${d.buildFuncName}, expected ${PROGAN_DISCRIMINATOR}`);
    const kw = readCommon(d, 'D');
    const r = Math.log2(res.get());
    addDiscriminatorWidths(widths, d, { R: r, where });
    // D_paper outputs the score and one logit per label.
    labels.add(discriminatorOutputs(d, where) - 1, 'D 4x4/Dense1');
    const top = `${2 ** r}x${2 ** r}`;
    const byName = r >= 3 ? fusedByName(d, `${top}/Conv1_down/weight`, `${top}/Conv1/weight`) : undefined;
    if (r >= 3 && byName === undefined) throw new Error(`${where}: D has neither ${top}/Conv1_down nor ${top}/Conv1`);
    fused.add(byName ?? kw.bool('fused_scale', true), `D ${byName === undefined ? 'static kwargs' : 'layer names'}`);
    mbstd = minibatchStddev(d, where);
  }
  const ref = nets.Gs ?? nets.G;
  const kw = ref ? new Kwargs(ref, where) : undefined;
  const labelSize = labels.get(kw?.number('label_size', 0) ?? 0);
  const latentSize = denseIn.known() ? denseIn.get() - labelSize : undefined;
  if (latentSize !== undefined && latentSize <= 0) throw new Error(`${where}: G 4x4/Dense takes ${denseIn.get()} inputs, too few for ${labelSize} labels`);
  return proganConfig({
    resolution: res.get(),
    numChannels: channels.get(),
    labelSize,
    ...inferFeatureMaps(widths.byStage(), featureMapHints(ref ?? d!), where),
    fusedScale: fused.get(true),
    ...mbstd,
    ...(latentSize !== undefined ? { latentSize } : {}),
    normalizeLatents: kw?.bool('normalize_latents', true) ?? true,
    usePixelNorm: kw?.bool('use_pixelnorm', true) ?? true,
    usePixelNormEps: kw?.number('pixelnorm_epsilon', 1e-8) ?? 1e-8,
  });
}
