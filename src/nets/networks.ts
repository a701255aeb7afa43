/** Building networks from a config, and the G / D / Gs bundle every loader, trainer and writer passes around. */
import * as E from '../engine/index.js';
import type { Tensor, DType } from '../engine/index.js';
import { withoutInit } from '../nn/module.js';
import type { NetworkConfig, StyleGANConfig, ProGANConfig } from './config.js';
import { StyleGANGenerator } from './stylegan.js';
import { ProGANGenerator } from './progan.js';
import { Discriminator } from './discriminator.js';

export type Generator = StyleGANGenerator | ProGANGenerator;

/** The official roles: the generator G, the discriminator D and Gs, the moving average of G used for sampling. */
export type NetworkRole = 'G' | 'D' | 'Gs';
export const NETWORK_ROLES: readonly NetworkRole[] = ['G', 'D', 'Gs'];

/** The networks of one model under their roles (any of them may be absent) and the architecture they share. */
export interface Networks {
  config: NetworkConfig;
  G?: Generator;
  D?: Discriminator;
  Gs?: Generator;
}

/** Anything with official-name state: every network class. */
export interface StatefulNetwork {
  stateDict(): Map<string, Tensor>;
  loadStateDict(values: Map<string, Tensor>, o?: { strict?: boolean; source?: string }): void;
  parameters(): Tensor[];
  numParams(): number;
  castTo(dtype: DType): unknown;
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

/** The network of a role: the discriminator for D, else the generator. */
export function buildNetwork(role: NetworkRole, cfg: NetworkConfig, device = 'cpu'): Generator | Discriminator {
  return role === 'D' ? buildDiscriminator(cfg, 0, device) : buildGenerator(cfg, 0, device);
}

export interface LoadNetworkOptions {
  role: NetworkRole;
  config: NetworkConfig;
  device?: string;
  /** The values by official name, given the built (uninitialized) network; called inside a tidy scope. */
  values: (net: Generator | Discriminator) => Map<string, Tensor>;
  /** Names the source in errors. */
  source: string;
}

/** Builds the network of a role without drawing initial values and loads every variable (all-or-nothing; disposed on failure). */
export function loadNetwork(o: LoadNetworkOptions): Generator | Discriminator {
  const net = withoutInit(() => buildNetwork(o.role, o.config, o.device));
  try {
    E.tidy(() => net.loadStateDict(o.values(net), { source: o.source }));
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}
