import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { tidy } from '../src/engine/index.js';
import { phaseKernels, upsampleConvByPhases } from '../src/nn/phase-conv.js';

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
