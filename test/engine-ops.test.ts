import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { tensor, tidy } from '../src/engine/index.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `index ${i}: ${a[i]} vs ${b[i]}`);
};
const vals = (t: E.Tensor) => Array.from(t.toFloat32Array());

test('creation, dtypes and typed-array round trips', () => tidy(() => {
  assert.deepEqual(E.zeros([2, 3]).shape, [2, 3]);
  assert.deepEqual(vals(E.ones([3])), [1, 1, 1]);
  assert.deepEqual(vals(E.full([2], 7)), [7, 7]);
  assert.deepEqual(Array.from(E.arange(5).toTypedArray() as BigInt64Array, Number), [0, 1, 2, 3, 4]);
  assert.equal(E.arange(5).dtype, 'int64');
  const src = new Float32Array([1, 2, 3, 4, 5, 6]);
  const t = E.fromTypedArray(src, [2, 3]);
  src[0] = 100; // the tensor holds its own copy
  assert.deepEqual(vals(t), [1, 2, 3, 4, 5, 6]);
  for (const d of ['float32', 'float16', 'bfloat16', 'float64', 'int64', 'int32', 'uint8', 'bool'] as const) {
    const c = t.to(d);
    assert.equal(c.dtype, d);
    assert.deepEqual(vals(c), d === 'bool' ? [1, 1, 1, 1, 1, 1] : [1, 2, 3, 4, 5, 6]);
  }
  // float16 bits: 1.0 = 0x3c00, bfloat16 1.0 = 0x3f80
  assert.equal((tensor([1]).to('float16').toTypedArray() as Uint16Array)[0], 0x3c00);
  assert.equal((tensor([1]).to('bfloat16').toTypedArray() as Uint16Array)[0], 0x3f80);
  const raw = E.fromTypedArray(new Uint16Array([0x3c00, 0x4000]), [2], 'float16');
  assert.deepEqual(vals(raw), [1, 2]);
  assert.deepEqual(tensor([[1, 2], [3, 4]]).toArray(), [[1, 2], [3, 4]]);
}));

test('seeded generators repeat; different seeds differ; state save/restore', () => tidy(() => {
  const a = E.randn([16], { generator: new E.Generator(42) });
  const b = E.randn([16], { generator: new E.Generator(42) });
  const c = E.randn([16], { generator: new E.Generator(43) });
  assert.ok(a.equal(b));
  assert.ok(!a.equal(c));
  E.manualSeed(7);
  const d = E.rand([8]);
  E.manualSeed(7);
  assert.ok(d.equal(E.rand([8])));
  const g = new E.Generator(1);
  const state = g.getState();
  const first = E.randn([4], { generator: g });
  g.setState(state);
  assert.ok(first.equal(E.randn([4], { generator: g })));
  const u = E.rand([1000], { generator: g });
  assert.ok(u.amin().item() >= 0 && u.amax().item() < 1);
}));

test('elementwise math against direct formulas', () => tidy(() => {
  const xs = [-2, -0.5, 0.25, 1.5, 3];
  const x = tensor(xs);
  close(vals(x.add(1)), xs.map((v) => v + 1));
  close(vals(x.sub(x.mul(2))), xs.map((v) => -v));
  close(vals(x.div(4)), xs.map((v) => v / 4));
  close(vals(x.rsub(1)), xs.map((v) => 1 - v));
  close(vals(x.abs().sqrt()), xs.map((v) => Math.sqrt(Math.abs(v))));
  close(vals(x.abs().rsqrt()), xs.map((v) => 1 / Math.sqrt(Math.abs(v))));
  close(vals(x.exp()), xs.map(Math.exp));
  close(vals(x.abs().log()), xs.map((v) => Math.log(Math.abs(v))));
  close(vals(x.square()), xs.map((v) => v * v));
  close(vals(x.leakyRelu(0.2)), xs.map((v) => (v >= 0 ? v : 0.2 * v)));
  close(vals(x.softplus()), xs.map((v) => Math.log1p(Math.exp(v))));
  close(vals(x.clamp(-1, 1)), xs.map((v) => Math.min(1, Math.max(-1, v))));
  close(vals(x.pow(3)), xs.map((v) => v ** 3));
  close(vals(x.tanh()), xs.map(Math.tanh));
  close(vals(x.sigmoid()), xs.map((v) => 1 / (1 + Math.exp(-v))));
  const y = tensor([1, 1, 1, 1, 1]);
  close(vals(x.lerp(y, 0.25)), xs.map((v) => v + 0.25 * (1 - v)));
  close(vals(E.where(x.gt(0), x, y.mul(-9))), xs.map((v) => (v > 0 ? v : -9)));
  assert.deepEqual(vals(x.ge(0.25)), [0, 0, 1, 1, 1]);
  close(vals(x.addcmul(x, y, 2)), xs.map((v) => v + 2 * v));
  close(vals(x.maximum(y)), xs.map((v) => Math.max(v, 1)));
}));

