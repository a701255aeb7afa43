/**
 * The options that define a run's training (preset, architecture overrides, the official scripts' knobs, the
 * augmentation, FreezeD, transfer source): resolved once from the user's flags and the preset, stored in every
 * snapshot, and checked when a run is resumed, so that a resume cannot silently change what is trained.
 */
import { getPreset, type Preset } from './presets.js';
import { AUGPIPES } from './augment.js';

export type AugMode = 'ada' | 'fixed' | 'noaug';

/** What the user may set; undefined = not given (the preset's, the snapshot's, or the default). */
export interface RunFlags {
  preset?: string;
  net?: Record<string, unknown>;
  /** R1 weight γ (StyleGAN). */
  gamma?: number;
  /** Global minibatch at every resolution. */
  batch?: number;
  glr?: number;
  dlr?: number;
  mirror?: boolean;
  aug?: AugMode;
  augpipe?: string;
  /** ADA target for r_t = E[sign(D(real))]. */
  target?: number;
  /** Augmentation probability: fixed p for `--aug fixed`, initial p for `--aug ada`. */
  p?: number;
  /** FreezeD: number of D layers (from the input side) kept frozen. */
  freezeD?: number;
  /** Metrics of each snapshot (`stylegan metric` names); [] for none. */
  metrics?: string[];
  conditional?: boolean;
  seed?: number;
  /** Network the run was started from (transfer learning), or null. */
  transfer?: string | null;
  /** Arithmetic of the training passes: 'fp32', or 'bf16' mixed precision (src/nn/autocast.ts). */
  precision?: TrainPrecision;
}

export type TrainPrecision = 'fp32' | 'bf16';
export const TRAIN_PRECISIONS: readonly TrainPrecision[] = ['fp32', 'bf16'];

export type RunOptions = Required<Omit<RunFlags, 'gamma' | 'batch' | 'glr' | 'dlr' | 'conditional'>> &
  Pick<RunFlags, 'gamma' | 'batch' | 'glr' | 'dlr' | 'conditional'>;

const DEFAULTS = { preset: 'stylegan-cpu', net: {}, mirror: false, aug: 'noaug', augpipe: 'bgc', target: 0.6, p: 0, freezeD: 0, metrics: [] as string[], seed: 0, transfer: null, precision: 'fp32' } as const;

/** The flag spelling of an option, for messages. */
const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const show = (v: unknown) => (v === undefined ? 'unset' : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function check(o: RunOptions): RunOptions {
  if (!['ada', 'fixed', 'noaug'].includes(o.aug)) throw new Error(`--aug: expected ada, fixed or noaug, got '${o.aug}'`);
  if (!AUGPIPES.includes(o.augpipe)) throw new Error(`--augpipe: unknown pipeline '${o.augpipe}' (available: ${AUGPIPES.join(', ')})`);
  if (!(o.target > 0 && o.target < 1)) throw new Error(`--target: expected a number in (0, 1), got ${o.target}`);
  if (!(o.p >= 0 && o.p <= 1)) throw new Error(`--p: expected a probability in [0, 1], got ${o.p}`);
  if (!TRAIN_PRECISIONS.includes(o.precision)) throw new Error(`--precision: expected ${TRAIN_PRECISIONS.join(' or ')}, got '${String(o.precision)}'`);
  if (o.aug === 'fixed' && o.p === 0) throw new Error('--aug fixed needs --p > 0 (the augmentation probability)');
  getPreset(o.preset);
  return o;
}

/**
 * The options of a run: the user's flags over the snapshot's (resume) or the defaults (fresh run). A flag given
 * on resume that differs from the snapshot's value is refused with both values named.
 */
export function resolveRunOptions(flags: RunFlags, stored: RunOptions | null, snapshot = 'the snapshot'): RunOptions {
  if (!stored) {
    const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
    return check({ ...DEFAULTS, ...given } as RunOptions);
  }
  for (const [k, v] of Object.entries(flags) as [keyof RunFlags, unknown][]) {
    if (v === undefined || same(v, stored[k])) continue;
    throw new Error(`${snapshot}: cannot resume with ${flag(k)} ${show(v)}: the run was started with ${flag(k)} ${show(stored[k])} ` +
      '(resume without it, or start a new run)');
  }
  return { ...DEFAULTS, ...stored };
}

/** The preset with the knobs applied: one minibatch and learning rate at every resolution, R1 γ. */
export function effectivePreset(o: RunOptions): Preset {
  const p = getPreset(o.preset);
  const s = p.schedule;
  if (o.batch !== undefined) Object.assign(s, { minibatchBase: o.batch, minibatchDict: {}, maxMinibatch: {} });
  if (o.glr !== undefined) Object.assign(s, { gLrateBase: o.glr, gLrateDict: {} });
  if (o.dlr !== undefined) Object.assign(s, { dLrateBase: o.dlr, dLrateDict: {} });
  if (o.gamma !== undefined) {
    if (p.arch !== 'stylegan') throw new Error(`--gamma: the R1 weight applies to StyleGAN presets; ${p.name} is ${p.arch} (WGAN-GP)`);
    p.loss.r1Gamma = o.gamma;
  }
  return p;
}
