/**
 * Architecture configurations of the official networks, with the official defaults. A config is plain JSON: it is
 * stored in checkpoint metadata and inferred from official pickles.
 */
import { checkConfig } from './config-check.js';

export interface CommonConfig {
  /** Output resolution, a power of two in 4…1024. */
  resolution: number;
  /** Image channels (1 or 3). */
  numChannels: number;
  /** Number of classes for conditional networks (0 = unconditional). */
  labelSize: number;
  /** Feature maps: nf(stage) = min(fmapBase / 2^(stage·fmapDecay), fmapMax). */
  fmapBase: number;
  fmapDecay: number;
  fmapMax: number;
  /** Fused resampling convolutions: true, false, or 'auto' (from 128² up, StyleGAN's default). */
  fusedScale: boolean | 'auto';
  /** Minibatch standard deviation group size of D (0 or 1 disables) and number of features. */
  mbstdGroupSize: number;
  mbstdNumFeatures: number;
}

export interface StyleGANConfig extends CommonConfig {
  arch: 'stylegan';
  /** Size of z and of w. */
  latentSize: number;
  dlatentSize: number;
  /** Mapping network depth, width and learning-rate multiplier. */
  mappingLayers: number;
  mappingFmaps: number;
  mappingLrmul: number;
  /** Per-layer noise inputs, AdaIN styles, instance norm and pixel norm in G (the ablations of Table 1). */
  useNoise: boolean;
  useStyles: boolean;
  useInstanceNorm: boolean;
  usePixelNorm: boolean;
  /** Inference truncation defaults of the official Gs (ψ = 0.7 on layers below 8). */
  truncationPsi: number;
  truncationCutoff: number;
  /** Training: w-average tracking and the style-mixing regularization. */
  dlatentAvgBeta: number;
  styleMixingProb: number;
}

export interface ProGANConfig extends CommonConfig {
  arch: 'progan';
  latentSize: number;
  normalizeLatents: boolean;
  usePixelNorm: boolean;
  usePixelNormEps: number;
}

export type NetworkConfig = StyleGANConfig | ProGANConfig;

const common = (resolution: number): CommonConfig => ({
  resolution, numChannels: 3, labelSize: 0, fmapBase: 8192, fmapDecay: 1.0, fmapMax: 512, fusedScale: 'auto',
  mbstdGroupSize: 4, mbstdNumFeatures: 1,
});

/** The official StyleGAN (FFHQ) architecture at `resolution`, with overrides. */
export function styleganConfig(o: Partial<StyleGANConfig> = {}): StyleGANConfig {
  const cfg: StyleGANConfig = {
    ...common(o.resolution ?? 1024), arch: 'stylegan', latentSize: 512, dlatentSize: 512, mappingLayers: 8, mappingFmaps: 512,
    mappingLrmul: 0.01, useNoise: true, useStyles: true, useInstanceNorm: true, usePixelNorm: false,
    truncationPsi: 0.7, truncationCutoff: 8, dlatentAvgBeta: 0.995, styleMixingProb: 0.9, ...o,
  };
  validate(cfg);
  return cfg;
}

/** The official Progressive GAN (G_paper / D_paper, v2 preset) architecture at `resolution`, with overrides. */
export function proganConfig(o: Partial<ProGANConfig> = {}): ProGANConfig {
  const base = common(o.resolution ?? 1024);
  const cfg: ProGANConfig = {
    ...base, arch: 'progan', fusedScale: true, latentSize: 0, normalizeLatents: true, usePixelNorm: true, usePixelNormEps: 1e-8, ...o,
  };
  if (!cfg.latentSize) cfg.latentSize = nf(cfg, 0);
  validate(cfg);
  return cfg;
}

/** Checks every field (config-check.ts): unknown keys, types and ranges. */
export function validate(cfg: NetworkConfig): void {
  checkConfig(cfg);
  const r = Math.log2(cfg.resolution);
  if (!Number.isInteger(r) || r < 2 || r > 10) throw new Error(`resolution must be a power of two in 4…1024, got ${cfg.resolution}`);
  if (cfg.numChannels < 1) throw new Error(`numChannels must be ≥ 1, got ${cfg.numChannels}`);
  if (cfg.labelSize < 0) throw new Error(`labelSize must be ≥ 0, got ${cfg.labelSize}`);
}

/** Feature maps at a stage (stage s ↔ resolution 2^(s+1)). */
export function nf(cfg: CommonConfig, stage: number): number {
  return Math.min(Math.floor(cfg.fmapBase / 2 ** (stage * cfg.fmapDecay)), cfg.fmapMax);
}

export const log2Resolution = (cfg: CommonConfig): number => Math.log2(cfg.resolution);

/** Whether the resampling convolution producing (G) or consuming (D) resolution `res` is fused. */
export function isFused(cfg: CommonConfig, res: number): boolean {
  return cfg.fusedScale === 'auto' ? res >= 128 : cfg.fusedScale;
}

/** Number of synthesis layers (style inputs): two per resolution from 4². */
export const numStyleLayers = (cfg: CommonConfig): number => 2 * log2Resolution(cfg) - 2;

/** Side of the noise map of synthesis layer `layer` (two layers per resolution from 4²). */
export const noiseSize = (layer: number): number => 2 ** ((layer >> 1) + 2);
