import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { tidy } from '../src/engine/index.js';
import { instanceNorm, styleMod, applyNoise, lrelu } from '../src/nn/ops.js';
import { trainingEpilogue } from '../src/nets/synthesis-layer.js';
import { tinyStyleGAN } from './helpers/gen-nets.js';
import { StyleGANGenerator, styleganConfig } from '../src/nets/index.js';
import { arr, near, channelsLast } from './helpers/close.js';

const g = new E.Generator(5);
const rnd = (...s: number[]) => E.randn(s, { generator: g });

/** The unfused epilogue, op by op (the autograd path of the synthesis network). */
function reference(x: E.Tensor, noise: E.Tensor | null, strength: E.Tensor, bias: E.Tensor, style: E.Tensor | null, norm: boolean): E.Tensor {
  let y = noise ? applyNoise(x, noise, strength) : x;
  y = lrelu(y.add(bias.reshape(1, -1, 1, 1)));
  if (norm) y = instanceNorm(y);
  return style ? styleMod(y, style) : y;
}

const cases: { name: string; layout: (t: E.Tensor) => E.Tensor; noiseN: number; norm: boolean; style: boolean; ch?: number }[] = [
  { name: 'NCHW, batched noise, norm, style', layout: (t: E.Tensor) => t.contiguous(), noiseN: 2, norm: true, style: true },
  { name: 'NCHW, shared noise, no norm', layout: (t: E.Tensor) => t.contiguous(), noiseN: 1, norm: false, style: true },
  { name: 'NCHW, no noise, no style', layout: (t: E.Tensor) => t.contiguous(), noiseN: 0, norm: true, style: false },
  { name: 'channels-last, batched noise, norm, style', layout: channelsLast, noiseN: 2, norm: true, style: true },
  { name: 'channels-last, shared noise, no norm', layout: channelsLast, noiseN: 1, norm: false, style: true },
];

// 5 channels run the scalar kernels; 32 channels in channels-last the AVX-512 ones (C a multiple of 16), over more
// than one 256-row chunk (20 × 15 pixels).
for (const c of [...cases, ...cases.filter((k) => k.layout === channelsLast).map((k) => ({ ...k, ch: 32, name: `${k.name}, 32 channels` }))]) {
  test(`fused epilogue equals the unfused ops (float32, ${c.name})`, () => tidy(() => {
    const [n, ch, h, w] = c.ch ? [2, c.ch, 20, 15] : [2, 5, 9, 7];
    const x = rnd(n, ch, h, w).mul(3).add(0.5);
    const noise = c.noiseN ? rnd(c.noiseN, 1, h, w) : null;
    const [strength, bias] = [rnd(ch), rnd(ch)];
    const style = c.style ? rnd(n, 2 * ch) : null;
    const want = arr(reference(x, noise, strength, bias, style, c.norm));
    const y = c.layout(x.clone());
    const out = E.fusedEpilogue_(y, { noise: noise ? { map: noise, strength } : null, bias, instanceNorm: c.norm, style });
    assert.equal(out, y, 'returns x, written in place');
    near(arr(y), want, 2e-5, c.name);
  }));
}

test('fused epilogue in bfloat16 is within bfloat16 rounding of the float32 reference', () => tidy(() => {
  const [n, ch, h, w] = [2, 4, 8, 8];
  const x = rnd(n, ch, h, w);
  const noise = rnd(n, 1, h, w);
  const [strength, bias, style] = [rnd(ch), rnd(ch), rnd(n, 2 * ch)];
  const want = arr(reference(x.to('bfloat16').to('float32'), noise, strength, bias, style, true));
  for (const layout of [(t: E.Tensor) => t.contiguous(), channelsLast]) {
    const y = layout(x.to('bfloat16'));
    E.fusedEpilogue_(y, { noise: { map: noise, strength }, bias, instanceNorm: true, style });
    assert.equal(y.dtype, 'bfloat16');
    near(arr(y), want, 2e-2, 'bf16');
  }
}));

