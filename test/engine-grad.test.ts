import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { tidy, type Tensor } from '../src/engine/index.js';
import { gradcheck } from './helpers/gradcheck.js';
import * as F from '../src/engine/foreach.js';

const gen = new E.Generator(1234);
const r = (...shape: number[]) => E.randn(shape, { dtype: 'float64', generator: gen });
// Values bounded away from 0 for ops with a kink or singularity there.
const pos = (...shape: number[]) => E.rand(shape, { dtype: 'float64', generator: gen }).add(0.5);
// A fixed, non-trivial projection of any tensor to a scalar (so each case checks every output's gradient).
const s = (t: Tensor) => t.mul(E.arange(t.numel, undefined, 1, { dtype: 'float64' }).mul(0.731).sin().add(0.2).reshape(...t.shape)).sum();

test('first-order gradients of elementwise ops match finite differences', () => tidy(() => {
  const cases: [string, (...x: Tensor[]) => Tensor, Tensor[]][] = [
    ['add', (a, b) => s(a.add(b, 0.5)), [r(3, 2), r(3, 2)]],
    ['sub', (a, b) => s(a.sub(b)), [r(3, 2), r(2)]],
    ['mul', (a, b) => s(a.mul(b)), [r(3, 2), r(3, 2)]],
    ['div', (a, b) => s(a.div(b)), [r(3, 2), pos(3, 2)]],
    ['pow', (a) => s(a.pow(3)), [r(4)]],
    ['sqrt', (a) => s(a.sqrt()), [pos(4)]],
    ['rsqrt', (a) => s(a.rsqrt()), [pos(4)]],
    ['exp', (a) => s(a.exp()), [r(4)]],
    ['log', (a) => s(a.log()), [pos(4)]],
    ['square', (a) => s(a.square()), [r(4)]],
    ['abs', (a) => s(a.abs()), [pos(4)]],
    ['leakyRelu', (a) => s(a.leakyRelu(0.2)), [pos(3).mul(E.tensor([1, -1, 1]).to('float64'))]],
    ['softplus', (a) => s(a.softplus()), [r(5)]],
    ['clamp', (a) => s(a.clamp(-10, 10)), [r(4)]],
    ['tanh', (a) => s(a.tanh()), [r(4)]],
    ['sigmoid', (a) => s(a.sigmoid()), [r(4)]],
    ['sin/cos', (a) => s(a.sin().add(a.cos())), [r(4)]],
    ['lerp', (a, b) => s(a.lerp(b, 0.3)), [r(4), r(4)]],
    ['lerp tensor weight', (a, b, w) => s(a.lerp(b, w)), [r(4), r(4), r(4)]],
    ['where', (a, b) => s(E.where(E.tensor([1, 0, 1]).gt(0), a, b)), [r(3), r(3)]],
    ['addcmul', (a, b, c) => s(a.addcmul(b, c, 0.7)), [r(3), r(3), r(3)]],
    ['neg/reciprocal', (a) => s(a.neg().reciprocal()), [pos(3)]],
  ];
  for (const [name, f, xs] of cases) gradcheck(name, f, xs);
}));

test('first-order gradients of reductions and shape ops match finite differences', () => tidy(() => {
  const cases: [string, (...x: Tensor[]) => Tensor, Tensor[]][] = [
    ['sum dims', (a) => s(a.sum(1)), [r(3, 4)]],
    ['mean keepdim', (a) => s(a.mean([0, 2], true)), [r(2, 3, 4)]],
    ['var', (a) => s(a.var(1)), [r(3, 4)]],
    ['std', (a) => s(a.std(0, { unbiased: true })), [r(4, 3)]],
    ['amax', (a) => s(a.amax(1)), [r(3, 4)]],
    ['norm', (a) => a.norm(), [r(5)]],
    ['logsumexp', (a) => s(a.logsumexp(1)), [r(2, 3)]],
    ['reshape/permute', (a) => s(a.reshape(4, 3).permute(1, 0)), [r(2, 6)]],
    ['narrow/slice/select', (a) => s(a.narrow(1, 1, 2)).add(s(a.slice(0, 0, 3, 2))).add(s(a.select(1, 0))), [r(3, 4)]],
    ['indexSelect', (a) => s(a.indexSelect(0, E.fromTypedArray(new BigInt64Array([2n, 0n, 2n]), [3]))), [r(3, 2)]],
    ['cat/stack', (a, b) => s(E.cat([a, b], 1)).add(s(E.stack([a, b], 0))), [r(2, 2), r(2, 2)]],
    ['expand/repeat', (a) => s(a.expand(3, 4)).add(s(a.repeat(2, 2))), [r(1, 4)]],
    ['flip', (a) => s(a.flip(0, 1)), [r(3, 2)]],
    ['pad', (a) => s(E.pad(a, [1, 2, 0, 1])), [r(2, 3)]],
    ['softmax/logSoftmax', (a) => s(E.softmax(a, 1)).add(s(E.logSoftmax(a, 1))), [r(2, 4)]],
  ];
  for (const [name, f, xs] of cases) gradcheck(name, f, xs);
}));

