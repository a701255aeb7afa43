/**
 * The StyleGAN training-step benchmark: stylegan-ts against PyTorch (bench/py/train_bench.py, whose header describes
 * the step) with the same threads, in one run. One step is the trainer's own D step (logistic loss + R1 γ = 10 on
 * every step, Adam, then the Gs moving-average update) and G step (non-saturating logistic loss, Adam), from
 * src/train/step.ts, fully grown (lod 0), on a fixed batch of synthetic N(0, 1) reals. Adam: lr 0.001, β (0, 0.99),
 * ε 1e-8, as the official StyleGAN preset.
 *
 * Cases `train_<res>_<widths>_b<batch>`: each resolution × each width preset:
 *   official  fmap_base 8192, fmap_max 512, latent = dlatent = 512, mapping 8 × 512
 *   small     fmap_base 1024, fmap_max 128, latent = dlatent = 128, mapping 4 × 128
 * Batch: --batch, else 4 (official) / 16 (small) on CPU and the official 1-GPU minibatch on CUDA.
 *
 * Run: `node dist/bench/main.js train [--quick] [--res 32] [--widths small] [--json]`, or `npm run bench:train`.
 */
import * as E from '../src/engine/index.js';
import { Discriminator, StyleGANGenerator, styleganConfig, type StyleGANConfig } from '../src/nets/index.js';
import { getPreset } from '../src/train/presets.js';
import { presetEmaBeta } from '../src/train/ema.js';
import { discriminatorStep, generatorStep, type StepContext, type StepSchedule, type TrainingNets } from '../src/train/step.js';
import type { DataParallel } from '../src/train/distributed.js';
import {
  compareWithPeer, flagArgs, peerScript, printReport, runOurSide, runPeerScript, timeCases,
  type BenchCase, type BenchReport, type CaseTiming, type CompareOptions, type PeerOutcome,
} from './compare.js';
import { runPeerVariants, measuredPeak, formatVariants, VARIANTS, type VariantResults, type VariantRow } from './peer-variants.js';
import { trainingGFlopPerImage } from './flops.js';

export const WIDTHS = {
  official: { fmapBase: 8192, fmapMax: 512, latentSize: 512, mappingLayers: 8 },
  small: { fmapBase: 1024, fmapMax: 128, latentSize: 128, mappingLayers: 4 },
} as const;
export type WidthsName = keyof typeof WIDTHS;
const CPU_BATCH: Record<WidthsName, number> = { official: 4, small: 16 };
/** The official StyleGAN preset: its loss (R1 γ 10), Adam, learning rate and Gs half-life. */
const PRESET = 'stylegan-1gpu';

export interface TrainBenchConfig {
  res: readonly number[];
  widths: readonly string[];
  /** Minibatch of every case; null: per width on CPU, the official 1-GPU minibatch on CUDA. */
  batch: number | null;
  /** false: no Gs update (the peer's --no-ema). */
  ema: boolean;
  /** The peer's --quick (1 warm-up, 2 timed steps per case); the flag is passed on, `iters` / `warmup` agree with it. */
  quick: boolean;
}

export const DEFAULT_CONFIG: TrainBenchConfig = { res: [32, 64], widths: Object.keys(WIDTHS), batch: null, ema: true, quick: false };
export const QUICK = { warmup: 1, iters: 2 };

export interface TrainBenchOptions extends CompareOptions {
  config: TrainBenchConfig;
}

export type TrainBenchReport = BenchReport<'train'> & { config: TrainBenchConfig };

export const PEER_SCRIPT = peerScript('train_bench.py');

/** The minibatch of a case when --batch is not given (the peer's rule). */
export function defaultBatch(widths: WidthsName, resolution: number, device: string): number {
  if (!device.startsWith('cuda')) return CPU_BATCH[widths];
  return getPreset(PRESET).schedule.minibatchDict[resolution] ?? 4;
}

