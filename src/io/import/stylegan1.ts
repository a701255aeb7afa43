/**
 * The architecture of an official StyleGAN1 TF pickle (NVlabs/stylegan: G_style with its G_mapping and G_synthesis
 * components, D_basic), read from the variable shapes and, for what the shapes cannot tell (learning-rate
 * multiplier, truncation, fused resampling, minibatch-stddev group), from the static kwargs and the defaults of
 * the official build functions. Every network present contributes and they must agree.
 */
import { styleganConfig, type StyleGANConfig } from '../../nets/config.js';
import type { NetworkRole } from '../checkpoint.js';
import { inferFeatureMaps, StageWidths } from './feature-maps.js';
import {
  addDiscriminatorWidths, addGeneratorWidths, Agreed, discriminatorOutputs, featureMapHints, imageChannels, minibatchStddev,
  resolutionLog2,
} from './layout.js';
import { component, countNumbered, Kwargs, shapeOf, type TfNetwork } from './tf-network.js';

export const STYLEGAN1_GENERATOR = 'G_style';
export const STYLEGAN1_DISCRIMINATOR = 'D_basic';

/** The fused_scale kwarg: true, false or 'auto'. */
function fusedScale(kw: Kwargs): boolean | 'auto' {
  const v = kw.raw('fused_scale') ?? 'auto';
  if (v !== true && v !== false && v !== 'auto') throw new Error(`${kw.where}: ${kw.net.name} static kwarg fused_scale=${JSON.stringify(v)} must be True, False or 'auto'`);
  return v;
}

/** Fails on static kwargs that select layers our networks do not have. */
function checkSupported(kw: Kwargs): void {
  kw.requireDefault('use_wscale', true, 'equalized learning rate');
  kw.requireDefault('nonlinearity', 'lrelu', 'leaky ReLU');
  kw.requireDefault('mapping_nonlinearity', 'lrelu', 'leaky ReLU in the mapping network');
  kw.requireDefault('normalize_latents', true, 'pixel norm of z');
  kw.requireDefault('const_input_layer', true, 'the learned 4x4 constant input');
  kw.requireDefault('blur_filter', [1, 2, 1], 'the [1, 2, 1] blur around resampling');
}

interface GeneratorFacts {
  latentSize: number;
  dlatentSize: number;
  mappingLayers: number;
  mappingFmaps: number;
  useNoise: boolean;
  useStyles: boolean;
}

/** Reads one G_style network into the shared readings; returns what only generators tell. */
function readGenerator(g: TfNetwork, { role, a, where }: { role: string; a: Readings; where: string }): GeneratorFacts {
  if (g.buildFuncName !== STYLEGAN1_GENERATOR) throw new Error(`${where}: ${role} is built by ${g.buildFuncName}, expected ${STYLEGAN1_GENERATOR}`);
  const syn = component(g, { key: 'synthesis', buildFunc: 'G_synthesis', where });
  const map = component(g, { key: 'mapping', buildFunc: 'G_mapping', where });
  for (const net of [g, syn, map]) {
    const kw = new Kwargs(net, where);
    checkSupported(kw);
    const source = `${role}/${net.buildFuncName} static kwargs`;
    a.fused.add(fusedScale(kw), source);
    if (kw.has('resolution')) a.res.add(kw.number('resolution', 0), source);
    if (kw.has('num_channels')) a.channels.add(kw.number('num_channels', 0), source);
  }
  const R = resolutionLog2(syn, where);
  a.res.add(2 ** R, `${role} ToRGB layers`);
  const noises = countNumbered(syn, /^noise(\d+)$/);
  if (noises > 0) a.res.add(shapeOf(syn, `noise${noises - 1}`, where)[3], `${role} G_synthesis/noise${noises - 1}`);
  a.channels.add(imageChannels(syn, where), `${role} G_synthesis/ToRGB_lod0`);
  addGeneratorWidths(a.widths, syn, { R, where });

  const layers = countNumbered(map, /^Dense(\d+)\/weight$/);
  if (layers === 0) throw new Error(`${where}: ${role} G_mapping has no Dense layers`);
  const labels = map.variables.has('LabelConcat/weight') ? shapeOf(map, 'LabelConcat/weight', where) : null;
  a.labels.add(labels ? labels[0] : 0, `${role} G_mapping`);
  const dense0 = shapeOf(map, 'Dense0/weight', where);
  return {
    latentSize: labels ? labels[1] : dense0[0],
    dlatentSize: shapeOf(g, 'dlatent_avg', where)[0],
    mappingLayers: layers,
    mappingFmaps: layers > 1 ? dense0[1] : new Kwargs(map, where).number('mapping_fmaps', 512),
    useNoise: syn.variables.has('4x4/Const/Noise/weight'),
    useStyles: syn.variables.has('4x4/Const/StyleMod/weight'),
  };
}

