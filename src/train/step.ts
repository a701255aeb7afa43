/**
 * One iteration of the official training loops as plain functions of the networks, optimizers and random stream:
 * the D step (with the Gs moving-average update the official loop runs with it) and the G step. The Trainer feeds
 * them minibatches on the schedule; the training benchmark (bench/train.ts) calls them on synthetic reals.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { mixStyles, ProGANGenerator, type Generator, type Networks } from '../nets/index.js';
import { autocast, float32Of } from '../nn/index.js';
import type { ScheduleState } from './schedule.js';
import type { LossConfig } from './presets.js';
import { gLogisticNonsaturating, dLogisticR1, gWgan, dWganGp, type DiscriminatorOut } from './losses.js';
import { updateEma } from './ema.js';
import type { DataParallel } from './distributed.js';

/** G and D of a run (see `Networks`) with Gs, the moving average of G: null skips its update. */
export type TrainingNets = Required<Pick<Networks, 'G' | 'D' | 'config'>> & { Gs: Generator | null };

/** Everything a step reads or updates. */
export interface StepContext {
  nets: TrainingNets;
  gOpt: E.Adam;
  dOpt: E.Adam;
  /** The run's random stream: latents, noise maps, style-mixing draws, fake classes, WGAN-GP interpolation. */
  gen: E.Generator;
  device: string;
  loss: LossConfig;
  /** β of Gs ← lerp(G, Gs, β) for a minibatch size. */
  emaBeta: (minibatch: number) => number;
  /** Conditional networks: the number of classes (0: unconditional) and their cumulative frequencies. */
  numClasses: number;
  classCdf: readonly number[];
  /** Data parallelism: random draws for the global minibatch, sharded; gradients and w-average averaged over ranks. */
  parallel?: DataParallel;
  /** Augmentation of every image D sees (reals, fakes, mixtures), differentiable; none when absent. */
  augment?: (images: Tensor) => Tensor;
  /** 'bf16': mixed precision (convolutions and matrix products in bfloat16, src/nn/autocast.ts); default 'fp32'. */
  precision?: 'fp32' | 'bf16';
}

/** Runs a step's forward passes and losses under the context's precision policy. */
const withPrecision = <T>(ctx: StepContext, fn: () => T): T => autocast(ctx.precision === 'bf16' ? 'bfloat16' : null, fn);

/** A D step's losses and the sum of sign(D(real)) over its `count` reals (the ADA overfitting signal). */
export interface DStepResult {
  loss: number;
  penalty: number;
  realSigns: number;
  count: number;
}

/** The part of the schedule a step uses. */
export type StepSchedule = Pick<ScheduleState, 'lod' | 'resolution' | 'minibatch' | 'gLrate' | 'dLrate'>;


/** The global minibatch of a step whose local batch is n. */
const globalCount = (ctx: StepContext, n: number): number => (ctx.parallel ? n * ctx.parallel.size : n);
/** This rank's rows of a global draw (all of it in one process). */
const rows = (ctx: StepContext, t: Tensor): Tensor => (ctx.parallel ? ctx.parallel.shard(t) : t);
const classRows = (ctx: StepContext, c: Int32Array | null): Int32Array | null => (c && ctx.parallel ? ctx.parallel.shardArray(c) : c);

/** Random class indices following the dataset's class frequencies (null for unconditional networks). */
function randomClasses(ctx: StepContext, n: number): Int32Array | null {
  if (!ctx.numClasses) return null;
  const u = E.tidy(() => E.rand([n], { generator: ctx.gen }).toFloat32Array());
  return Int32Array.from(u, (x) => {
    const i = ctx.classCdf.findIndex((c) => x < c);
    return i < 0 ? ctx.numClasses - 1 : i;
  });
}

function classesTensor(ctx: StepContext, c: Int32Array | null): Tensor | null {
  return c ? E.fromTypedArray(BigInt64Array.from(c, (v) => BigInt(v)), [c.length]).to(ctx.device) : null;
}

const labelsOf = (ctx: StepContext, c: Int32Array | null): Tensor | null => (c ? E.oneHot(c, ctx.numClasses, ctx.device) : null);

/** G in training mode: w-average tracking and style mixing (StyleGAN), random noise, working resolution. */
export function trainingFakes(ctx: StepContext, z: Tensor, { labels, lod }: { labels: Tensor | null; lod: number }): Tensor {
  const G = ctx.nets.G;
  if (G instanceof ProGANGenerator) return E.tidy(() => float32Of(G.forward(z, { labels, lod, native: true })));
  const cfg = G.cfg;
  return E.tidy(() => {
    const w = G.mapping.forward(z, labels);
    E.noGrad(() => {
      const mean = float32Of(w.detach()).mean(0);
      ctx.parallel?.allReduceMean([mean]);
      G.dlatentAvg.copy_(mean.lerp(G.dlatentAvg, cfg.dlatentAvgBeta));
    });
    let d = w.unsqueeze(1).expand(-1, G.numLayers, -1);
    if (cfg.styleMixingProb > 0) {
      const curLayers = G.numLayers - 2 * Math.floor(lod);
      const [u, v] = E.tidy(() => Array.from(E.rand([2], { generator: ctx.gen }).toFloat32Array()));
      if (u! < cfg.styleMixingProb && curLayers > 1) {
        const crossover = 1 + Math.min(Math.floor(v! * (curLayers - 1)), curLayers - 2);
        const z2 = rows(ctx, E.randn([globalCount(ctx, z.shape[0]!), ...z.shape.slice(1)], { generator: ctx.gen, device: ctx.device }));
        const d2 = G.mapping.forward(z2, labels).unsqueeze(1).expand(-1, G.numLayers, -1);
        d = mixStyles(d, d2, crossover);
      }
    }
    const noise = ctx.parallel ? ctx.parallel.noise(globalCount(ctx, z.shape[0]!), ctx.gen, ctx.device) : 'random';
    return float32Of(G.synthesis.forward(d, { lod, native: true, noise, generator: ctx.gen }));
  });
}