/** The StyleGAN configuration of a case: `resolution` with the width preset `widths`. */
export function widthsConfig(resolution: number, widths: WidthsName): StyleGANConfig {
  const w = WIDTHS[widths];
  return styleganConfig({
    resolution, fmapBase: w.fmapBase, fmapMax: w.fmapMax, latentSize: w.latentSize, dlatentSize: w.latentSize,
    mappingLayers: w.mappingLayers, mappingFmaps: w.latentSize,
  });
}

/**
 * One training step (D step + Gs update, then G step) of StyleGAN at `resolution` with `widths`, through the
 * trainer's step functions. Builds G, Gs, D, both Adams and the reals; `dispose` frees them. With `parallel`, `batch`
 * is the global minibatch and this process steps on its share (bench/distributed.ts).
 */
export function trainingStepCase(resolution: number, widths: WidthsName, batch: number, ema: boolean, device: string, seed = 0, parallel?: DataParallel, precision: 'fp32' | 'bf16' = 'fp32'): BenchCase & { nets: TrainingNets; ctx: StepContext; reals: E.Tensor; s: StepSchedule } {
  const preset = getPreset(PRESET);
  const w = WIDTHS[widths];
  const cfg = widthsConfig(resolution, widths);
  const G = new StyleGANGenerator(cfg, seed * 3 + 1, device);
  const Gs = ema ? new StyleGANGenerator(cfg, seed * 3 + 1, device) : null;
  const D = new Discriminator(cfg, seed * 3 + 2, device);
  const [gLrate, dLrate] = [preset.schedule.gLrateBase, preset.schedule.dLrateBase];
  const ctx: StepContext = {
    nets: { G, D, Gs, config: cfg },
    gOpt: new E.Adam(G.parameters(), { lr: gLrate, ...preset.adam }),
    dOpt: new E.Adam(D.parameters(), { lr: dLrate, ...preset.adam }),
    gen: new E.Generator(seed, device),
    device,
    loss: preset.loss,
    emaBeta: (minibatch) => presetEmaBeta(preset, minibatch),
    numClasses: 0,
    classCdf: [],
    parallel,
    precision,
  };
  const reals = E.keep(E.randn([parallel ? batch / parallel.size : batch, cfg.numChannels, resolution, resolution], { device }));
  const s: StepSchedule = { lod: 0, resolution, minibatch: batch, gLrate, dLrate };
  const a = preset.adam;
  return {
    step: () => {
      discriminatorStep(ctx, reals, { realClasses: null, schedule: s });
      generatorStep(ctx, s);
    },
    ctx, reals, s,
    config: {
      fmap_base: w.fmapBase, fmap_max: w.fmapMax, latent_size: w.latentSize, mapping_layers: w.mappingLayers,
      resolution, widths, batch, params_G: G.numParams(), params_D: D.numParams(), r1_gamma: preset.loss.r1Gamma,
      adam: { lr: gLrate, betas: [a.beta1, a.beta2], eps: a.eps }, ema, ema_beta: ctx.emaBeta(batch),
      style_mixing_prob: cfg.styleMixingProb, mbstd_group_size: cfg.mbstdGroupSize,
    },
    batch,
    nets: ctx.nets,
    dispose: () => {
      for (const t of [G, Gs, D, ctx.gOpt, ctx.dOpt, reals]) t?.dispose();
    },
  };
}

interface NamedCase {
  name: string;
  res: number;
  widths: WidthsName;
  batch: number;
  build: (device: string, seed: number, precision: 'fp32' | 'bf16') => BenchCase;
}

/** The selected cases in the peer's order: per resolution, per width preset. */
export function trainCases(c: TrainBenchConfig, device: string): NamedCase[] {
  const unknown = c.widths.filter((w) => !(w in WIDTHS));
  if (unknown.length) throw new Error(`bench train: unknown widths ${unknown.join(', ')}; known: ${Object.keys(WIDTHS).join(', ')}`);
  if (c.batch !== null && (!Number.isInteger(c.batch) || c.batch < 1)) throw new Error(`bench train: batch must be an integer >= 1, got ${c.batch}`);
  const badRes = c.res.filter((r) => !Number.isInteger(Math.log2(r)) || r < 4 || r > 1024);
  if (badRes.length) throw new Error(`bench train: resolutions must be powers of two in 4…1024, got ${badRes.join(', ')}`);
  const cases: NamedCase[] = [];
  for (const r of c.res) {
    for (const widths of c.widths as WidthsName[]) {
      const batch = c.batch ?? defaultBatch(widths, r, device);
      cases.push({
        name: `train_${r}_${widths}_b${batch}`, res: r, widths, batch,
        build: (d, s, precision) => trainingStepCase(r, widths, batch, c.ema, d, s, undefined, precision),
      });
    }
  }
  return cases;
}

