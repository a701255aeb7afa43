/**
 * StyleGAN (Karras et al. 2018): the mapping network f: z → w, the synthesis network g driven by per-layer styles and
 * noise, the G_style wrapper (w-average, truncation, style mixing) and the D_basic discriminator. Variable names and
 * layouts are those of the official TensorFlow networks.
 */
import * as E from '../engine/index.js';
import type { Tensor, Generator } from '../engine/index.js';
import { Network } from '../nn/module.js';
import { Dense, Conv2d, UpConv2d, DownConv2d, ToRGB, applyBias } from '../nn/layers.js';
import { pixelNorm, instanceNorm, applyNoise, styleMod, blur2d, lrelu, downscale2d, lerpClip, minibatchStddev } from '../nn/ops.js';
import { type StyleGANConfig, nf, isFused, log2Resolution, numStyleLayers } from './config.js';
import { resolveLod, growOutput, discriminatorInput } from './progressive.js';

/** G_mapping: z (+ label embedding) → pixel norm → `mappingLayers` dense layers with lrmul → w. */
export class MappingNetwork extends Network {
  readonly layers: Dense[] = [];
  constructor(readonly cfg: StyleGANConfig, seed = 0, device = 'cpu') {
    super(seed, device);
    let features = cfg.latentSize;
    if (cfg.labelSize > 0) {
      this.vars.add('LabelConcat/weight', this.vars.randn([cfg.labelSize, cfg.latentSize]), true);
      features += cfg.latentSize;
    }
    for (let i = 0; i < cfg.mappingLayers; i++) {
      const out = i === cfg.mappingLayers - 1 ? cfg.dlatentSize : cfg.mappingFmaps;
      this.layers.push(new Dense(this.vars, `Dense${i}`, features, out, { lrmul: cfg.mappingLrmul }));
      this.vars.add(`Dense${i}/bias`, E.zeros([out]), true, cfg.mappingLrmul);
      features = out;
    }
  }

  /** z [N, latentSize] (+ one-hot labels [N, labelSize]) → w [N, dlatentSize]. */
  forward(z: Tensor, labels?: Tensor | null): Tensor {
    return E.tidy(() => {
      let x = z;
      if (this.cfg.labelSize > 0) {
        if (!labels) throw new Error(`G_mapping: this network is conditional (${this.cfg.labelSize} classes): pass labels`);
        x = E.cat([z, labels.matmul(this.vars.get('LabelConcat/weight'))], 1);
      }
      x = pixelNorm(x);
      for (const layer of this.layers) x = lrelu(applyBias(this.vars, `${layer.scope}/bias`, layer.forward(x)));
      return x;
    });
  }
}

/** How a synthesis layer gets its noise: a fresh sample, the stored map, none, or an explicit [N|1, 1, H, W] tensor. */
export type NoiseMode = 'random' | 'const' | 'none';
export type NoiseInput = NoiseMode | Tensor | null;
/** One mode for all layers, or one entry per layer (null = 'none'). */
export type NoiseSpec = NoiseMode | NoiseInput[];

export interface SynthesisOptions {
  noise?: NoiseSpec;
  /** Generator of the random noise maps. */
  generator?: Generator;
  /** Level of detail (0 = full resolution); defaults to the network's `lod` variable. */
  lod?: number;
  /** Return the image at the working resolution 2^(R − floor(lod)) instead of upscaling it to full size. */
  native?: boolean;
}

interface SynthesisLayer {
  scope: string;
  res: number;
  channels: number;
}

/** G_synthesis: learned 4×4 constant, then per resolution an upsampling conv and a conv, each followed by the epilogue. */
export class SynthesisNetwork extends Network {
  readonly numLayers: number;
  readonly resolutionLog2: number;
  readonly layers: SynthesisLayer[] = [];
  readonly convs = new Map<string, Conv2d | UpConv2d>();
  readonly toRgb: ToRGB[] = [];

