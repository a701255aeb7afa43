import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { tidy } from '../src/engine/index.js';

test('shape mismatches become JS errors carrying libtorch messages', () => tidy(() => {
  assert.throws(() => E.zeros([2, 3]).matmul(E.zeros([2, 3])), /mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/);
  assert.throws(() => E.zeros([2, 3]).add(E.zeros([4])), /size of tensor a \(3\) must match the size of tensor b \(4\)/);
  assert.throws(() => E.conv2d(E.zeros([1, 3, 8, 8]), E.zeros([4, 2, 3, 3])), /expected input\[1, 3, 8, 8\] to have 2 channels/);
  assert.throws(() => E.zeros([6]).view(4), /shape '\[4\]' is invalid for input of size 6/);
  assert.throws(() => E.cat([E.zeros([2, 2]), E.zeros([3, 3])], 0), /Sizes of tensors must match/);
}));

test('dtype errors become JS errors', () => tidy(() => {
  assert.throws(() => E.conv2d(E.zeros([1, 1, 4, 4], { dtype: 'int64' }), E.zeros([1, 1, 3, 3])), /Error|expected|type/);
  assert.throws(() => E.zeros([2], { dtype: 'bool' }).sub(E.zeros([2], { dtype: 'bool' })), /Subtraction, the `-` operator, with two bool tensors is not supported/);
  assert.throws(() => E.zeros([2], { dtype: 'complex64' as never }), /unknown dtype 'complex64'/);
  assert.throws(() => E.zeros([2]).to('complex64'), /Invalid device string: 'complex64'/);
  assert.throws(() => E.fromTypedArray(new Float32Array(5), [2, 3]), /20 bytes cannot hold shape \[2, 3\] of float32 \(24 bytes\)/);
  assert.throws(() => E.zeros([2]).item(), /item\(\) needs a tensor with one element/);
}));

test('use after dispose is a clear error, double dispose is harmless', () => {
  const t = E.ones([3]);
  t.dispose();
  t.dispose();
  assert.equal(t.disposed, true);
  assert.throws(() => t.add(1), /tensor was disposed/);
  assert.throws(() => t.shape, /tensor was disposed/);
  const u = E.ones([3]);
  const v = u.add(1);
  u.dispose();
  assert.deepEqual(Array.from(v.toFloat32Array()), [2, 2, 2], 'results outlive their inputs');
  v.dispose();
});

test('autograd misuse is an error, not an abort', () => tidy(() => {
  assert.throws(() => E.ones([3]).sum().backward(), /does not require grad/);
  const a = E.ones([3]).requiresGrad_(true);
  assert.throws(() => a.mul(2).backward(), /grad can be implicitly created only for scalar outputs/);
  const y = a.square().sum();
  y.backward();
  assert.throws(() => y.backward(), /backward through the graph a second time/);
}));
