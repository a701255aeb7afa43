import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { tidy } from '../src/engine/index.js';
import { phaseKernels, upsampleConvByPhases, upscaleConvPhaseKernels, derivedKernel, type DerivedKernel } from '../src/nn/phase-conv.js';
import { fusedKernel, upscale2d, downscale2d } from '../src/nn/ops.js';

const g = new E.Generator(11);
const rnd = (...s: number[]) => E.randn(s, { generator: g, dtype: 'float64' });
const maxAbs = (a: E.Tensor, b: E.Tensor) => tidy(() => a.sub(b).abs().amax().item());

test('the phase decomposition equals the stride-2 transposed convolution (NCHW and channels-last)', () => tidy(() => {
  const x = rnd(2, 3, 5, 6);
  const k = rnd(3, 4, 4, 4); // IOHW
  const want = E.convTranspose2d(x, k, null, { stride: 2, padding: 1 });
  const kernels = phaseKernels(k);
  assert.deepEqual(kernels.shape, [16, 3, 2, 2]);
  const got = upsampleConvByPhases(x, kernels);
  assert.deepEqual(got.shape, [2, 4, 10, 12]);
  assert.ok(maxAbs(got, want) < 1e-12);
  const cl = upsampleConvByPhases(x.contiguous('channels_last'), kernels.contiguous('channels_last'));
  assert.ok(cl.isContiguous('channels_last'), 'the output keeps channels-last');
  assert.ok(maxAbs(cl, want) < 1e-12);
}));

test('writing the phases does not invalidate prepared weights (mutation epoch unchanged)', () => tidy(() => {
  const x = rnd(1, 2, 3, 3);
  const kernels = phaseKernels(rnd(2, 2, 4, 4));
  const epoch = E.mutationEpoch();
  upsampleConvByPhases(x, kernels);
  assert.equal(E.mutationEpoch(), epoch);
}));

test('with autograd the phase decomposition has the transposed convolution\'s gradients (input and kernel)', () => tidy(() => {
  const x0 = rnd(2, 3, 5, 6);
  const k0 = rnd(3, 4, 4, 4); // IOHW
  const probe = rnd(2, 4, 10, 12);
  const grads = (conv: (x: E.Tensor, k: E.Tensor) => E.Tensor) => {
    const x = x0.detach().requiresGrad_(true);
    const k = k0.detach().requiresGrad_(true);
    const y = conv(x, k);
    y.mul(probe).sum().backward();
    return { y: y.detach(), gx: x.grad!, gk: k.grad! };
  };
  const want = grads((x, k) => E.convTranspose2d(x, k, null, { stride: 2, padding: 1 }));
  const got = grads((x, k) => upsampleConvByPhases(x, phaseKernels(k)));
  assert.ok(maxAbs(got.y, want.y) < 1e-12, 'forward');
  assert.ok(maxAbs(got.gx, want.gx) < 1e-12, 'input gradient');
  assert.ok(maxAbs(got.gk, want.gk) < 1e-12, 'kernel gradient');
  assert.ok(maxAbs(got.gk, want.gk.mul(2)) > 1e-3, 'the comparison can fail');
}));

test('nearest upscaling + 3×3 convolution equals its four phase convolutions; 3×3 convolution + box downscaling the strided one', () => tidy(() => {
  const w = rnd(4, 3, 3, 3); // OIHW
  const x = rnd(2, 3, 5, 6);
  const up = E.conv2d(upscale2d(x), w, null, { padding: 1 });
  assert.ok(maxAbs(upsampleConvByPhases(x, upscaleConvPhaseKernels(w)), up) < 1e-12);
  assert.ok(maxAbs(upsampleConvByPhases(x, upscaleConvPhaseKernels(w.flip(2, 3))), up) > 1e-3, 'the comparison can fail');
  const x2 = rnd(2, 3, 8, 6);
  const down = downscale2d(E.conv2d(x2, w, null, { padding: 1 }));
  assert.ok(maxAbs(E.conv2d(x2, derivedKernel('strided', w), null, { stride: 2, padding: 1 }), down) < 1e-12);
}));

/** The op-by-op derivations the native tap map replaces, on w [O, C, 3, 3]. */
const REFERENCE: Record<DerivedKernel, (w: E.Tensor) => E.Tensor> = {
  'upscale-phases': upscaleConvPhaseKernels,
  'fused-up-phases': (w) => phaseKernels(fusedKernel(w.transpose(0, 1))),
  strided: (w) => fusedKernel(w).mul(0.25),
};

for (const kind of Object.keys(REFERENCE) as DerivedKernel[]) {
  test(`derived kernel '${kind}' in one native pass equals the op-by-op derivation to rounding, with its gradients to second order`, () => tidy(() => {
    const w0 = rnd(5, 7, 3, 3);
    const want = REFERENCE[kind](w0);
    for (const format of ['contiguous', 'channels_last'] as const) {
      const got = derivedKernel(kind, w0, format);
      assert.ok(got.isContiguous(format), format);
      assert.ok(maxAbs(got, want) < 1e-14, `${format}: forward (the same sums, perhaps in another order)`);
    }
    // A convolution with the kernel, R1-style: the gradient of |∂y/∂x|² w.r.t. w (double backward through the map).
    const x = rnd(2, 7, 6, 6).requiresGrad_(true);
    const probe = rnd(...want.shape);
    const r1 = (derive: (w: E.Tensor) => E.Tensor) => {
      const w = w0.detach().requiresGrad_(true);
      const k = derive(w);
      const [gw] = E.grad(k.mul(probe).sum(), [w]);
      const y = E.conv2d(x, k, null, { padding: 1 });
      const [gx] = E.grad(y.square().sum(), [x], { createGraph: true });
      return { gw: gw!, second: E.grad(gx!.square().sum(), [w])[0]! };
    };
    const [a, b] = [r1((w) => derivedKernel(kind, w)), r1(REFERENCE[kind])];
    assert.ok(maxAbs(a.gw, b.gw) < 1e-14, 'first-order gradient');
    assert.ok(maxAbs(a.second, b.second) < 1e-9 * (1 + b.second.abs().amax().item()), 'second-order gradient');
  }));
}

test('tapMap refuses what it cannot do', () => tidy(() => {
  const w = rnd(2, 2, 3, 3);
  assert.throws(() => E.tapMap(w, rnd(8, 16), { groups: 4, outTaps: [2, 2] }), /tapMap: m must be \[kh·kw, groups·qh·qw\] = \[9, 16\]/);
  assert.throws(() => E.tapMap(w.to('bfloat16'), rnd(9, 16), { groups: 4, outTaps: [2, 2] }), /tapMap: float32 or float64 only/);
  assert.throws(() => E.tapMap(rnd(2, 9), rnd(9, 16), { groups: 4, outTaps: [2, 2] }), /tapMap: w must be \[O, C, kh, kw\]/);
}));