  constructor(readonly cfg: StyleGANConfig, seed = 0, device = 'cpu') {
    super(seed, device);
    const R = log2Resolution(cfg);
    this.resolutionLog2 = R;
    this.numLayers = numStyleLayers(cfg);
    const v = this.vars;
    v.add('lod', E.zeros([]), false);
    for (let i = 0; i < this.numLayers; i++) {
      const s = 2 ** ((i >> 1) + 2);
      v.add(`noise${i}`, v.randn([1, 1, s, s]), false);
    }
    const epilogue = (scope: string, res: number, channels: number) => {
      if (cfg.useNoise) v.add(`${scope}/Noise/weight`, E.zeros([channels]), true);
      v.add(`${scope}/bias`, E.zeros([channels]), true);
      if (cfg.useStyles) {
        new Dense(v, `${scope}/StyleMod`, cfg.dlatentSize, channels * 2, { gain: 1 });
        v.add(`${scope}/StyleMod/bias`, E.zeros([channels * 2]), true);
      }
      this.layers.push({ scope, res, channels });
    };
    const c4 = nf(cfg, 1);
    v.add('4x4/Const/const', E.ones([1, c4, 4, 4]), true);
    epilogue('4x4/Const', 2, c4);
    this.convs.set('4x4/Conv', new Conv2d(v, '4x4/Conv', c4, c4, 3));
    epilogue('4x4/Conv', 2, c4);
    this.toRgb.push(this.rgb(R, 2, c4));
    for (let res = 3; res <= R; res++) {
      const size = 2 ** res;
      const [cin, c] = [nf(cfg, res - 2), nf(cfg, res - 1)];
      this.convs.set(`${size}x${size}/Conv0_up`, new UpConv2d(v, `${size}x${size}/Conv0_up`, cin, c, 3, isFused(cfg, size)));
      epilogue(`${size}x${size}/Conv0_up`, res, c);
      this.convs.set(`${size}x${size}/Conv1`, new Conv2d(v, `${size}x${size}/Conv1`, c, c, 3));
      epilogue(`${size}x${size}/Conv1`, res, c);
      this.toRgb.push(this.rgb(R, res, c));
    }
  }

  private rgb(R: number, res: number, c: number): ToRGB {
    return new ToRGB(this.vars, `ToRGB_lod${R - res}`, c, this.cfg.numChannels);
  }

  /** The noise map of layer i for a batch of n, or null for none. */
  noiseFor(i: number, n: number, spec: NoiseSpec, generator?: Generator): Tensor | null {
    const entry = typeof spec === 'string' ? spec : spec[i] ?? null;
    if (entry === null || entry === 'none') return null;
    if (entry === 'const') return this.vars.get(`noise${i}`);
    const s = 2 ** ((i >> 1) + 2);
    if (entry === 'random') return E.randn([n, 1, s, s], { generator, device: this.device });
    if (entry.ndim !== 4 || entry.shape[1] !== 1 || entry.shape[2] !== s || entry.shape[3] !== s) {
      throw new Error(`noise for layer ${i} must be [N|1, 1, ${s}, ${s}], got [${entry.shape.join(', ')}]`);
    }
    return entry;
  }

  private epilogue(x: Tensor, i: number, dlatents: Tensor, noise: Tensor | null): Tensor {
    const { scope } = this.layers[i]!;
    const cfg = this.cfg;
    if (!E.isGradEnabled() && x.device === 'cpu' && !cfg.usePixelNorm) return this.fusedEpilogue(x, i, dlatents, noise);
    return E.tidy(() => {
      let y = x;
      if (cfg.useNoise && noise) y = applyNoise(y, noise, this.vars.get(`${scope}/Noise/weight`));
      y = lrelu(applyBias(this.vars, `${scope}/bias`, y));
      if (cfg.usePixelNorm) y = pixelNorm(y);
      if (cfg.useInstanceNorm) y = instanceNorm(y);
      if (cfg.useStyles) {
        const w = dlatents.select(1, i);
        const style = applyBias(this.vars, `${scope}/StyleMod/bias`, w.matmul(this.vars.runtime(`${scope}/StyleMod/weight`)));
        y = styleMod(y, style);
      }
      return y;
    });
  }

  /** The inference epilogue: one native kernel, in place on a copy of x unless x is a fresh activation. */
  private fusedEpilogue(x: Tensor, i: number, dlatents: Tensor, noise: Tensor | null): Tensor {
    const { scope } = this.layers[i]!;
    const cfg = this.cfg;
    return E.tidy(() => {
      const style = cfg.useStyles
        ? applyBias(this.vars, `${scope}/StyleMod/bias`, dlatents.select(1, i).matmul(this.vars.runtime(`${scope}/StyleMod/weight`)))
        : null;
      const y = i === 0 ? x.clone() : x;
      return E.fusedEpilogue_(y, {
        noise: cfg.useNoise && noise ? { map: noise, strength: this.vars.get(`${scope}/Noise/weight`) } : null,
        bias: this.vars.runtime(`${scope}/bias`), instanceNorm: cfg.useInstanceNorm, style,
      });
    });
  }

