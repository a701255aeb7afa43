import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { tidy } from '../src/engine/index.js';
import { instanceNorm, styleMod, applyNoise, lrelu } from '../src/nn/ops.js';
import { trainingEpilogue } from '../src/nets/synthesis-layer.js';
import { tinyStyleGAN } from './helpers/gen-nets.js';
import { arr, near } from './helpers/close.js';
import { gradcheck } from './helpers/gradcheck.js';

const g = new E.Generator(7);
const rnd = (...s: number[]) => E.randn(s, { generator: g });
const channelsLast = (x: E.Tensor) => x.contiguous('channels_last');

interface Inputs {
  x: E.Tensor;
  noise: E.Tensor | null;
  strength: E.Tensor;
  bias: E.Tensor;
  style: E.Tensor | null;
  norm: boolean;
}

/** The unfused epilogue, op by op. */
function reference(i: Inputs): E.Tensor {
  let y = i.noise ? applyNoise(i.x, i.noise, i.strength) : i.x;
  y = lrelu(y.add(i.bias.reshape(1, -1, 1, 1)));
  if (i.norm) y = instanceNorm(y);
  return i.style ? styleMod(y, i.style) : y;
}

const fused = (i: Inputs): E.Tensor =>
  E.fusedEpilogue(i.x, { noise: i.noise ? { map: i.noise, strength: i.strength } : null, bias: i.bias, instanceNorm: i.norm, style: i.style });

/** The differentiable inputs of a case: x, strength (with noise), bias, style (when present). */
const leaves = (i: Inputs): E.Tensor[] => [i.x, ...(i.noise ? [i.strength] : []), i.bias, ...(i.style ? [i.style] : [])];

function makeInputs(c: { noiseN: number; norm: boolean; style: boolean }, shape = [2, 5, 9, 7]): Inputs {
  const [n, ch, h, w] = shape as [number, number, number, number];
  return {
    x: rnd(n, ch, h, w).mul(2).add(0.3), noise: c.noiseN ? rnd(c.noiseN, 1, h, w) : null, strength: rnd(ch), bias: rnd(ch).mul(0.5),
    style: c.style ? rnd(n, 2 * ch).mul(0.5) : null, norm: c.norm,
  };
}

const cases = [
  { name: 'batched noise, norm, style', noiseN: 2, norm: true, style: true },
  { name: 'shared noise, norm, style', noiseN: 1, norm: true, style: true },
  { name: 'shared noise, no norm, style', noiseN: 1, norm: false, style: true },
  { name: 'no noise, norm, no style', noiseN: 0, norm: true, style: false },
];

for (const c of cases) {
  for (const [layoutName, layout] of [['NCHW', (t: E.Tensor) => t.contiguous()], ['channels-last', channelsLast]] as const) {
    test(`fused epilogue with autograd: forward and gradients equal the unfused ops (float32, ${layoutName}, ${c.name})`, () => tidy(() => {
      const base = makeInputs(c);
      const weights = rnd(...base.x.shape);
      const run = (f: (i: Inputs) => E.Tensor, x: E.Tensor) => {
        const i = { ...base, x };
        for (const t of leaves(i)) t.requiresGrad_(true);
        const y = f(i);
        return { y, grads: E.grad(y.mul(weights).sum(), leaves(i)) };
      };
      const want = run(reference, base.x.detach().clone());
      const got = run(fused, layout(base.x.detach().clone()));
      assert.equal(got.y.dtype, 'float32');
      if (layoutName === 'channels-last') assert.ok(got.y.isContiguous('channels_last') && !got.y.isContiguous(), 'the output keeps the channels-last layout');
      near(arr(got.y), arr(want.y), 2e-5, 'y');
      const names = ['x', ...(base.noise ? ['strength'] : []), 'bias', ...(base.style ? ['style'] : [])];
      got.grads.forEach((gr, k) => near(arr(gr!), arr(want.grads[k]!), 1e-4, `d/d${names[k]}`));
    }));
  }
}

test('fused epilogue gradients match central finite differences (float64)', () => {
  for (const c of [cases[0]!, cases[2]!]) {
    const i = makeInputs(c, [2, 3, 4, 5]);
    const d = { ...i, x: i.x.to('float64'), noise: i.noise && i.noise.to('float64'), strength: i.strength.to('float64'), bias: i.bias.to('float64'), style: i.style && i.style.to('float64') };
    const w = rnd(...i.x.shape).to('float64');
    // Inputs in the order of `leaves`: x, strength, bias, style.
    gradcheck(`fusedEpilogue (${c.name})`, (x, strength, bias, style) => fused({ ...d, x, strength: strength!, bias: bias!, style: style! }).mul(w).sum(),
      [d.x, d.strength, d.bias, d.style!], { eps: 1e-6, atol: 1e-7, rtol: 1e-6 });
  }
});

