/**
 * Training snapshots: G, D, Gs, both optimizers' moments, the random stream, the loop state and the run's options
 * in one safetensors file (written atomically), and reading them back for an exact resume.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { saveCheckpoint, recordToTensor, type Checkpoint } from '../io/checkpoint.js';
import type { Discriminator, Generator, NetworkConfig } from '../nets/index.js';
import type { Preset } from './presets.js';
import type { RunOptions } from './run-options.js';

/** Everything needed to continue a run exactly. */
export interface LoopState {
  curNimg: number;
  tick: number;
  tickStartNimg: number;
  prevLod: number;
  loaderPosition: number;
  totalSec: number;
  /** Augmentation probability and the ADA controller's partial interval. */
  augmentP: number;
  ada: { signSum: number; count: number; batches: number };
}

export const initialLoopState = (p: number): LoopState => ({
  curNimg: 0, tick: 0, tickStartNimg: 0, prevLod: -1, loaderPosition: 0, totalSec: 0, augmentP: p, ada: { signSum: 0, count: 0, batches: 0 },
});

export interface SnapshotContents {
  nets: { G: Generator; D: Discriminator; Gs: Generator; config: NetworkConfig };
  gOpt: E.Adam;
  dOpt: E.Adam;
  gen: E.Generator;
  state: LoopState;
  options: RunOptions;
  preset: Preset;
}

/** Writes a training snapshot atomically. */
export async function writeTrainingSnapshot(file: string, s: SnapshotContents): Promise<void> {
  const extra = new Map<string, Tensor>();
  for (const [opt, tag] of [[s.gOpt, 'G'], [s.dOpt, 'D']] as const) {
    const st = opt.state();
    st.expAvg.forEach((t, i) => extra.set(`opt/${tag}/m/${i}`, t));
    st.expAvgSq.forEach((t, i) => extra.set(`opt/${tag}/v/${i}`, t));
  }
  const rng = s.gen.getState();
  extra.set('rng/train', rng);
  try {
    await saveCheckpoint(file, {
      config: s.nets.config, nets: { G: s.nets.G, D: s.nets.D, Gs: s.nets.Gs }, extra,
      metadata: {
        train_state: JSON.stringify(s.state), train_options: JSON.stringify(s.options),
        opt_G_step: String(s.gOpt.stepCount), opt_D_step: String(s.dOpt.stepCount),
        preset: JSON.stringify(s.preset), kimg: (s.state.curNimg / 1000).toFixed(3),
      },
    });
  } finally {
    rng.dispose();
  }
}

/** The loop state and run options of a snapshot (older snapshots without options: the stored preset's name). */
export function readTrainingState(ck: Checkpoint): { state: LoopState; options: RunOptions | null; presetName: string | null } {
  if (!ck.G || !ck.D || !ck.Gs) throw new Error(`${ck.path}: a training snapshot needs G, D and Gs (use --resume-from to start a new run from a network)`);
  const state = JSON.parse(ck.metadata.train_state ?? 'null') as LoopState | null;
  if (!state) throw new Error(`${ck.path}: no train_state in metadata (not a training snapshot; use --resume-from to start a new run from it)`);
  const options = JSON.parse(ck.metadata.train_options ?? 'null') as RunOptions | null;
  const preset = JSON.parse(ck.metadata.preset ?? 'null') as Preset | null;
  return { state: { ...initialLoopState(0), ...state }, options, presetName: preset?.name ?? null };
}

/** Restores an optimizer's step count and moments from a snapshot. */
export function restoreOptimizer(ck: Checkpoint, opt: E.Adam, tag: 'G' | 'D'): void {
  const step = Number(ck.metadata[`opt_${tag}_step`] ?? 0);
  const get = (k: string) => {
    const r = ck.extra.get(k);
    if (!r) throw new Error(`${ck.path}: missing optimizer tensor '${k}'`);
    return recordToTensor(r, `${ck.path}: ${k}`);
  };
  E.tidy(() => opt.loadState({ step, expAvg: opt.params.map((_, i) => get(`opt/${tag}/m/${i}`)), expAvgSq: opt.params.map((_, i) => get(`opt/${tag}/v/${i}`)) }));
}

/** Restores the random stream. */
export function restoreGenerator(ck: Checkpoint, gen: E.Generator): void {
  const rng = ck.extra.get('rng/train');
  if (!rng) throw new Error(`${ck.path}: missing 'rng/train'`);
  E.tidy(() => gen.setState(recordToTensor(rng)));
}

/** Whether every variable of the networks is finite (NaN / Inf guard before a snapshot). */
export function firstNonFinite(nets: Record<string, { stateDict(): Map<string, Tensor> }>): string | null {
  for (const [role, net] of Object.entries(nets)) {
    for (const [name, t] of net.stateDict()) {
      if (!t.dtype.startsWith('float')) continue;
      if (!E.tidy(() => t.isfinite().logicalNot().sum().item() === 0)) return `${role}/${name}`;
    }
  }
  return null;
}

/** Metrics of snapshots (`--metrics`): `check` refuses unknown names and missing files at setup; rank 0 gets `measure`'s results. */
export interface SnapshotMetrics {
  check(names: readonly string[]): void;
  measure(names: readonly string[], Gs: Generator, snapshot: string): Promise<Record<string, number>>;
}

export function requireMetrics(m: SnapshotMetrics | undefined): SnapshotMetrics {
  if (!m) throw new Error('--metrics: no metric provider was given to the trainer (TrainOptions.snapshotMetrics)');
  return m;
}