  private toRgbAt(res: number, x: Tensor): Tensor {
    return this.toRgb[res - 2]!.forward(x);
  }

  /** dlatents [N, numLayers, dlatentSize] → images [N, C, H, W] in ≈[−1, 1]. */
  forward(dlatents: Tensor, o: SynthesisOptions = {}): Tensor {
    const [n, layers] = dlatents.shape as [number, number, number];
    if (dlatents.ndim !== 3 || layers !== this.numLayers || dlatents.shape[2] !== this.cfg.dlatentSize) {
      throw new Error(`G_synthesis: dlatents must be [N, ${this.numLayers}, ${this.cfg.dlatentSize}], got [${dlatents.shape.join(', ')}]`);
    }
    const spec = o.noise ?? 'random';
    const R = this.resolutionLog2;
    const { lod, workRes } = resolveLod(o.lod ?? this.vars.get('lod').item(), R);
    const layer = (x: Tensor, i: number) => this.epilogue(x, i, dlatents, this.noiseFor(i, n, spec, o.generator));
    return E.tidy(() => {
      const first = E.tidy(() => {
        const x4 = layer(this.convs.get('4x4/Conv')!.forward(layer(this.vars.get('4x4/Const/const').expand(n, -1, 4, 4), 0)), 1);
        return { x: x4, img: this.toRgbAt(2, x4) };
      });
      return growOutput(first, (res, x) => {
        const size = `${2 ** res}x${2 ** res}`;
        const x0 = layer(blur2d(this.convs.get(`${size}/Conv0_up`)!.forward(x)), 2 * res - 4);
        const x1 = layer(this.convs.get(`${size}/Conv1`)!.forward(x0), 2 * res - 3);
        return { x: x1, img: this.toRgbAt(res, x1) };
      }, lod, R, workRes, o.native ?? false);
    });
  }
}

/** w' = avg + ψ·(w − avg) on layers below `cutoff` (the truncation trick, StyleGAN §B). */
export function truncate(dlatents: Tensor, dlatentAvg: Tensor, psi: number, cutoff?: number | null): Tensor {
  return E.tidy(() => {
    const layers = dlatents.shape[1]!;
    const upto = Math.min(cutoff ?? layers, layers);
    if (psi === 1 || upto <= 0) return dlatents.clone();
    const coefs = new Float32Array(layers).map((_, i) => (i < upto ? psi : 1));
    const c = E.fromTypedArray(coefs, [1, layers, 1]).to(dlatents.device);
    return dlatentAvg.reshape(1, 1, -1).lerp(dlatents, c);
  });
}

/** Style mixing: layers below `crossover` take `dst`'s dlatents, the rest `src`'s (StyleGAN §3.1). */
export function mixStyles(dst: Tensor, src: Tensor, crossover: number): Tensor {
  return E.tidy(() => {
    const layers = dst.shape[1]!;
    const mask = new Uint8Array(layers).map((_, i) => (i < crossover ? 1 : 0));
    return E.where(E.fromTypedArray(mask, [1, layers, 1], 'bool').to(dst.device), dst, src);
  });
}

/** Which layers a style-mixing figure takes from the source. */
export function styleLayerRange(name: 'coarse' | 'middle' | 'fine', numLayers: number): number[] {
  const range = name === 'coarse' ? [0, 4] : name === 'middle' ? [4, 8] : [8, numLayers];
  return Array.from({ length: Math.max(0, Math.min(range[1]!, numLayers) - range[0]!) }, (_, i) => range[0]! + i);
}

export interface GenerateOptions extends SynthesisOptions {
  labels?: Tensor | null;
  /** Truncation ψ (1 = off) and the number of layers it applies to (null = all). */
  truncationPsi?: number;
  truncationCutoff?: number | null;
}

/** G_style: mapping → broadcast → truncation → synthesis, with the tracked average w. */
export class StyleGANGenerator {
  readonly mapping: MappingNetwork;
  readonly synthesis: SynthesisNetwork;
  /** G_style's own variables: lod and dlatent_avg. */
  readonly own: Network;

  constructor(readonly cfg: StyleGANConfig, seed = 0, device = 'cpu') {
    this.own = new (class extends Network {})(seed, device);
    this.own.vars.add('lod', E.zeros([]), false);
    this.own.vars.add('dlatent_avg', E.zeros([cfg.dlatentSize]), false);
    this.mapping = new MappingNetwork(cfg, seed + 1, device);
    this.synthesis = new SynthesisNetwork(cfg, seed + 2, device);
  }

