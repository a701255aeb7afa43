/** ProGAN and StyleGAN networks, built from a config. */
import type { Tensor } from '../engine/index.js';
import { type NetworkConfig, type StyleGANConfig, type ProGANConfig } from './config.js';
import { StyleGANGenerator, Discriminator } from './stylegan.js';
import { ProGANGenerator } from './progan.js';

export * from './config.js';
export * from './stylegan.js';
export { ProGANGenerator, type ProGANGenerateOptions } from './progan.js';
export { resolveLod } from './progressive.js';

export type Generator = StyleGANGenerator | ProGANGenerator;

/** Anything with official-name state: every network class. */
export interface StatefulNetwork {
  stateDict(): Map<string, Tensor>;
  loadStateDict(values: Map<string, Tensor>, o?: { strict?: boolean; source?: string }): void;
  parameters(): Tensor[];
  numParams(): number;
  castTo(dtype: import('../engine/index.js').DType): unknown;
  dispose(): void;
}

export function buildGenerator(cfg: StyleGANConfig, seed?: number, device?: string): StyleGANGenerator;
export function buildGenerator(cfg: ProGANConfig, seed?: number, device?: string): ProGANGenerator;
export function buildGenerator(cfg: NetworkConfig, seed?: number, device?: string): Generator;
export function buildGenerator(cfg: NetworkConfig, seed = 0, device = 'cpu'): Generator {
  return cfg.arch === 'stylegan' ? new StyleGANGenerator(cfg, seed, device) : new ProGANGenerator(cfg, seed, device);
}

export function buildDiscriminator(cfg: NetworkConfig, seed = 0, device = 'cpu'): Discriminator {
  return new Discriminator(cfg, seed, device);
}
