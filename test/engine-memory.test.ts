import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { keep, tidy } from '../src/engine/index.js';

test('tidy frees everything but its result; nested results move to the parent scope', () => {
  const before = E.memoryStats().liveTensors;
  const kept = tidy(() => {
    const a = E.ones([4]);
    const inner = tidy(() => {
      const b = a.mul(2);
      const c = b.add(1);
      return { c, list: [b] };
    });
    assert.equal(inner.c.disposed, false);
    return inner.c;
  });
  assert.equal(E.memoryStats().liveTensors, before + 1);
  assert.deepEqual(Array.from(kept.toFloat32Array()), [3, 3, 3, 3]);
  kept.dispose();
  assert.equal(E.memoryStats().liveTensors, before);
  assert.throws(() => tidy(() => { E.ones([1]); throw new Error('boom'); }), /boom/);
  assert.equal(E.memoryStats().liveTensors, before, 'a throwing scope still frees');
  assert.equal(E.scopeDepth(), 0);
});

test('10,000 forward+backward+Adam steps keep live tensors and RSS flat', () => {
  const gen = new E.Generator(0);
  const w1 = keep(E.randn([32, 16], { generator: gen }).mul(0.1).requiresGrad_(true));
  const w2 = keep(E.randn([1, 32], { generator: gen }).mul(0.1).requiresGrad_(true));
  const x = keep(E.randn([8, 16], { generator: gen }));
  const opt = new E.Adam([w1, w2], { lr: 1e-3, beta1: 0, beta2: 0.99 });
  const step = () => tidy(() => {
    opt.zeroGrad();
    const loss = E.linear(E.linear(x, w1).leakyRelu(0.2), w2).softplus().mean();
    loss.backward();
    opt.step();
  });
  for (let i = 0; i < 500; i++) step(); // warm up allocator caches
  const start = E.memoryStats();
  for (let i = 0; i < 10_000; i++) step();
  const end = E.memoryStats();
  assert.equal(end.liveTensors, start.liveTensors, 'live tensor count is unchanged');
  assert.equal(end.liveBytes, start.liveBytes, 'live tensor bytes are unchanged');
  const growth = (end.rss - start.rss) / 2 ** 20;
  assert.ok(growth < 32, `RSS grew by ${growth.toFixed(1)} MiB over 10,000 steps`);
  for (const t of [w1, w2, x]) t.dispose();
  opt.dispose();
});