/** Times the stylegan-ts side in `precision` (default fp32); every network and tensor it creates is freed again. */
export function runOurs(o: TrainBenchOptions, precision: 'fp32' | 'bf16' = 'fp32'): { results: Record<string, CaseTiming>; leaked: number } {
  const cases = trainCases(o.config, o.device);
  const builders = new Map(cases.map((c) => [c.name, c.build]));
  return runOurSide(o, () => timeCases(cases.map((c) => c.name), (name) => builders.get(name)!(o.device, o.seed, precision), o));
}

/** The peer's arguments (after the interpreter) for the same work as `o`. */
export function peerArgs(o: TrainBenchOptions): string[] {
  const c = o.config;
  return [PEER_SCRIPT, ...flagArgs({
    threads: o.threads, device: o.device, iters: o.iters, warmup: o.warmup, seed: o.seed, res: c.res.join(','),
    widths: c.widths.join(','), ...(c.batch === null ? {} : { batch: c.batch }), 'no-ema': !c.ema, quick: c.quick,
  })];
}

export const runPeer = (o: TrainBenchOptions): PeerOutcome => runPeerScript(o, peerArgs(o), trainCases(o.config, o.device).map((c) => c.name));

/** Runs both sides (ours first, then the peer, never at the same time) and pairs the results. */
export function runTrainBench(o: TrainBenchOptions): TrainBenchReport {
  const ours = runOurs(o);
  return { ...compareWithPeer('train', ours, runPeer(o), o, peerArgs(o)), config: o.config };
}

/**
 * The cases against PyTorch at its best (jemalloc preloaded, NCHW and channels-last: bench/peer-variants.ts) beside
 * PyTorch as run, with GFLOP/s from the nominal work of a step (bench/flops.ts); null without a peer.
 */
export function trainVariantSection(o: TrainBenchOptions, report: TrainBenchReport): { variants: VariantResults; text: string } | null {
  if (!o.peer) return null;
  const cases = trainCases(o.config, o.device);
  const variants = runPeerVariants(o, peerArgs(o), cases.map((c) => c.name), VARIANTS);
  // Our side in bf16 mixed precision (`stylegan train --precision bf16`), against the peer's autocast variant.
  const bf16 = runOurs(o, 'bf16');
  const rows: VariantRow[] = cases.map(({ name, res, widths, batch }) => {
    const r = report.results[name];
    return {
      case: name, images: batch, gflopPerImage: trainingGFlopPerImage(widthsConfig(res, widths)), oursMs: r?.stylegan_ts.ms_per_iter ?? null,
      oursBf16Ms: bf16.results[name]?.ms_per_iter ?? null, asRunMs: r?.pytorch?.ms_per_iter ?? null,
    };
  });
  const text = formatVariants(rows, variants, measuredPeak(o.device));
  return { variants, text: `${text}\nGFLOP/s: nominal work of a step (bench/flops.ts: 4 G forwards + 15 D forwards per image) / median step time` };
}

/** `node dist/bench/main.js train`: runs, prints the tables (and the JSON report as one line with `json`). */
export function trainBench(o: TrainBenchOptions & { json: boolean }): TrainBenchReport {
  const report = runTrainBench(o);
  printReport(report, false);
  const section = trainVariantSection(o, report);
  if (section) console.log(`\n${section.text}`);
  if (o.json) console.log(JSON.stringify({ ...report, peer_variants: section?.variants ?? null }));
  return report;
}