// Channels-last with C a multiple of 16 has a vector path straight on the storage; each channel's statistics are
// summed in the same order either way, so the first 16 channels of a 17-channel activation (scalar path) are the
// same bits as a 16-channel one (vector path), and bfloat16 is the float32 kernel's result rounded to bfloat16.
const epilogueCases = [
  { name: 'batched noise, norm, style', noiseN: 2, norm: true, style: true },
  { name: 'shared noise, norm, no style', noiseN: 1, norm: true, style: false },
  { name: 'no noise, style only', noiseN: 0, norm: false, style: true },
  { name: 'noise and bias only', noiseN: 1, norm: false, style: false },
];
const bits = (t: E.Tensor) => Array.from(t.contiguous().toTypedArray() as Float32Array | Uint16Array);

for (const c of epilogueCases) {
  test(`fused epilogue: the channels-last vector path equals the scalar one bit for bit (${c.name})`, () => tidy(() => {
    const [n, h, w] = [2, 17, 19];
    const x = rnd(n, 17, h, w).mul(2);
    const noise = c.noiseN ? rnd(c.noiseN, 1, h, w) : null;
    const [strength, bias] = [rnd(17), rnd(17)];
    const style = c.style ? rnd(n, 2, 17) : null;
    const run = (k: number) => {
      const y = channelsLast(x.narrow(1, 0, k));
      return E.fusedEpilogue_(y, {
        noise: noise ? { map: noise, strength: strength.narrow(0, 0, k) } : null, bias: bias.narrow(0, 0, k),
        instanceNorm: c.norm, style: style ? style.narrow(2, 0, k).reshape(n, 2 * k) : null,
      });
    };
    assert.deepEqual(bits(run(16)), bits(run(17).narrow(1, 0, 16)));
  }));

  test(`fused epilogue in bfloat16 (channels-last vector path) is the float32 result rounded (${c.name})`, () => tidy(() => {
    const [n, ch, h, w] = [2, 32, 23, 13];
    const x = channelsLast(rnd(n, ch, h, w).mul(3).to('bfloat16'));
    const o = {
      noise: c.noiseN ? { map: rnd(c.noiseN, 1, h, w), strength: rnd(ch) } : null, bias: rnd(ch), instanceNorm: c.norm,
      style: c.style ? rnd(n, 2 * ch) : null,
    };
    const want = E.fusedEpilogue_(x.to('float32'), o).to('bfloat16');
    assert.deepEqual(bits(E.fusedEpilogue_(x, o)), bits(want));
  }));
}

test('fused epilogue refuses what it cannot do', () => tidy(() => {
  const x = rnd(1, 3, 4, 4);
  assert.throws(() => E.fusedEpilogue_(x.to('float64'), {}), /float32 or bfloat16 only/);
  assert.throws(() => E.fusedEpilogue_(x.transpose(2, 3), {}), /must be contiguous/);
  assert.throws(() => E.fusedEpilogue_(x, { noise: { map: rnd(1, 1, 3, 3), strength: rnd(3) } }), /noise must be \[N\|1, 1, H, W\]/);
  assert.throws(() => E.fusedEpilogue_(x, { bias: rnd(4) }), /bias must have 3 elements/);
}));

test('StyleGAN synthesis without gradients (fused epilogue) equals the unfused autograd path', () => tidy(() => {
  const G = tinyStyleGAN();
  const dl = E.tidy(() => G.mapping.forward(rnd(2, G.cfg.latentSize), G.cfg.labelSize ? E.zeros([2, G.cfg.labelSize]) : null).unsqueeze(1).expand(-1, G.synthesis.numLayers, -1).contiguous());
  const fused = E.noGrad(() => G.synthesis.forward(dl, { noise: 'const' }));
  const setting = trainingEpilogue.fused;
  trainingEpilogue.fused = false;
  const unfused = (() => {
    try {
      return G.synthesis.forward(dl, { noise: 'const' });
    } finally {
      trainingEpilogue.fused = setting;
    }
  })();
  assert.ok(unfused.requiresGrad, 'the reference ran with autograd');
  near(arr(fused), arr(unfused.detach()), 1e-4, 'images');
  G.dispose();
}));