  get numLayers(): number {
    return this.synthesis.numLayers;
  }
  get dlatentAvg(): Tensor {
    return this.own.vars.get('dlatent_avg');
  }

  /** z → dlatents [N, numLayers, dlatentSize] (broadcast w, no truncation). */
  mapToDlatents(z: Tensor, labels?: Tensor | null): Tensor {
    return E.tidy(() => {
      const w = this.mapping.forward(z, labels);
      return w.unsqueeze(1).expand(-1, this.numLayers, -1);
    });
  }

  /** z → images, with truncation (ψ defaults to 1, i.e. off, like the PyTorch scripts; pass cfg.truncationPsi for the official Gs default). */
  forward(z: Tensor, o: GenerateOptions = {}): Tensor {
    return E.tidy(() => {
      let d = this.mapToDlatents(z, o.labels);
      const psi = o.truncationPsi ?? 1;
      if (psi !== 1) d = truncate(d, this.dlatentAvg, psi, o.truncationCutoff);
      return this.synthesis.forward(d, o);
    });
  }

  /** Official Gs variable view: own, then 'G_mapping/…', then 'G_synthesis/…'. */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>(this.own.stateDict());
    for (const [k, v] of this.mapping.stateDict()) out.set(`G_mapping/${k}`, v);
    for (const [k, v] of this.synthesis.stateDict()) out.set(`G_synthesis/${k}`, v);
    return out;
  }
  loadStateDict(values: Map<string, Tensor>, o: { strict?: boolean; source?: string } = {}): void {
    const parts = { own: new Map<string, Tensor>(), map: new Map<string, Tensor>(), syn: new Map<string, Tensor>() };
    for (const [k, v] of values) {
      if (k.startsWith('G_mapping/')) parts.map.set(k.slice(10), v);
      else if (k.startsWith('G_synthesis/')) parts.syn.set(k.slice(12), v);
      else parts.own.set(k, v);
    }
    const problems: string[] = [];
    const tryAssign = (net: Network, m: Map<string, Tensor>, prefix: string) => {
      try {
        net.vars.assign(m, { strict: o.strict });
      } catch (e) {
        problems.push(`${prefix}${(e as Error).message}`);
      }
    };
    // Validate all three before assigning any (assign is all-or-nothing per network).
    tryAssign(this.own, parts.own, 'G: ');
    tryAssign(this.mapping, parts.map, 'G_mapping: ');
    tryAssign(this.synthesis, parts.syn, 'G_synthesis: ');
    if (problems.length) throw new Error(`${o.source ? o.source + ': ' : ''}${problems.join('\n')}`);
  }
  parameters(): Tensor[] {
    return [...this.mapping.parameters(), ...this.synthesis.parameters()];
  }
  numParams(): number {
    return this.mapping.numParams() + this.synthesis.numParams();
  }
  castTo(dtype: E.DType): this {
    for (const n of [this.own, this.mapping, this.synthesis]) n.castTo(dtype);
    return this;
  }
  dispose(): void {
    this.own.dispose();
    this.mapping.dispose();
    this.synthesis.dispose();
  }
}

export interface DiscriminatorOptions {
  /** One-hot labels [N, labelSize] for conditional networks. */
  labels?: Tensor | null;
  /** Level of detail; defaults to the resolution of the input (full size → the `lod` variable). */
  lod?: number;
}

/** D_basic (StyleGAN) / D_paper (ProGAN): FromRGB, two convs per resolution, minibatch stddev, two dense layers. */
export class Discriminator extends Network {
  readonly resolutionLog2: number;
  readonly fromRgb = new Map<number, Conv2d>();
  readonly blocks = new Map<number, { conv0: Conv2d; conv1: DownConv2d }>();
  readonly conv4: Conv2d;
  readonly dense0: Dense;
  readonly dense1: Dense;