test('reductions: sum, mean, var, std over dims', () => tidy(() => {
  const m = [[1, 2, 3], [4, 5, 9]];
  const x = tensor(m);
  close(vals(x.sum()), [24]);
  close(vals(x.sum(1)), [6, 18]);
  close(vals(x.mean(0)), [2.5, 3.5, 6]);
  close(vals(x.sum(1, true)), [6, 18]);
  assert.deepEqual(x.sum(1, true).shape, [2, 1]);
  const row = [4, 5, 9];
  const mu = 6;
  const pop = row.reduce((a, v) => a + (v - mu) ** 2, 0) / 3;
  close(vals(x.var(1).narrow(0, 1, 1)), [pop]);
  close(vals(x.var(1, { unbiased: true }).narrow(0, 1, 1)), [pop * 1.5]);
  close(vals(x.std(1).narrow(0, 1, 1)), [Math.sqrt(pop)]);
  close(vals(x.amax(1)), [3, 9]);
  assert.deepEqual(Array.from(x.argmax(1).toTypedArray() as BigInt64Array, Number), [2, 2]);
}));

test('shape ops: reshape, permute, narrow, slice, indexSelect, cat, stack, expand, repeat, flip, pad', () => tidy(() => {
  const x = E.arange(24, undefined, 1, { dtype: 'float32' }).reshape(2, 3, 4);
  assert.deepEqual(x.permute(2, 0, 1).shape, [4, 2, 3]);
  assert.equal(x.permute(2, 0, 1).contiguous().view(-1).narrow(0, 1, 1).item(), 4);
  assert.deepEqual(vals(x.narrow(2, 1, 2).select(0, 0).select(0, 0)), [1, 2]);
  assert.deepEqual(vals(x.slice(2, 0, 4, 2).select(0, 1).select(0, 2)), [20, 22]);
  assert.deepEqual(vals(x.indexSelect(1, E.fromTypedArray(new BigInt64Array([2n, 0n]), [2])).select(0, 0).select(1, 0)), [8, 0]);
  assert.deepEqual(E.cat([x, x], 1).shape, [2, 6, 4]);
  assert.deepEqual(E.stack([x, x], 0).shape, [2, 2, 3, 4]);
  assert.deepEqual(vals(tensor([1, 2]).reshape(2, 1).expand(2, 3)), [1, 1, 1, 2, 2, 2]);
  assert.deepEqual(vals(tensor([1, 2]).repeat(3)), [1, 2, 1, 2, 1, 2]);
  assert.deepEqual(vals(tensor([1, 2, 3]).flip(0)), [3, 2, 1]);
  assert.deepEqual(vals(E.pad(tensor([[1, 2]]), [1, 2], 'constant', 9)), [9, 1, 2, 9, 9]);
  assert.deepEqual(x.unsqueeze(0).shape, [1, 2, 3, 4]);
  assert.deepEqual(x.unsqueeze(0).squeeze(0).shape, [2, 3, 4]);
  assert.deepEqual(x.flatten(1).shape, [2, 12]);
  assert.equal(x.split(1, 0).length, 2);
}));

