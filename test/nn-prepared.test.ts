import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { Variables } from '../src/nn/module.js';
import { Conv2d, UpConv2d, DownConv2d } from '../src/nn/layers.js';
import { StyleGANGenerator, styleganConfig } from '../src/nets/index.js';
import { updateEma } from '../src/train/ema.js';

const values = (t: E.Tensor) => Array.from(t.to('float64').toTypedArray() as Float64Array);
const live = () => E.memoryStats().liveTensors;
/**
 * Equal outputs: exactly for the plain convolution; to float rounding for the resampling layers, which on the CPU
 * run upsampling as four phase convolutions and the unfused downsampling as the strided convolution with the derived
 * kernel (src/nn/phase-conv.ts), in inference and training alike: the same sums in another order.
 */
function same(name: string, actual: number[], expected: number[], message: string): void {
  if (name === 'Conv') return assert.deepEqual(actual, expected, message);
  assert.equal(actual.length, expected.length, message);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1e-5 * (1 + Math.abs(expected[i]!)), `${message}[${i}]: ${v} vs ${expected[i]}`));
}

/** The 4×4 kernel of the fused layers, written out: pad the 3×3 kernel by one and sum its four shifts. */
function fused4(k: E.Tensor): E.Tensor {
  const p = E.pad(k, [1, 1, 1, 1]);
  const shift = (i: number, j: number) => p.narrow(2, i, 4).narrow(3, j, 4);
  return shift(1, 1).add(shift(0, 1)).add(shift(1, 0)).add(shift(0, 0));
}

/**
 * One layer of every kind and weight layout on the input `input.x`, each with a reference computed from the stored
 * TF-layout weight directly (no cache involved).
 */
function layers(vars: Variables, input: { x: E.Tensor }) {
  const oihw = (name: string) => vars.runtime(`${name}/weight`).permute(3, 2, 0, 1).contiguous();
  const conv = new Conv2d(vars, 'Conv', { cin: 3, cout: 4, kernel: 3 });
  const up = new UpConv2d(vars, 'Up', { cin: 3, cout: 4, kernel: 3, fused: false });
  const upFused = new UpConv2d(vars, 'UpFused', { cin: 3, cout: 4, kernel: 3, fused: true });
  const upProgan = new UpConv2d(vars, 'UpProgan', { cin: 3, cout: 4, kernel: 3, fused: true, layout: 'progan' });
  const down = new DownConv2d(vars, 'Down', { cin: 3, cout: 4, kernel: 3, fused: false });
  const downFused = new DownConv2d(vars, 'DownFused', { cin: 3, cout: 4, kernel: 3, fused: true });
  const iohw = (name: string, dims: number[]) => fused4(vars.runtime(`${name}/weight`).permute(...dims)).contiguous();
  return [
    { name: 'Conv', run: () => conv.forward(input.x), ref: () => E.conv2d(input.x, oihw('Conv'), null, { padding: 1 }) },
    { name: 'Up', run: () => up.forward(input.x), ref: () => E.conv2d(E.upsampleNearest2d(input.x, 2), oihw('Up'), null, { padding: 1 }) },
    { name: 'UpFused', run: () => upFused.forward(input.x), ref: () => E.convTranspose2d(input.x, iohw('UpFused', [2, 3, 0, 1]), null, { stride: 2, padding: 1 }) },
    { name: 'UpProgan', run: () => upProgan.forward(input.x), ref: () => E.convTranspose2d(input.x, iohw('UpProgan', [3, 2, 0, 1]), null, { stride: 2, padding: 1 }) },
    { name: 'Down', run: () => down.forward(input.x), ref: () => E.avgPool2d(E.conv2d(input.x, oihw('Down'), null, { padding: 1 }), 2) },
    { name: 'DownFused', run: () => downFused.forward(input.x), ref: () => E.conv2d(input.x, fused4(oihw('DownFused')).mul(0.25), null, { stride: 2, padding: 1 }) },
  ];
}

