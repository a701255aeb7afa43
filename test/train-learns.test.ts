/**
 * The networks learn, not only produce finite losses: D trained on a trivial real set (one fixed image) against G's
 * fakes separates them, and G trained against that D moves its images toward the real one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { StyleGANGenerator, Discriminator, styleganConfig } from '../src/nets/index.js';
import { discriminatorStep, generatorStep, type StepContext, type StepSchedule } from '../src/train/step.js';

const cfg = styleganConfig({
  resolution: 8, numChannels: 1, fmapBase: 16, fmapMax: 8, latentSize: 8, dlatentSize: 8, mappingLayers: 2, mappingFmaps: 8,
  styleMixingProb: 0,
});
const N = 8;
/** D steps alone, then D + G steps, and the learning rate: seeded, so the run is the same every time (≈8 s of CPU). */
const [STEPS_D, STEPS_GD, LR] = [20, 30, 0.01];

function context(): StepContext {
  const G = new StyleGANGenerator(cfg, 1);
  const D = new Discriminator(cfg, 2);
  const adam = { beta1: 0, beta2: 0.99, eps: 1e-8 };
  return {
    nets: { G, D, Gs: null, config: cfg },
    gOpt: new E.Adam(G.parameters(), { lr: LR, ...adam }),
    dOpt: new E.Adam(D.parameters(), { lr: LR, ...adam }),
    gen: new E.Generator(7),
    device: 'cpu',
    // No R1 (its double backward is the slow part here; the separation does not need it).
    loss: { r1Gamma: 0, wganLambda: 10, wganTarget: 1, epsDrift: 0.001, condWeight: 1 },
    emaBeta: () => 0.99,
    numClasses: 0,
    classCdf: [],
  };
}

/** The trivial real set: one image, bright left half and dark right half, N times. */
const realImages = () => E.keep(E.tidy(() => {
  const row = Float32Array.from({ length: 8 }, (_, x) => (x < 4 ? 0.9 : -0.9));
  return E.fromTypedArray(row, [1, 1, 1, 8]).expand(N, 1, 8, 8).contiguous();
}));

/** Mean D score of the reals minus that of fresh fakes, and G's mean distance to the real image. */
function measure(ctx: StepContext, reals: E.Tensor): { margin: number; distance: number } {
  return E.tidy(() => E.noGrad(() => {
    const { G, D } = ctx.nets as { G: StyleGANGenerator; D: Discriminator };
    const fakes = G.forward(E.randn([N, cfg.latentSize], { generator: new E.Generator(99) }), { noise: 'const' });
    return {
      margin: D.forward(reals).mean().item() - D.forward(fakes).mean().item(),
      distance: fakes.sub(reals).abs().mean().item(),
    };
  }));
}

test('D learns to separate a trivial real set from the fakes; G then moves toward it', { timeout: 600_000 }, () => {
  const ctx = context();
  const reals = realImages();
  const s: StepSchedule = { lod: 0, resolution: 8, minibatch: N, gLrate: LR, dLrate: LR };
  try {
    const before = measure(ctx, reals);
    for (let i = 0; i < STEPS_D; i++) discriminatorStep(ctx, reals, { realClasses: null, schedule: s });
    const trainedD = measure(ctx, reals);
    assert.ok(trainedD.margin > before.margin + 1 && trainedD.margin > 1, `D margin ${before.margin.toFixed(3)} → ${trainedD.margin.toFixed(3)}`);
    for (let i = 0; i < STEPS_GD; i++) {
      discriminatorStep(ctx, reals, { realClasses: null, schedule: s });
      generatorStep(ctx, s);
    }
    const trainedG = measure(ctx, reals);
    assert.ok(trainedG.distance < 0.7 * before.distance, `G mean |fake − real| ${before.distance.toFixed(3)} → ${trainedG.distance.toFixed(3)}`);
  } finally {
    for (const t of [ctx.nets.G, ctx.nets.D, ctx.gOpt, ctx.dOpt, reals]) t.dispose();
  }
});
