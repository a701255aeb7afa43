/**
 * bf16 mixed-precision training (src/nn/autocast.ts): what runs in bfloat16 and what stays float32, a training step
 * against the float32 one from the same state, and the precision as a run option (stored, refused on resume).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as E from '../src/engine/index.js';
import { autocast, Conv2d, Dense, Variables, instanceNorm, minibatchStddev } from '../src/nn/index.js';
import { StyleGANGenerator, Discriminator, styleganConfig, proganConfig, buildGenerator, buildDiscriminator } from '../src/nets/index.js';
import { discriminatorStep, generatorStep, type StepContext, type StepSchedule } from '../src/train/step.js';
import { train } from '../src/train/trainer.js';
import { latestSnapshot } from '../src/train/run-dir.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

const gen = new E.Generator(11);
const rnd = (...s: number[]) => E.randn(s, { generator: gen });
const arr = (t: E.Tensor) => Array.from(t.to('float64').contiguous().toTypedArray() as Float64Array);

/** Relative L2 distance of two tensors. */
const relDist = (a: E.Tensor, b: E.Tensor) => E.tidy(() => {
  const [x, y] = [a.to('float64'), b.to('float64')];
  return x.sub(y).square().sum().sqrt().item() / y.square().sum().sqrt().item();
});

test('autocast bfloat16: convolutions and dense layers compute in bfloat16 (channels-last), norms in float32, gradients float32', () => E.tidy(() => {
  const vars = new Variables(1);
  const conv = new Conv2d(vars, 'conv', { cin: 4, cout: 6, kernel: 3, bias: true });
  const dense = new Dense(vars, 'dense', { inFeatures: 6 * 16, outFeatures: 3, bias: true });
  const params = vars.trainable();
  const x = rnd(2, 4, 4, 4);
  const run = (dtype: 'bfloat16' | null) => autocast(dtype, () => {
    const h = conv.forward(x);
    const n = instanceNorm(h);
    const s = minibatchStddev(h, 2);
    const y = dense.forward(n.add(h));
    return { h, n, s, y, grads: E.grad(y.to('float32').square().sum(), params) };
  });
  const bf = run('bfloat16');
  assert.equal(bf.h.dtype, 'bfloat16');
  assert.ok(bf.h.isContiguous('channels_last') && !bf.h.isContiguous(), 'convolution output in channels-last');
  assert.equal(bf.n.dtype, 'float32', 'instance norm in float32');
  assert.equal(bf.s.dtype, 'bfloat16', 'minibatch stddev: statistics in float32, concatenated in the activation dtype');
  assert.equal(bf.y.dtype, 'bfloat16');
  bf.grads.forEach((g) => assert.equal(g!.dtype, 'float32', 'master-weight gradients stay float32'));
  assert.deepEqual(params.map((p) => p.dtype), params.map(() => 'float32'));
  const fp = run(null);
  assert.equal(fp.h.dtype, 'float32', 'outside autocast nothing changes');
  assert.ok(relDist(bf.y, fp.y) < 2e-2, `outputs within bfloat16 rounding: ${relDist(bf.y, fp.y)}`);
  bf.grads.forEach((g, k) => assert.ok(relDist(g!, fp.grads[k]!) < 5e-2, `gradient ${k}: ${relDist(g!, fp.grads[k]!)}`));
}));

const netConfig = (fusedScale: boolean) =>
  styleganConfig({ resolution: 8, numChannels: 1, fmapBase: 32, fmapMax: 16, latentSize: 8, dlatentSize: 8, mappingLayers: 2, mappingFmaps: 8, fusedScale });

function context(precision: 'fp32' | 'bf16', fusedScale: boolean): StepContext {
  const cfg = netConfig(fusedScale);
  const G = new StyleGANGenerator(cfg, 1);
  const D = new Discriminator(cfg, 2);
  const adam = { beta1: 0, beta2: 0.99, eps: 1e-8 };
  return {
    nets: { G, D, Gs: null, config: cfg }, gOpt: new E.Adam(G.parameters(), { lr: 0.001, ...adam }), dOpt: new E.Adam(D.parameters(), { lr: 0.001, ...adam }),
    gen: new E.Generator(7), device: 'cpu', loss: { r1Gamma: 10, wganLambda: 10, wganTarget: 1, epsDrift: 0.001, condWeight: 1 },
    emaBeta: () => 0.99, numClasses: 0, classCdf: [], precision,
  };
}

