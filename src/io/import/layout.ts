/**
 * What the variable shapes of a progressive generator or discriminator (ProGAN G_paper / D_paper, StyleGAN
 * G_synthesis / D_basic) say about the architecture: resolution, image channels and the feature maps per stage.
 * Both papers name the layers the same way: 'RxR/Conv1' ends every generator block, 'RxR/Conv0' starts every
 * discriminator block, 'ToRGB_lod{k}' / 'FromRGB_lod{k}' exist for k = 0 … log2(resolution) − 2.
 */
import { countNumbered, Kwargs, shapeOf, type TfNetwork } from './tf-network.js';
import type { FeatureMaps, StageWidths } from './feature-maps.js';

/** A value that several networks must agree on, with where each reading came from. */
export class Agreed<T> {
  private value: T | undefined;
  private source = '';

  constructor(readonly what: string, readonly where: string) {}

  add(value: T, source: string): void {
    if (this.value === undefined) {
      this.value = value;
      this.source = source;
    } else if (JSON.stringify(value) !== JSON.stringify(this.value)) {
      throw new Error(`${this.where}: ${source} gives ${this.what} ${JSON.stringify(value)} but ${this.source} gives ${JSON.stringify(this.value)}`);
    }
  }
  get(fallback?: T): T {
    if (this.value !== undefined) return this.value;
    if (fallback !== undefined) return fallback;
    throw new Error(`${this.where}: cannot tell the ${this.what}`);
  }
  known(): boolean {
    return this.value !== undefined;
  }
}

/** log2(resolution) from the number of ToRGB (generator) or FromRGB (discriminator) layers. */
export function resolutionLog2(net: TfNetwork, where: string): number {
  const rgb = net.variables.has('ToRGB_lod0/weight') ? 'ToRGB' : 'FromRGB';
  const n = countNumbered(net, new RegExp(`^${rgb}_lod(\\d+)/weight$`));
  if (n === 0 || n > 9) throw new Error(`${where}: ${net.name} has ${n} ToRGB/FromRGB layers; expected 1 to 9 (resolutions 4 to 1024)`);
  return n + 1;
}

/** Image channels from the full-resolution ToRGB / FromRGB weight ([1, 1, C, channels] / [1, 1, channels, C]). */
export function imageChannels(net: TfNetwork, where: string): number {
  if (net.variables.has('ToRGB_lod0/weight')) return shapeOf(net, 'ToRGB_lod0/weight', where)[3];
  return shapeOf(net, 'FromRGB_lod0/weight', where)[2];
}

/** Feature maps of a generator: stage 1 from '4x4/Conv', stage r − 1 from 'RxR/Conv1' (r = log2 R). */
export function addGeneratorWidths(widths: StageWidths, net: TfNetwork, { R, where }: { R: number; where: string }): void {
  widths.add(1, shapeOf(net, '4x4/Conv/weight', where)[3], `${net.name} 4x4/Conv/weight`);
  for (let res = 3; res <= R; res++) {
    const name = `${2 ** res}x${2 ** res}/Conv1/weight`;
    widths.add(res - 1, shapeOf(net, name, where)[3], `${net.name} ${name}`);
  }
}

/** Feature maps of a discriminator: stage 0 from '4x4/Dense0', stage 1 from '4x4/Conv', stage r − 1 from 'RxR/Conv0'. */
export function addDiscriminatorWidths(widths: StageWidths, net: TfNetwork, { R, where }: { R: number; where: string }): void {
  widths.add(0, shapeOf(net, '4x4/Dense0/weight', where)[1], `${net.name} 4x4/Dense0/weight`);
  widths.add(1, shapeOf(net, '4x4/Conv/weight', where)[3], `${net.name} 4x4/Conv/weight`);
  for (let res = 3; res <= R; res++) {
    const name = `${2 ** res}x${2 ** res}/Conv0/weight`;
    widths.add(res - 1, shapeOf(net, name, where)[3], `${net.name} ${name}`);
  }
}

/** Outputs of D's last layer ('4x4/Dense1/weight' [C, outputs]). */
export function discriminatorOutputs(net: TfNetwork, where: string): number {
  return shapeOf(net, '4x4/Dense1/weight', where)[1];
}

/** fmap_base / fmap_decay / fmap_max as given in a network's static kwargs (preferred by the feature-map search). */
export function featureMapHints(net: TfNetwork): Partial<FeatureMaps> {
  const kw = new Kwargs(net, '');
  const num = (key: string) => { const v = kw.raw(key); return typeof v === 'number' ? v : undefined; };
  return { fmapBase: num('fmap_base'), fmapDecay: num('fmap_decay'), fmapMax: num('fmap_max') };
}

/**
 * The minibatch-stddev layer of a discriminator: the extra input channels of '4x4/Conv' give the number of
 * features (none: the layer is off), the static kwargs (or the default of 4) the group size.
 */
export function minibatchStddev(net: TfNetwork, where: string): { mbstdGroupSize: number; mbstdNumFeatures: number } {
  const [, , cin, cout] = shapeOf(net, '4x4/Conv/weight', where);
  const kw = new Kwargs(net, where);
  if (cin === cout) return { mbstdGroupSize: 0, mbstdNumFeatures: kw.number('mbstd_num_features', 1) };
  return { mbstdGroupSize: kw.number('mbstd_group_size', 4), mbstdNumFeatures: cin - cout };
}