test('first-order gradients of linear algebra, convolution and resampling match finite differences', () => tidy(() => {
  const cases: [string, (...x: Tensor[]) => Tensor, Tensor[]][] = [
    ['matmul', (a, b) => s(a.matmul(b)), [r(3, 4), r(4, 2)]],
    ['linear', (x, w, b) => s(E.linear(x, w, b)), [r(2, 3), r(4, 3), r(4)]],
    ['conv2d pad 1', (x, w, b) => s(E.conv2d(x, w, b, { padding: 1 })), [r(2, 2, 4, 4), r(3, 2, 3, 3), r(3)]],
    ['conv2d stride 2', (x, w) => s(E.conv2d(x, w, null, { stride: 2, padding: 1 })), [r(1, 2, 5, 5), r(2, 2, 3, 3)]],
    ['conv2d groups', (x, w) => s(E.conv2d(x, w, null, { groups: 2 })), [r(1, 4, 4, 4), r(4, 2, 3, 3)]],
    ['convTranspose2d', (x, w, b) => s(E.convTranspose2d(x, w, b, { stride: 2, padding: 1 })), [r(1, 2, 3, 3), r(2, 3, 4, 4), r(3)]],
    ['avgPool2d', (x) => s(E.avgPool2d(x, 2)), [r(1, 2, 4, 4)]],
    ['upsampleNearest2d', (x) => s(E.upsampleNearest2d(x, 2)), [r(1, 2, 2, 3)]],
    ['nllLoss', (x) => E.nllLoss(E.logSoftmax(x, 1), E.fromTypedArray(new BigInt64Array([1n, 0n]), [2])), [r(2, 3)]],
  ];
  for (const [name, f, xs] of cases) gradcheck(name, f, xs);
}));

test('second order: d/dw of the input-gradient norm (R1-style double backward) matches finite differences', () => tidy(() => {
  const x = r(2, 2, 5, 5).requiresGrad_(true);
  const w2 = r(1, 3, 3, 3);
  // The penalty term of R1 / WGAN-GP: ||∇x D(x)||², differentiated w.r.t. the conv weights.
  const penalty = (w: Tensor) => {
    const d = E.conv2d(E.conv2d(x, w, null, { padding: 1 }).softplus(), w2, null, { padding: 1 }).sum();
    const [gx] = E.grad(d, x, { createGraph: true });
    return gx!.square().sum();
  };
  gradcheck('R1 penalty wrt conv weight', penalty, [r(3, 2, 3, 3)], { rtol: 1e-4, atol: 1e-5 });
  // WGAN-GP form: (||∇x D(x̂)|| − 1)² with per-sample norms, through a linear layer and leaky ReLU.
  const xs = r(3, 6).requiresGrad_(true);
  const gp = (w: Tensor, v: Tensor) => {
    const d = E.linear(E.linear(xs, w).softplus(), v).sum();
    const [g] = E.grad(d, xs, { createGraph: true });
    return g!.square().sum(1).sqrt().sub(1).square().mean();
  };
  gradcheck('WGAN-GP penalty wrt weights', gp, [r(5, 6), r(1, 5)], { rtol: 1e-4, atol: 1e-5 });
}));

test('backward accumulates into leaves; grad reports unused inputs as null when allowed', () => tidy(() => {
  const a = E.tensor([1, 2, 3]).requiresGrad_(true);
  a.square().sum().backward();
  a.square().sum().backward();
  assert.deepEqual(Array.from(a.grad!.toFloat32Array()), [4, 8, 12]);
  a.grad = null;
  assert.equal(a.grad, null);
  const b = E.tensor([1]).requiresGrad_(true);
  const [ga, gb] = E.grad(a.sum(), [a, b], { allowUnused: true });
  assert.deepEqual(Array.from(ga!.toFloat32Array()), [1, 1, 1]);
  assert.equal(gb, null);
  assert.throws(() => E.grad(a.sum(), [a, b]), /not have been used|One of the differentiated Tensors/);
  const out = E.noGrad(() => a.mul(2));
  assert.equal(out.requiresGrad, false);
  assert.equal(E.isGradEnabled(), true);
}));