for (const fusedScale of [false, true]) {
  test(`a bf16 training step (R1 through bfloat16 convolutions) matches the float32 step from the same state (${fusedScale ? 'fused' : 'separate'} resampling)`, () => {
    const s: StepSchedule = { lod: 0, resolution: 8, minibatch: 4, gLrate: 0.001, dLrate: 0.001 };
    const reals = E.keep(E.tidy(() => rnd(4, 1, 8, 8).tanh()));
    const [fp, bf] = [context('fp32', fusedScale), context('bf16', fusedScale)];
    try {
      const a = discriminatorStep(fp, reals, { realClasses: null, schedule: s });
      const b = discriminatorStep(bf, reals, { realClasses: null, schedule: s });
      assert.ok(Number.isFinite(b.loss) && Number.isFinite(b.penalty));
      assert.ok(Math.abs(b.loss - a.loss) < 0.02 * Math.abs(a.loss), `D loss ${b.loss} vs ${a.loss}`);
      assert.ok(Math.abs(b.penalty - a.penalty) < 0.1 * Math.abs(a.penalty) + 1e-6, `R1 penalty ${b.penalty} vs ${a.penalty}`);
      const [ga, gb] = [generatorStep(fp, s), generatorStep(bf, s)];
      assert.ok(Math.abs(gb - ga) < 0.02 * Math.abs(ga), `G loss ${gb} vs ${ga}`);
      for (const ctx of [bf]) for (const p of [...ctx.nets.G.parameters(), ...ctx.nets.D.parameters()]) assert.equal(p.dtype, 'float32');
      const moved = (x: StepContext) => E.tidy(() => arr(x.nets.D.parameters()[0]!.detach()));
      assert.ok(relDist(E.tensor(moved(bf)), E.tensor(moved(fp))) < 1e-2, 'D weights after one Adam step agree');
    } finally {
      reals.dispose();
      for (const c of [fp, bf]) for (const t of [c.nets.G, c.nets.D, c.gOpt, c.dOpt]) t.dispose();
    }
  });
}

test('a bf16 ProGAN step (pixel norm in float32, transposed convolution in float32) matches the float32 step', () => {
  const cfg = proganConfig({ resolution: 16, numChannels: 1, fmapBase: 32, fmapMax: 16, latentSize: 16 });
  const s: StepSchedule = { lod: 0, resolution: 16, minibatch: 4, gLrate: 0.001, dLrate: 0.001 };
  const reals = E.keep(E.tidy(() => rnd(4, 1, 16, 16).tanh()));
  const ctxs = (['fp32', 'bf16'] as const).map((precision): StepContext => {
    const [G, D] = [buildGenerator(cfg, 1), buildDiscriminator(cfg, 2)];
    const adam = { lr: 0.001, beta1: 0, beta2: 0.99, eps: 1e-8 };
    return {
      nets: { G, D, Gs: null, config: cfg }, gOpt: new E.Adam(G.parameters(), adam), dOpt: new E.Adam(D.parameters(), adam), gen: new E.Generator(3),
      device: 'cpu', loss: { r1Gamma: 0, wganLambda: 10, wganTarget: 1, epsDrift: 0.001, condWeight: 1 }, emaBeta: () => 0.99, numClasses: 0, classCdf: [], precision,
    };
  });
  try {
    const [a, b] = ctxs.map((c) => discriminatorStep(c, reals, { realClasses: null, schedule: s }));
    assert.ok(Math.abs(b!.loss - a!.loss) < 0.05 * Math.abs(a!.loss) + 0.01, `D loss ${b!.loss} vs ${a!.loss}`);
    const [ga, gb] = ctxs.map((c) => generatorStep(c, s));
    assert.ok(Math.abs(gb! - ga!) < 0.05 * Math.abs(ga!) + 0.01, `G loss ${gb} vs ${ga}`);
  } finally {
    reals.dispose();
    for (const c of ctxs) for (const t of [c.nets.G, c.nets.D, c.gOpt, c.dOpt]) t.dispose();
  }
});

test('--precision is a run option: stored in training_options.json and the snapshot, a change on resume is refused', async () => {
  const dir = tempDir('sgts-precision');
  const data = await tinyDataset(dir, 32, 16);
  const run = path.join(dir, 'bf16');
  const quick = { preset: 'smoke', seed: 1, gridSize: [2, 2] as [number, number], data, runDir: run };
  const r = await train({ ...quick, precision: 'bf16', maxSeconds: 0 });
  assert.equal(r.kimg, 0.008, 'one minibatch');
  assert.equal((JSON.parse(readFileSync(path.join(run, 'training_options.json'), 'utf8')) as { precision: string }).precision, 'bf16');
  const snap = latestSnapshot(run)!;
  await assert.rejects(train({ ...quick, resume: true, precision: 'fp32' }), {
    message: `${snap}: cannot resume with --precision fp32: the run was started with --precision bf16 (resume without it, or start a new run)`,
  });
  const resumed = await train({ ...quick, resume: true, maxSeconds: 0 });
  assert.equal(resumed.kimg, 0.016, 'resumed in bf16 without the flag');
  await assert.rejects(train({ ...quick, runDir: path.join(dir, 'bad'), precision: 'fp16' as 'bf16' }), { message: "--precision: expected fp32 or bf16, got 'fp16'" });
});
