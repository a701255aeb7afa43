import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { tidy } from '../src/engine/index.js';
import { pixelNorm, lrelu } from '../src/nn/ops.js';
import { ProGANGenerator, proganConfig } from '../src/nets/index.js';
import { arr, near, channelsLast } from './helpers/close.js';

const g = new E.Generator(7);
const rnd = (...s: number[]) => E.randn(s, { generator: g });
const layouts = [['NCHW', (t: E.Tensor) => t.contiguous()], ['channels-last', channelsLast]] as const;

for (const [layout, lay] of layouts) {
  for (const norm of [true, false]) {
    test(`bias + leaky ReLU + pixel norm in one pass equals the ops (float32, ${layout}, pixel norm ${norm})`, () => tidy(() => {
      // 300 pixels: more than one native block of 256 in NCHW.
      const x = rnd(2, 7, 15, 20).mul(2).add(0.3);
      const bias = rnd(7);
      const y0 = lrelu(x.add(bias.reshape(1, -1, 1, 1)));
      const want = arr(norm ? pixelNorm(y0) : y0);
      const y = lay(x.clone());
      assert.equal(E.biasLreluPixelNorm_(y, { bias, pixelNorm: norm }), y, 'returns x, written in place');
      near(arr(y), want, 2e-6, layout);
    }));
  }
}

test('bias + leaky ReLU + pixel norm in bfloat16 is within bfloat16 rounding of float32', () => tidy(() => {
  const x = rnd(2, 16, 6, 6);
  const bias = rnd(16);
  const want = arr(pixelNorm(lrelu(x.to('bfloat16').to('float32').add(bias.reshape(1, -1, 1, 1)))));
  for (const [, lay] of layouts) {
    const y = lay(x.to('bfloat16'));
    E.biasLreluPixelNorm_(y, { bias, pixelNorm: true });
    assert.equal(y.dtype, 'bfloat16');
    near(arr(y), want, 1e-2, 'bf16');
  }
}));

test('bias + leaky ReLU + pixel norm refuses what it cannot take', () => tidy(() => {
  assert.throws(() => E.biasLreluPixelNorm_(rnd(2, 3, 4), { pixelNorm: true }), /biasLreluPixelNorm_: x must be \[N, C, H, W\]/);
  assert.throws(() => E.biasLreluPixelNorm_(rnd(1, 3, 4, 4), { bias: rnd(4), pixelNorm: true }), /bias must have C elements/);
  assert.throws(() => E.biasLreluPixelNorm_(rnd(1, 3, 4, 4).to('float64'), { pixelNorm: true }), /float32 or bfloat16 only/);
  assert.throws(() => E.biasLreluPixelNorm_(rnd(1, 3, 4, 8).narrow(3, 0, 4), { pixelNorm: true }), /must be contiguous/);
}));

const cfg = proganConfig({ resolution: 32, fmapBase: 64, fmapMax: 16, latentSize: 16 });

test('G_paper inference (channels-last, fused epilogue) equals its autograd path, NCHW too; bf16 is close', () => {
  const G = new ProGANGenerator(cfg, 3);
  try {
    tidy(() => {
      const z = rnd(3, 16);
      const want = arr(G.forward(z)); // gradients on: the op-by-op float32 NCHW path
      for (const lod of [0, 0.5]) {
        const ref = lod === 0 ? want : arr(G.forward(z, { lod }));
        for (const channelsLast of [true, false]) {
          const y = E.noGrad(() => G.forward(z, { channelsLast, lod }));
          assert.deepEqual(y.shape, [3, 3, 32, 32]);
          assert.ok(y.isContiguous(), 'the image is NCHW');
          near(arr(y), ref, 2e-5, `fp32 channelsLast ${channelsLast} lod ${lod}`);
        }
      }
      const b = E.noGrad(() => G.forward(z, { precision: 'bf16' }));
      assert.equal(b.dtype, 'float32');
      const got = arr(b);
      const mse = got.reduce((s, v, i) => s + (v - want[i]!) ** 2, 0) / got.length;
      const range = Math.max(...want) - Math.min(...want);
      const psnr = 10 * Math.log10((range * range) / mse);
      assert.ok(psnr > 30, `bf16 PSNR ${psnr.toFixed(1)} dB against fp32`);
    });
  } finally {
    G.dispose();
  }
});