function discriminate(ctx: StepContext, images: Tensor, { labels, lod }: { labels: Tensor | null; lod: number }): DiscriminatorOut {
  const out = ctx.nets.D.forwardFull(ctx.augment ? ctx.augment(images) : images, { labels, lod });
  return { scores: float32Of(out.scores), labelLogits: out.labelLogits && float32Of(out.labelLogits) };
}

/**
 * Sets every parameter's gradient of `loss` (unused ones, above the working resolution, get none; under data
 * parallelism the mean over ranks, reduced while backward runs) and steps.
 */
function optimizerStep(ctx: StepContext, opt: E.Adam, { loss, lr }: { loss: Tensor; lr: number }): void {
  const grads = ctx.parallel ? ctx.parallel.gradients(loss, opt.params) : E.grad(loss, opt.params, { allowUnused: true });
  opt.params.forEach((p, i) => (p.grad = grads[i] ?? null));
  opt.lr = lr;
  opt.step();
  opt.zeroGrad();
}

/**
 * One D step on `reals` ([N, C, r, r] in [−1, 1] at the working resolution; `realClasses` for conditional networks),
 * then the Gs update. StyleGAN: logistic loss + R1; ProGAN: WGAN-GP + drift (+ AC-GAN terms).
 */
export function discriminatorStep(ctx: StepContext, reals: Tensor, { realClasses, schedule: s }: { realClasses: Int32Array | null; schedule: StepSchedule }): DStepResult {
  const { config } = ctx.nets;
  const n = reals.shape[0]!;
  const globalN = globalCount(ctx, n);
  const gradScale = 2 ** -(Math.log2(config.resolution) - Math.log2(s.resolution));
  const losses = E.tidy(() => withPrecision(ctx, () => {
    const realLabels = labelsOf(ctx, ctx.numClasses ? realClasses : null);
    const fakeClasses = classRows(ctx, randomClasses(ctx, globalN));
    const fakeLabels = labelsOf(ctx, fakeClasses);
    const z = rows(ctx, E.randn([globalN, config.latentSize], { generator: ctx.gen, device: ctx.device }));
    const fakes = E.noGrad(() => trainingFakes(ctx, z, { labels: fakeLabels, lod: s.lod }));
    let loss: Tensor;
    let penalty: Tensor;
    let realSigns: number;
    if (config.arch === 'stylegan') {
      const x = reals.detach().requiresGrad_(true);
      const real = discriminate(ctx, x, { labels: realLabels, lod: s.lod });
      realSigns = real.scores.detach().sign().sum().item();
      ({ loss, penalty } = dLogisticR1(real, discriminate(ctx, fakes, { labels: fakeLabels, lod: s.lod }), { reals: x, r1Gamma: ctx.loss.r1Gamma, gradScale }));
    } else {
      const u = rows(ctx, E.rand([globalN, 1, 1, 1], { generator: ctx.gen, device: ctx.device }));
      const mixed = reals.lerp(fakes, u).detach().requiresGrad_(true);
      const L = ctx.loss;
      const real = discriminate(ctx, reals, { labels: realLabels, lod: s.lod });
      realSigns = real.scores.detach().sign().sum().item();
      ({ loss, penalty } = dWganGp(real, discriminate(ctx, fakes, { labels: fakeLabels, lod: s.lod }), {
        mixed, mixedOut: discriminate(ctx, mixed, { labels: fakeLabels, lod: s.lod }),
        realClasses: classesTensor(ctx, ctx.numClasses ? realClasses : null), fakeClasses: classesTensor(ctx, fakeClasses),
        lambda: L.wganLambda, target: L.wganTarget, epsDrift: L.epsDrift, condWeight: L.condWeight, gradScale,
      }));
    }
    optimizerStep(ctx, ctx.dOpt, { loss, lr: s.dLrate });
    return { loss: loss.item(), penalty: penalty.item(), realSigns, count: n };
  }));
  if (ctx.nets.Gs) updateEma(ctx.nets.Gs, ctx.nets.G, ctx.emaBeta(s.minibatch));
  return losses;
}

/**
 * One G step on `s.minibatch` fresh latents (this rank's share of them under data parallelism): non-saturating
 * logistic (StyleGAN) or WGAN (ProGAN) loss.
 */
export function generatorStep(ctx: StepContext, s: StepSchedule): number {
  const { config } = ctx.nets;
  const n = s.minibatch;
  return E.tidy(() => withPrecision(ctx, () => {
    const classes = classRows(ctx, randomClasses(ctx, n));
    const labels = labelsOf(ctx, classes);
    const z = rows(ctx, E.randn([n, config.latentSize], { generator: ctx.gen, device: ctx.device }));
    const out = discriminate(ctx, trainingFakes(ctx, z, { labels, lod: s.lod }), { labels, lod: s.lod });
    const loss = config.arch === 'stylegan' ? gLogisticNonsaturating(out) : gWgan(out, classesTensor(ctx, classes), ctx.loss.condWeight);
    optimizerStep(ctx, ctx.gOpt, { loss, lr: s.gLrate });
    return loss.item();
  }));
}