// The kernel's result must not depend on where its buffers lie: a vectorized loop and its scalar fallback (taken
// when run-time alias checks fail) once rounded differently, so a training step's fakes, and with them a resumed
// run's weights, changed in the last bits from call to call. Allocations of assorted sizes between the calls move the
// temporaries around; with the fault, about one call in three differed here.
test('StyleGAN inference is bit-identical from call to call, wherever the buffers lie', () => tidy(() => {
  const G = new StyleGANGenerator(styleganConfig({ resolution: 16, numChannels: 1, fmapBase: 64, fmapMax: 16, latentSize: 16, dlatentSize: 16, mappingFmaps: 16, mappingLayers: 2 }), 7);
  const z = rnd(8, 16);
  const sizes = new E.Generator(11);
  const outputs = new Set<string>();
  for (let i = 0; i < 30; i++) {
    E.tidy(() => Array.from(E.randint(1, 5000, [20], { generator: sizes }).toTypedArray() as BigInt64Array, (k) => E.full([Number(k)], NaN)));
    outputs.add(E.tidy(() => E.noGrad(() => {
      const w = G.mapping.forward(z, null).unsqueeze(1).expand(-1, G.numLayers, -1);
      return Buffer.from(G.synthesis.forward(w, { native: true, noise: 'random', generator: new E.Generator(5) }).contiguous().toFloat32Array().buffer).toString('base64');
    })));
  }
  assert.equal(outputs.size, 1, `${outputs.size} different images from the same inputs`);
  G.dispose();
}));

test('CPU inference of a large batch a few images at a time gives the images of one pass', () => tidy(() => {
  const G = new StyleGANGenerator(styleganConfig({ resolution: 32, numChannels: 3, fmapBase: 64, fmapMax: 16, latentSize: 16, dlatentSize: 16, mappingFmaps: 16, mappingLayers: 2 }), 7);
  const z = rnd(5, 16);
  const perImage = 16 * 32 * 32 * 4; // the largest activation of one image: 16 channels at 32², float32
  for (const lod of [0, 0.5, 1.5]) {
    const run = (maxActivationBytes?: number) => E.tidy(() => E.noGrad(() => {
      const gen = new E.Generator(5);
      const w = G.mapping.forward(z, null).unsqueeze(1).expand(-1, G.numLayers, -1);
      const img = G.synthesis.forward(w, { lod, noise: 'random', generator: gen, maxActivationBytes });
      return { img: arr(img), next: E.randn([1], { generator: gen }).item() }; // the generator advanced as far
    }));
    const one = run();
    for (const chunk of [1, 2]) {
      const parts = run(chunk * perImage);
      assert.equal(parts.next, one.next, `lod ${lod}, ${chunk} at a time: the same noise draws`);
      near(parts.img, one.img, 1e-4, `lod ${lod}, ${chunk} at a time`);
    }
  }
  G.dispose();
}));

test('contiguous(channels_last) keeps the values and lays them NHWC in memory', () => tidy(() => {
  const x = rnd(2, 3, 4, 5);
  const cl = x.contiguous('channels_last');
  assert.deepEqual(cl.shape, [2, 3, 4, 5]);
  assert.deepEqual(cl.strides, [60, 1, 15, 3]);
  assert.ok(cl.isContiguous('channels_last') && !cl.isContiguous());
  assert.ok(cl.contiguous('contiguous').isContiguous());
  assert.deepEqual(arr(cl), arr(x));
  assert.throws(() => x.contiguous('nhwc' as E.MemoryFormat), /memory format must be 'contiguous' or 'channels_last', got 'nhwc'/);
}));

test('StyleGAN inference: channels-last equals NCHW; bf16 stays close to fp32; autograd ignores both', () => tidy(() => {
  const G = tinyStyleGAN();
  const z = rnd(3, G.cfg.latentSize);
  const labels = G.cfg.labelSize ? E.zeros([3, G.cfg.labelSize]) : null;
  const run = (o: { precision?: 'fp32' | 'bf16'; channelsLast?: boolean }) => E.noGrad(() => G.forward(z, { labels, noise: 'const', ...o }));
  const nchw = run({ channelsLast: false });
  const cl = run({});
  const bf16 = run({ precision: 'bf16' });
  assert.equal(bf16.dtype, 'float32');
  assert.ok(bf16.isContiguous() && cl.isContiguous(), 'images come back as float32 NCHW');
  near(arr(cl), arr(nchw), 1e-4, 'channels-last');
  const mse = tidy(() => bf16.sub(nchw).square().mean().item());
  const peak = tidy(() => nchw.abs().amax().item());
  const psnr = 10 * Math.log10((peak * peak) / mse);
  assert.ok(psnr > 30, `bf16 PSNR ${psnr.toFixed(1)} dB`);
  assert.throws(() => run({ precision: 'fp16' as 'fp32' }), /precision must be one of fp32, bf16, got 'fp16'/);
  G.dispose();
}));
