/**
 * The official progressive-growing schedule (training_schedule of the ProGAN / StyleGAN training loops): from the
 * number of images shown it gives the level of detail, the working resolution (the new, higher one during a fade),
 * the minibatch, the learning rates and the tick length.
 */

export interface ScheduleConfig {
  /** Resolution training starts at (4 for ProGAN, 8 for StyleGAN). */
  lodInitialResolution: number;
  /** Thousands of images per stable phase and per fade-in. */
  lodTrainingKimg: number;
  lodTransitionKimg: number;
  minibatchBase: number;
  /** Minibatch per working resolution (falls back to minibatchBase). */
  minibatchDict: Record<number, number>;
  /** Cap per resolution (ProGAN's fp32 memory limit per GPU). */
  maxMinibatch: Record<number, number>;
  gLrateBase: number;
  gLrateDict: Record<number, number>;
  dLrateBase: number;
  dLrateDict: Record<number, number>;
  /** Linear learning-rate warm-up length in kimg (0 = none). */
  lrateRampupKimg: number;
  tickKimgBase: number;
  tickKimgDict: Record<number, number>;
}

export interface ScheduleState {
  kimg: number;
  lod: number;
  resolution: number;
  minibatch: number;
  gLrate: number;
  dLrate: number;
  tickKimg: number;
}

/** The schedule at `curNimg` images for a dataset of `resolution`. */
export function trainingSchedule(curNimg: number, resolution: number, c: ScheduleConfig): ScheduleState {
  const R = Math.log2(resolution);
  const kimg = curNimg / 1000;
  const phaseDur = c.lodTrainingKimg + c.lodTransitionKimg;
  const phaseIdx = phaseDur > 0 ? Math.floor(kimg / phaseDur) : 0;
  const phaseKimg = kimg - phaseIdx * phaseDur;
  let lod = R - Math.floor(Math.log2(c.lodInitialResolution)) - phaseIdx;
  if (c.lodTransitionKimg > 0) lod -= Math.max(phaseKimg - c.lodTrainingKimg, 0) / c.lodTransitionKimg;
  lod = Math.max(lod, 0);
  const res = 2 ** (R - Math.floor(lod));
  let minibatch = c.minibatchDict[res] ?? c.minibatchBase;
  if (c.maxMinibatch[res] !== undefined) minibatch = Math.min(minibatch, c.maxMinibatch[res]!);
  let gLrate = c.gLrateDict[res] ?? c.gLrateBase;
  let dLrate = c.dLrateDict[res] ?? c.dLrateBase;
  if (c.lrateRampupKimg > 0) {
    const ramp = Math.min(kimg / c.lrateRampupKimg, 1);
    gLrate *= ramp;
    dLrate *= ramp;
  }
  return { kimg, lod, resolution: res, minibatch, gLrate, dLrate, tickKimg: c.tickKimgDict[res] ?? c.tickKimgBase };
}

/** Whether Adam is reset between two schedule states: floor or ceil of the lod changed (a fade starts or ends). */
export function lodBoundaryCrossed(prevLod: number, lod: number): boolean {
  return Math.floor(prevLod) !== Math.floor(lod) || Math.ceil(prevLod) !== Math.ceil(lod);
}