test('matmul, linear, conv2d (stride, padding, groups), transpose conv, pooling, upsampling', () => tidy(() => {
  const a = tensor([[1, 2], [3, 4]]);
  const b = tensor([[5, 6], [7, 8]]);
  assert.deepEqual(vals(a.matmul(b)), [19, 22, 43, 50]);
  assert.deepEqual(vals(E.linear(a, b, tensor([1, -1]))), [1 * 5 + 2 * 6 + 1, 1 * 7 + 2 * 8 - 1, 3 * 5 + 4 * 6 + 1, 3 * 7 + 4 * 8 - 1]);
  // conv2d against a direct sum
  const g = new E.Generator(3);
  const x = E.randn([1, 2, 5, 5], { generator: g });
  const w = E.randn([3, 2, 3, 3], { generator: g });
  const y = E.conv2d(x, w, null, { padding: 1 });
  const X = x.toFloat32Array();
  const W = w.toFloat32Array();
  const direct = (o: number, i: number, j: number) => {
    let s = 0;
    for (let c = 0; c < 2; c++) for (let u = 0; u < 3; u++) for (let v = 0; v < 3; v++) {
      const ii = i + u - 1;
      const jj = j + v - 1;
      if (ii < 0 || jj < 0 || ii >= 5 || jj >= 5) continue;
      s += X[c * 25 + ii * 5 + jj]! * W[((o * 2 + c) * 3 + u) * 3 + v]!;
    }
    return s;
  };
  const Y = y.toFloat32Array();
  for (const [o, i, j] of [[0, 0, 0], [1, 2, 3], [2, 4, 4]] as const) close([Y[o * 25 + i * 5 + j]!], [direct(o, i, j)], 1e-4);
  assert.deepEqual(E.conv2d(x, w, null, { stride: 2, padding: 1 }).shape, [1, 3, 3, 3]);
  const wg = E.randn([4, 1, 3, 3], { generator: g });
  assert.deepEqual(E.conv2d(x, wg, null, { groups: 2 }).shape, [1, 4, 3, 3]);
  // transpose conv with stride 2 is the adjoint of conv with stride 2: <conv(x), z> = <x, convT(z)>
  const z = E.randn([1, 3, 3, 3], { generator: g });
  const lhs = E.conv2d(x, w, null, { stride: 2, padding: 1 }).mul(z).sum().item();
  const rhs = x.mul(E.convTranspose2d(z, w, null, { stride: 2, padding: 1 })).sum().item();
  close([lhs], [rhs], 1e-4);
  const p = tensor([[[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]]]);
  assert.deepEqual(vals(E.avgPool2d(p, 2)), [3.5, 5.5, 11.5, 13.5]);
  assert.deepEqual(vals(E.upsampleNearest2d(tensor([[[[1, 2], [3, 4]]]]), 2)), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
}));

test('in-place ops and eigh', () => tidy(() => {
  const t = E.zeros([3]);
  t.add_(2).mul_(3);
  assert.deepEqual(vals(t), [6, 6, 6]);
  t.lerp_(E.zeros([3]), 0.5);
  assert.deepEqual(vals(t), [3, 3, 3]);
  t.copy_(tensor([1, 2, 3])).clamp_(null, 2);
  assert.deepEqual(vals(t), [1, 2, 2]);
  const [l] = E.eigh(tensor([[2, 1], [1, 2]]).to('float64'));
  close(Array.from(l!.toTypedArray() as Float64Array), [1, 3]);
}));

test('threads can be set and read back', () => {
  const before = E.getNumThreads();
  E.setNumThreads(1);
  assert.equal(E.getNumThreads(), 1);
  E.setNumThreads(before);
  assert.equal(E.getNumThreads(), before);
  assert.throws(() => E.setNumThreads(0), /positive integer/);
});