test('inference reuses the prepared kernels and gives the outputs of the uncached (grad-mode) path', () => {
  const before = live();
  const vars = new Variables(7);
  const input = { x: E.keep(E.randn([2, 3, 8, 8], { generator: vars.generator })) };
  for (const c of layers(vars, input)) {
    E.tidy(() => {
      const reference = values(E.noGrad(c.ref));
      same(c.name, values(c.run()), reference, `${c.name}: grad-mode output`);
      same(c.name, values(E.noGrad(c.run)), reference, `${c.name}: first inference call`);
      same(c.name, values(E.noGrad(c.run)), reference, `${c.name}: cached inference call`);
      assert.deepEqual(values(E.noGrad(c.run)), values(c.run()), `${c.name}: inference equals the grad-mode path exactly`);
    });
  }
  const prepare = (w: E.Tensor) => w.permute(3, 2, 0, 1).contiguous();
  const first = E.noGrad(() => vars.prepared('Conv/weight', 'oihw', prepare));
  assert.equal(E.noGrad(() => vars.prepared('Conv/weight', 'oihw', prepare)), first, 'the same tensor while nothing was written');
  E.tidy(() => assert.notEqual(vars.prepared('Conv/weight', 'oihw', prepare), first, 'grad mode computes afresh'));
  E.tidy(() => {
    const w = vars.get('Conv/weight');
    const [g] = E.grad(E.conv2d(input.x, vars.prepared('Conv/weight', 'oihw', prepare), null).sum(), w);
    assert.ok(g && g.abs().sum().item() > 0, 'in grad mode the prepared kernel is part of the graph');
  });
  input.x.dispose();
  vars.dispose();
  assert.equal(live(), before, 'dispose frees the variables and every cached kernel');
});

test('every in-place write or replacement invalidates the cache: copy_, a view, an Adam step, assign, castTo', () => {
  const vars = new Variables(3);
  const input = { x: E.keep(E.randn([2, 3, 8, 8], { generator: vars.generator })) };
  const cases = layers(vars, input);
  const names = cases.map((c) => `${c.name}/weight`);
  const outputs = () => cases.map((c) => E.tidy(() => values(E.noGrad(c.run))));
  let previous = outputs();
  const changedBy = (what: string) => {
    const now = outputs();
    cases.forEach((c, i) => {
      assert.notDeepEqual(now[i], previous[i], `${c.name}: ${what} did not change the output`);
      E.tidy(() => same(c.name, now[i]!, values(E.noGrad(c.ref)), `${c.name} after ${what}`));
    });
    previous = now;
  };
  E.noGrad(() => names.forEach((n) => E.tidy(() => vars.get(n).copy_(vars.get(n).mul(-0.5)))));
  changedBy('copy_');
  E.noGrad(() => names.forEach((n) => vars.get(n).narrow(0, 0, 1).fill_(0.25)));
  changedBy('fill_ of a view');
  const opt = new E.Adam(names.map((n) => vars.get(n)), { lr: 0.1 });
  E.tidy(() => {
    const loss = cases.map((c) => c.run().square().sum()).reduce((a, b) => a.add(b));
    E.grad(loss, opt.params).forEach((g, i) => (opt.params[i]!.grad = g));
  });
  opt.step();
  opt.zeroGrad();
  opt.dispose();
  changedBy('an Adam step');
  E.tidy(() => vars.assign(new Map(names.map((n) => [n, E.randn(vars.info.get(n)!.shape)])), { strict: false }));
  changedBy('assign');
  // castTo replaces the tensors: a stale float32 kernel would make the float64 convolutions fail.
  vars.castTo('float64');
  const x32 = input.x;
  input.x = E.keep(x32.to('float64'));
  x32.dispose();
  for (const c of cases) E.tidy(() => assert.equal(E.noGrad(c.run).dtype, 'float64', c.name));
  changedBy('castTo float64 (outputs are compared in float64)');
  input.x.dispose();
  vars.dispose();
});

test('Gs updated by the moving average samples what a fresh copy of its new weights samples', () => {
  const cfg = styleganConfig({ resolution: 16, fmapBase: 32, fmapMax: 8, latentSize: 8, dlatentSize: 8, mappingFmaps: 8, mappingLayers: 2, fusedScale: true });
  const [G, Gs] = [new StyleGANGenerator(cfg, 1), new StyleGANGenerator(cfg, 2)];
  const z = E.keep(E.randn([2, 8], { generator: new E.Generator(5) }));
  const sample = (net: StyleGANGenerator) => E.tidy(() => values(E.noGrad(() => net.forward(z, { noise: 'const' }))));
  const before = sample(Gs);
  assert.deepEqual(sample(Gs), before, 'same weights, same images');
  updateEma(Gs, G, 0.5);
  const after = sample(Gs);
  const fresh = new StyleGANGenerator(cfg, 3);
  fresh.loadStateDict(Gs.stateDict());
  assert.deepEqual(after, sample(fresh));
  assert.notDeepEqual(after, before);
  for (const n of [G, Gs, fresh]) n.dispose();
  z.dispose();
});