interface Readings {
  res: Agreed<number>;
  channels: Agreed<number>;
  labels: Agreed<number>;
  fused: Agreed<boolean | 'auto'>;
  widths: StageWidths;
}

/** The StyleGANConfig that rebuilds the networks of a StyleGAN1 pickle (G and/or Gs, and/or D). */
export function inferStyleGANConfig(nets: Partial<Record<NetworkRole, TfNetwork>>, where: string): StyleGANConfig {
  const a: Readings = {
    res: new Agreed('resolution', where), channels: new Agreed('image channels', where),
    labels: new Agreed('label size', where), fused: new Agreed('fused_scale', where), widths: new StageWidths(where),
  };
  const gen = new Agreed<GeneratorFacts>('mapping / latent sizes', where);
  for (const role of ['Gs', 'G'] as const) {
    const g = nets[role];
    if (g) gen.add(readGenerator(g, { role, a, where }), `${role} G_mapping`);
  }
  let mbstd = { mbstdGroupSize: 4, mbstdNumFeatures: 1 };
  const d = nets.D;
  if (d) {
    if (d.buildFuncName !== STYLEGAN1_DISCRIMINATOR) throw new Error(`${where}: D is built by ${d.buildFuncName}, expected ${STYLEGAN1_DISCRIMINATOR}`);
    const kw = new Kwargs(d, where);
    checkSupported(kw);
    const source = 'D/D_basic static kwargs';
    a.fused.add(fusedScale(kw), source);
    if (kw.has('resolution')) a.res.add(kw.number('resolution', 0), source);
    if (kw.has('num_channels')) a.channels.add(kw.number('num_channels', 0), source);
    const R = resolutionLog2(d, where);
    a.res.add(2 ** R, 'D FromRGB layers');
    a.channels.add(imageChannels(d, where), 'D FromRGB_lod0');
    addDiscriminatorWidths(a.widths, d, { R, where });
    // D_basic has max(label_size, 1) outputs, so a single output means 0 or 1 labels.
    const outputs = discriminatorOutputs(d, where);
    if (outputs > 1) a.labels.add(outputs, 'D 4x4/Dense1');
    else if (!a.labels.known()) a.labels.add(kw.number('label_size', 0), source);
    mbstd = minibatchStddev(d, where);
  }
  const R = Math.log2(a.res.get());
  const ref = nets.Gs ?? nets.G;
  const kw = ref ? new Kwargs(ref, where) : undefined;
  const facts = gen.known() ? gen.get() : undefined;
  const syn = ref?.components.get('synthesis');
  const synKw = syn ? new Kwargs(syn, where) : undefined;
  const mapKw = ref?.components.get('mapping');
  return styleganConfig({
    resolution: a.res.get(),
    numChannels: a.channels.get(),
    labelSize: a.labels.get(0),
    ...inferFeatureMaps(a.widths.byStage(), featureMapHints(ref ?? d!), where),
    fusedScale: a.fused.get('auto'),
    ...mbstd,
    ...(facts ?? {}),
    mappingLrmul: mapKw ? new Kwargs(mapKw, where).number('mapping_lrmul', 0.01) : 0.01,
    useInstanceNorm: synKw?.bool('use_instance_norm', true) ?? true,
    usePixelNorm: synKw?.bool('use_pixel_norm', false) ?? false,
    truncationPsi: kw?.isNone('truncation_psi') ? 1 : kw?.number('truncation_psi', 0.7) ?? 0.7,
    truncationCutoff: kw?.isNone('truncation_cutoff') ? 2 * R - 2 : kw?.number('truncation_cutoff', 8) ?? 8,
    dlatentAvgBeta: kw?.isNone('dlatent_avg_beta') ? 1 : kw?.number('dlatent_avg_beta', 0.995) ?? 0.995,
    styleMixingProb: kw?.isNone('style_mixing_prob') ? 0 : kw?.number('style_mixing_prob', 0.9) ?? 0.9,
  });
}
