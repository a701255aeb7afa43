/**
 * StyleGAN (Karras et al. 2018): the G_style wrapper (w-average, truncation, style mixing) around the mapping network
 * (mapping.ts) and the synthesis network (synthesis.ts). Variable names and layouts are those of the official
 * TensorFlow networks; the discriminator D_basic is in discriminator.ts.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { Network } from '../nn/module.js';
import type { StyleGANConfig } from './config.js';
import { MappingNetwork } from './mapping.js';
import { SynthesisNetwork, type SynthesisOptions } from './synthesis.js';

/** w' = avg + ψ·(w − avg) on layers below `cutoff` (the truncation trick, StyleGAN §B). */
export function truncate(dlatents: Tensor, dlatentAvg: Tensor, { psi, cutoff }: { psi: number; cutoff?: number | null }): Tensor {
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
    this.own.vars.add('lod', E.zeros([]), { trainable: false });
    this.own.vars.add('dlatent_avg', E.zeros([cfg.dlatentSize]), { trainable: false });
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
      if (psi !== 1) d = truncate(d, this.dlatentAvg, { psi, cutoff: o.truncationCutoff });
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
