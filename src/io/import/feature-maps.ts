/**
 * The feature-map schedule of a pickled network. ProGAN and StyleGAN size every layer by
 * nf(stage) = min(fmap_base / 2^(stage·fmap_decay), fmap_max), where stage s holds the layers at resolution 2^(s+1)
 * (stage 0 is D's last dense layer). The pickles keep only the widths, so the importer collects them per stage from
 * the weight shapes and finds a (fmap_base, fmap_decay, fmap_max) that reproduces every one of them.
 */
import { nf, type CommonConfig } from '../../nets/config.js';

export type FeatureMaps = Pick<CommonConfig, 'fmapBase' | 'fmapDecay' | 'fmapMax'>;

/** Widths seen per stage, with the variable each came from (to name both sides of a conflict). */
export class StageWidths {
  readonly widths = new Map<number, { width: number; source: string }>();

  constructor(readonly where: string) {}

  add(stage: number, width: number, source: string): void {
    const seen = this.widths.get(stage);
    if (seen && seen.width !== width) {
      throw new Error(`${this.where}: ${source} has ${width} feature maps but ${seen.source} has ${seen.width} (both at resolution ${2 ** (stage + 1)})`);
    }
    if (!seen) this.widths.set(stage, { width, source });
  }

  /** The widths in stage order, as `stage → width`. */
  byStage(): Map<number, number> {
    return new Map([...this.widths].sort(([a], [b]) => a - b).map(([s, { width }]) => [s, width]));
  }
}

const unique = (xs: (number | undefined)[]): number[] => [...new Set(xs.filter((x): x is number => x !== undefined && Number.isFinite(x) && x > 0))];

/** Whether the schedule gives exactly these widths. */
function fits(fm: FeatureMaps, widths: Map<number, number>): boolean {
  // nf reads only the three feature-map fields of the config.
  return [...widths].every(([s, w]) => nf(fm as CommonConfig, s) === w);
}

/**
 * A schedule that reproduces `widths` (stage → feature maps), preferring the values in `hints` (the pickle's static
 * kwargs) and the official decay of 1. Fails, listing the widths, when none does.
 */
export function inferFeatureMaps(widths: Map<number, number>, hints: Partial<FeatureMaps>, where: string): FeatureMaps {
  const stages = [...widths.keys()].sort((a, b) => a - b);
  if (stages.length === 0) throw new Error(`${where}: no layer widths to infer the feature maps from`);
  const ws = stages.map((s) => widths.get(s)!);
  const widest = Math.max(...ws);
  // The first and last stage below the cap give the decay (to 3 decimals: the widths are rounded down).
  const uncapped = stages.filter((s) => widths.get(s)! < widest);
  const [first, last] = [uncapped[0], uncapped[uncapped.length - 1]];
  const derivedDecays = uncapped.length >= 2
    ? [Math.round(1000 * Math.log2(widths.get(first)! / widths.get(last)!) / (last - first)) / 1000]
    : [];
  for (const fmapDecay of unique([hints.fmapDecay, 1, ...derivedDecays])) {
    for (const fmapMax of unique([hints.fmapMax, widest])) {
      const below = stages.filter((s) => widths.get(s)! < fmapMax);
      const bases = unique([
        hints.fmapBase,
        ...below.map((s) => Math.round(widths.get(s)! * 2 ** (s * fmapDecay))),
        fmapMax * 2 ** (stages[stages.length - 1] * fmapDecay),
      ]);
      for (const fmapBase of bases) {
        const fm = { fmapBase, fmapDecay, fmapMax };
        if (fits(fm, widths)) return fm;
      }
    }
  }
  const list = stages.map((s) => `${2 ** (s + 1)}: ${widths.get(s)}`).join(', ');
  throw new Error(`${where}: no fmap_base / fmap_decay / fmap_max reproduces the feature maps per resolution (${list})`);
}
