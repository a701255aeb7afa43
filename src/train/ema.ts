/**
 * The generator's exponential moving average Gs: trainable variables follow G with Gs ← lerp(G, Gs, β); the
 * non-trainable ones (lod, dlatent_avg, stored noise) are copied outright.
 */
import * as E from '../engine/index.js';
import type { StatefulNetwork } from '../nets/index.js';
import type { Preset } from './presets.js';

/** StyleGAN's β for a minibatch: a half-life of `halfLifeKimg` thousand images. */
export function emaBetaForHalfLife(minibatch: number, halfLifeKimg: number): number {
  return halfLifeKimg > 0 ? 0.5 ** (minibatch / (halfLifeKimg * 1000)) : 0;
}

/** A preset's β for a minibatch: from its half-life (StyleGAN) or its constant β (ProGAN, default 0.999). */
export function presetEmaBeta(preset: Pick<Preset, 'gSmoothingKimg' | 'gSmoothingBeta'>, minibatch: number): number {
  return preset.gSmoothingKimg !== undefined ? emaBetaForHalfLife(minibatch, preset.gSmoothingKimg) : preset.gSmoothingBeta ?? 0.999;
}

/** Updates `gs` toward `g` (same architecture). Trainables are recognised by requiring grad. */
export function updateEma(gs: StatefulNetwork, g: StatefulNetwork, beta: number): void {
  const src = g.stateDict();
  E.noGrad(() => {
    for (const [name, t] of gs.stateDict()) {
      const s = src.get(name)!;
      if (t.requiresGrad) t.lerp_(s, 1 - beta);
      else t.copy_(s);
    }
  });
}