  constructor(
    readonly cfg: StyleGANConfig | import('./config.js').ProGANConfig, seed = 0, device = 'cpu',
    /** StyleGAN blurs before each downscaling conv; ProGAN does not. */
    readonly blur = cfg.arch === 'stylegan',
  ) {
    super(seed, device);
    const R = log2Resolution(cfg);
    this.resolutionLog2 = R;
    const v = this.vars;
    v.add('lod', E.zeros([]), false);
    const addFromRgb = (res: number) => {
      const c = nf(cfg, res - 1);
      const name = `FromRGB_lod${R - res}`;
      this.fromRgb.set(res, new Conv2d(v, name, cfg.numChannels, c, 1));
      v.add(`${name}/bias`, E.zeros([c]), true);
    };
    addFromRgb(R);
    for (let res = R; res >= 3; res--) {
      const size = 2 ** res;
      const s = `${size}x${size}`;
      const conv0 = new Conv2d(v, `${s}/Conv0`, nf(cfg, res - 1), nf(cfg, res - 1), 3);
      v.add(`${s}/Conv0/bias`, E.zeros([nf(cfg, res - 1)]), true);
      const fused = cfg.arch === 'progan' ? cfg.fusedScale !== false : isFused(cfg, size);
      const downName = cfg.arch === 'progan' && !fused ? `${s}/Conv1` : `${s}/Conv1_down`;
      const conv1 = new DownConv2d(v, downName, nf(cfg, res - 1), nf(cfg, res - 2), 3, fused);
      v.add(`${downName}/bias`, E.zeros([nf(cfg, res - 2)]), true);
      this.blocks.set(res, { conv0, conv1 });
      addFromRgb(res - 1);
    }
    const mb = cfg.mbstdGroupSize > 1 ? cfg.mbstdNumFeatures : 0;
    this.conv4 = new Conv2d(v, '4x4/Conv', nf(cfg, 1) + mb, nf(cfg, 1), 3);
    v.add('4x4/Conv/bias', E.zeros([nf(cfg, 1)]), true);
    this.dense0 = new Dense(v, '4x4/Dense0', nf(cfg, 1) * 16, nf(cfg, 0));
    v.add('4x4/Dense0/bias', E.zeros([nf(cfg, 0)]), true);
    const outs = cfg.arch === 'progan' ? 1 + cfg.labelSize : Math.max(cfg.labelSize, 1);
    this.dense1 = new Dense(v, '4x4/Dense1', nf(cfg, 0), outs, { gain: 1 });
    v.add('4x4/Dense1/bias', E.zeros([outs]), true);
  }

  /** A conv layer with its bias and leaky ReLU. */
  conv(layer: Conv2d | DownConv2d, x: Tensor): Tensor {
    return lrelu(applyBias(this.vars, `${layer.scope}/bias`, layer.forward(x)));
  }
  fromRgbAt(res: number, img: Tensor): Tensor {
    return this.conv(this.fromRgb.get(res)!, img);
  }

  /**
   * images [N, C, r, r] → { scores [N, 1], labelLogits (ProGAN conditional: [N, labelSize]) }. The input may be at the
   * working resolution of `lod` or at full size (then box-downscaled first, which the official linear structure
   * computes implicitly).
   */
  forwardFull(images: Tensor, o: DiscriminatorOptions = {}): { scores: Tensor; labelLogits: Tensor | null } {
    const R = this.resolutionLog2;
    return E.tidy(() => {
      const { lod, workRes, img } = discriminatorInput(images, o.lod, R, () => this.vars.get('lod').item(), this.cfg.numChannels);
      const frac = lod - Math.floor(lod);
      let x = this.fromRgbAt(workRes, img);
      for (let res = workRes; res >= 3; res--) {
        const b = this.blocks.get(res)!;
        const input = x;
        x = E.tidy(() => {
          const y = this.conv(b.conv1, this.blur ? blur2d(this.conv(b.conv0, input)) : this.conv(b.conv0, input));
          return res === workRes && frac > 0 ? lerpClip(y, this.fromRgbAt(res - 1, downscale2d(img)), frac) : y;
        });
        input.dispose();
      }
      if (this.cfg.mbstdGroupSize > 1) x = minibatchStddev(x, this.cfg.mbstdGroupSize, this.cfg.mbstdNumFeatures);
      x = this.conv(this.conv4, x);
      x = lrelu(applyBias(this.vars, '4x4/Dense0/bias', this.dense0.forward(x)));
      const out = applyBias(this.vars, '4x4/Dense1/bias', this.dense1.forward(x));
      const L = this.cfg.labelSize;
      if (this.cfg.arch === 'progan') return { scores: out.narrow(1, 0, 1), labelLogits: L > 0 ? out.narrow(1, 1, L) : null };
      if (L > 0) {
        if (!o.labels) throw new Error(`D: this network is conditional (${L} classes): pass labels`);
        return { scores: out.mul(o.labels).sum(1, true), labelLogits: null };
      }
      return { scores: out, labelLogits: null };
    });
  }

  /** Scores [N, 1]. */
  forward(images: Tensor, o: DiscriminatorOptions = {}): Tensor {
    return E.tidy(() => this.forwardFull(images, o).scores);
  }
}