test('fused epilogue with autograd in bfloat16 stays bfloat16 and is within its rounding of float32', () => tidy(() => {
  const i = makeInputs(cases[0]!, [2, 4, 8, 8]);
  const x = channelsLast(i.x.to('bfloat16')).requiresGrad_(true);
  const [strength, bias, style] = [i.strength, i.bias, i.style!].map((t) => t.detach().requiresGrad_(true)) as [E.Tensor, E.Tensor, E.Tensor];
  const y = fused({ ...i, x, strength, bias, style });
  assert.equal(y.dtype, 'bfloat16');
  assert.ok(y.isContiguous('channels_last'));
  const [gx, gs] = E.grad(y.to('float32').sum(), [x, style]);
  assert.equal(gx!.dtype, 'bfloat16');
  assert.equal(gs!.dtype, 'float32');
  const xr = x.detach().to('float32').requiresGrad_(true);
  const want = reference({ ...i, x: xr, strength, bias, style });
  near(arr(y), arr(want), 2e-2, 'bf16 y');
  const [wx] = E.grad(want.sum(), [xr]);
  near(arr(gx!), arr(wx!), 3e-2, 'bf16 d/dx');
}));

test('fused epilogue with autograd refuses double backward and a noise map that wants a gradient', () => tidy(() => {
  const i = makeInputs(cases[1]!, [1, 2, 4, 4]);
  const x = i.x.requiresGrad_(true);
  assert.throws(() => E.grad(fused({ ...i, x }).square().sum(), [x], { createGraph: true }), /fusedEpilogue: no double backward/);
  assert.throws(() => fused({ ...i, noise: i.noise!.detach().requiresGrad_(true) }), /fusedEpilogue: the noise map gets no gradient/);
  assert.throws(() => fused({ ...i, x: i.x.to('int32') }), /float32, float64 or bfloat16 only/);
}));

test('StyleGAN synthesis with autograd: the fused training epilogue gives the unfused images and gradients', () => tidy(() => {
  const G = tinyStyleGAN();
  const dl = E.tidy(() => G.mapping.forward(rnd(2, G.cfg.latentSize), G.cfg.labelSize ? E.zeros([2, G.cfg.labelSize]) : null).unsqueeze(1).expand(-1, G.synthesis.numLayers, -1).contiguous());
  const params = G.synthesis.parameters();
  const setting = trainingEpilogue.fused;
  const pass = (on: boolean) => {
    trainingEpilogue.fused = on;
    try {
      const img = G.synthesis.forward(dl, { noise: 'const' });
      return { img, grads: E.grad(img.square().sum(), params, { allowUnused: true }) };
    } finally {
      trainingEpilogue.fused = setting;
    }
  };
  const [a, b] = [pass(true), pass(false)];
  near(arr(a.img), arr(b.img), 1e-4, 'images');
  params.forEach((_, k) => {
    assert.equal(a.grads[k] === null, b.grads[k] === null, `parameter ${k}: used by both or neither`);
    if (b.grads[k]) near(arr(a.grads[k]!), arr(b.grads[k]!), 2e-3, `gradient of parameter ${k}`);
  });
  G.dispose();
}));

test('StyleGAN synthesis with noise maps that want gradients (projection) falls back to the ops and gives them one', () => tidy(() => {
  const G = tinyStyleGAN();
  const dl = E.tidy(() => G.mapping.forward(rnd(1, G.cfg.latentSize), null).unsqueeze(1).expand(-1, G.synthesis.numLayers, -1).contiguous());
  const noise = G.synthesis.layers.map((_, i) => G.synthesis.vars.get(`noise${i}`).detach().clone().requiresGrad_(true));
  const setting = trainingEpilogue.fused;
  trainingEpilogue.fused = true;
  let grads: (E.Tensor | null)[];
  try {
    grads = E.grad(G.synthesis.forward(dl, { noise }).square().sum(), noise);
  } finally {
    trainingEpilogue.fused = setting;
  }
  grads.forEach((g, i) => assert.ok(g!.abs().sum().item() > 0, `noise ${i} has a gradient`));
  G.dispose();
}));