test('Adam matches the reference update rule', () => tidy(() => {
  const p = E.tensor([1, -2, 3]).requiresGrad_(true);
  const opt = new E.Adam([p], { lr: 0.1, beta1: 0.5, beta2: 0.9, eps: 1e-8 });
  // Reference (Kingma & Ba with bias correction), computed in plain JS.
  const ref = [1, -2, 3];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  for (let t = 1; t <= 3; t++) {
    opt.zeroGrad();
    p.square().sum().backward(); // grad = 2p
    opt.step();
    for (let i = 0; i < 3; i++) {
      const g = 2 * ref[i]!;
      m[i] = 0.5 * m[i]! + 0.5 * g;
      v[i] = 0.9 * v[i]! + 0.1 * g * g;
      const mh = m[i]! / (1 - 0.5 ** t);
      const vh = v[i]! / (1 - 0.9 ** t);
      ref[i] = ref[i]! - (0.1 * mh) / (Math.sqrt(vh) + 1e-8);
    }
  }
  const got = Array.from(p.detach().toFloat32Array());
  got.forEach((g, i) => assert.ok(Math.abs(g - ref[i]!) < 1e-5, `param ${i}: ${g} vs ${ref[i]}`));
  assert.equal(opt.stepCount, 3);
  // state round trip and reset
  const saved = { step: opt.state().step, expAvg: opt.state().expAvg.map((t) => t.clone()), expAvgSq: opt.state().expAvgSq.map((t) => t.clone()) };
  opt.reset();
  assert.equal(opt.stepCount, 0);
  assert.equal(opt.state().expAvg[0]!.abs().sum().item(), 0);
  opt.loadState(saved);
  assert.equal(opt.stepCount, 3);
  assert.ok(opt.state().expAvg[0]!.equal(saved.expAvg[0]!));
  opt.dispose();
}));

test("Adam's one-pass float32 update equals the foreach sequence to float rounding, in any layout, gradient layouts included", () => tidy(() => {
  const g32 = new E.Generator(99);
  const rnd = (...shape: number[]) => E.randn(shape, { generator: g32 });
  // Sizes off the 16-lane vector width, a permuted (non-contiguous, dense) parameter, a gradient laid out otherwise.
  const params = [rnd(37), rnd(3, 3, 5, 7).permute(3, 2, 0, 1), rnd(1000, 3)].map((t) => t.requiresGrad_(true));
  const twins = params.map((p) => E.noGrad(() => p.detach().clone()));
  const opt = new E.Adam(params, { lr: 0.003, beta1: 0.1, beta2: 0.99, eps: 1e-8 });
  const m = twins.map((t) => E.noGrad(() => t.clone().zero_()));
  const v = twins.map((t) => E.noGrad(() => t.clone().zero_()));
  for (let t = 1; t <= 4; t++) {
    const grads = params.map((p, i) => (i === 1 ? rnd(...p.shape).contiguous() : rnd(...p.shape).mul(t)));
    params.forEach((p, i) => { p.grad = grads[i]!; });
    opt.step();
    E.noGrad(() => {
      const stepSize = 0.003 / (1 - 0.1 ** t);
      F.foreachMul_(m, 0.1);
      F.foreachAdd_(m, grads, 0.9);
      F.foreachMul_(v, 0.99);
      F.foreachAddcmul_(v, grads, grads, 1 - 0.99);
      const denom = F.foreachSqrt(v);
      F.foreachDiv_(denom, Math.sqrt(1 - 0.99 ** t));
      F.foreachAdd_(denom, 1e-8);
      F.foreachAddcdiv_(twins, m, denom, -stepSize);
    });
  }
  const close = (a: Tensor, b: Tensor, what: string) => {
    const err = a.sub(b).abs().amax().item() as number;
    assert.ok(err <= 1e-6 * ((b.abs().amax().item() as number) + 1e-3), `${what}: max difference ${err}`);
  };
  params.forEach((p, i) => {
    close(p.detach(), twins[i]!, `parameter ${i}`);
    close(opt.state().expAvg[i]!, m[i]!, `first moment ${i}`);
    close(opt.state().expAvgSq[i]!, v[i]!, `second moment ${i}`);
    assert.ok(!p.detach().equal(E.noGrad(() => twins[i]!.add(1))), 'the comparison can fail');
  });
  opt.dispose();
}));
