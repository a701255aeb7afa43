/**
 * Training presets: the official configurations (numbers from the papers' training scripts) and small-width CPU
 * presets for 2-core machines. A preset fixes the network overrides, the schedule, the loss and the EMA.
 */
import type { StyleGANConfig, ProGANConfig } from '../nets/index.js';
import type { ScheduleConfig } from './schedule.js';

export interface LossConfig {
  /** StyleGAN: R1 weight γ. */
  r1Gamma: number;
  /** ProGAN: WGAN-GP λ, target norm, drift ε and AC-GAN label weight. */
  wganLambda: number;
  wganTarget: number;
  epsDrift: number;
  condWeight: number;
}

export interface Preset {
  name: string;
  description: string;
  arch: 'stylegan' | 'progan';
  net: Partial<StyleGANConfig> | Partial<ProGANConfig>;
  schedule: ScheduleConfig;
  loss: LossConfig;
  totalKimg: number;
  minibatchRepeats: number;
  /** StyleGAN: EMA half-life in kimg; ProGAN: constant β per step (`gSmoothingBeta`). */
  gSmoothingKimg?: number;
  gSmoothingBeta?: number;
  adam: { beta1: number; beta2: number; eps: number };
  networkSnapshotTicks: number;
}

const adam = { beta1: 0, beta2: 0.99, eps: 1e-8 };
const styleganLoss: LossConfig = { r1Gamma: 10, wganLambda: 10, wganTarget: 1, epsDrift: 0.001, condWeight: 1 };
const proganLoss: LossConfig = { ...styleganLoss, r1Gamma: 0 };
const styleganTicks = { 4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20 };
const proganTicks = { 4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 20, 1024: 10 };
const oneGpuMinibatch = { 4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4 };

function schedule(o: Partial<ScheduleConfig>): ScheduleConfig {
  return {
    lodInitialResolution: 4, lodTrainingKimg: 600, lodTransitionKimg: 600, minibatchBase: 16, minibatchDict: {},
    maxMinibatch: {}, gLrateBase: 0.001, gLrateDict: {}, dLrateBase: 0.001, dLrateDict: {}, lrateRampupKimg: 0,
    tickKimgBase: 160, tickKimgDict: {}, ...o,
  };
}

const styleganLr = { 128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003 };

export const PRESETS: Record<string, Preset> = {
  'stylegan-1gpu': {
    name: 'stylegan-1gpu', description: 'StyleGAN FFHQ configuration, 1-GPU minibatches (official)', arch: 'stylegan', net: {},
    schedule: schedule({ lodInitialResolution: 8, minibatchBase: 4, minibatchDict: oneGpuMinibatch, gLrateDict: styleganLr, dLrateDict: styleganLr, tickKimgDict: styleganTicks }),
    loss: styleganLoss, totalKimg: 25000, minibatchRepeats: 4, gSmoothingKimg: 10, adam, networkSnapshotTicks: 10,
  },
  'stylegan-8gpu': {
    name: 'stylegan-8gpu', description: 'StyleGAN FFHQ configuration, 8-GPU minibatches (official default)', arch: 'stylegan', net: {},
    schedule: schedule({ lodInitialResolution: 8, minibatchBase: 32, minibatchDict: { 4: 512, 8: 256, 16: 128, 32: 64, 64: 32 }, gLrateDict: styleganLr, dLrateDict: styleganLr, tickKimgDict: styleganTicks }),
    loss: styleganLoss, totalKimg: 25000, minibatchRepeats: 4, gSmoothingKimg: 10, adam, networkSnapshotTicks: 10,
  },
  'progan-1gpu': {
    name: 'progan-1gpu', description: 'Progressive GAN v2 preset, 1 GPU (official)', arch: 'progan', net: {},
    schedule: schedule({ lodInitialResolution: 4, minibatchBase: 4, minibatchDict: oneGpuMinibatch, maxMinibatch: { 256: 16, 512: 8, 1024: 4 }, gLrateDict: { 1024: 0.0015 }, dLrateDict: { 1024: 0.0015 }, tickKimgDict: proganTicks }),
    loss: proganLoss, totalKimg: 12000, minibatchRepeats: 4, gSmoothingBeta: 0.999, adam, networkSnapshotTicks: 10,
  },
  'stylegan-cpu': {
    name: 'stylegan-cpu',
    description: 'StyleGAN with small widths for 2 CPU cores (32² datasets): fmaps 128→32, latent 128, mapping 4, R1 γ=1',
    arch: 'stylegan',
    net: { fmapBase: 512, fmapMax: 128, latentSize: 128, dlatentSize: 128, mappingFmaps: 128, mappingLayers: 4 },
    schedule: schedule({ lodInitialResolution: 8, lodTrainingKimg: 40, lodTransitionKimg: 40, minibatchBase: 32, gLrateBase: 0.002, dLrateBase: 0.002, tickKimgBase: 4 }),
    loss: { ...styleganLoss, r1Gamma: 1 }, totalKimg: 400, minibatchRepeats: 4, gSmoothingKimg: 5, adam, networkSnapshotTicks: 5,
  },
  'progan-cpu': {
    name: 'progan-cpu', description: 'Progressive GAN with small widths for 2 CPU cores (32² datasets): fmap 128, latent 128',
    arch: 'progan', net: { fmapBase: 1024, fmapMax: 128, latentSize: 128 },
    schedule: schedule({ lodInitialResolution: 4, lodTrainingKimg: 20, lodTransitionKimg: 20, minibatchBase: 32, tickKimgBase: 4 }),
    // A half-life instead of the official β = 0.999 per step: that β suits runs of millions of images, while after a
    // CPU run's ~1,300 steps Gs would still hold 0.999^1300 ≈ 27% of its random initialization.
    loss: proganLoss, totalKimg: 200, minibatchRepeats: 4, gSmoothingKimg: 5, adam, networkSnapshotTicks: 5,
  },
  'smoke': {
    name: 'smoke', description: 'A few hundred images through every phase (tests)', arch: 'stylegan',
    net: { fmapBase: 64, fmapMax: 16, latentSize: 16, dlatentSize: 16, mappingFmaps: 16, mappingLayers: 2 },
    schedule: schedule({ lodInitialResolution: 4, lodTrainingKimg: 0.064, lodTransitionKimg: 0.064, minibatchBase: 8, tickKimgBase: 0.064 }),
    loss: styleganLoss, totalKimg: 0.384, minibatchRepeats: 2, gSmoothingKimg: 0.1, adam, networkSnapshotTicks: 2,
  },
};

export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown preset '${name}' (available: ${Object.keys(PRESETS).join(', ')})`);
  return structuredClone(p);
}
