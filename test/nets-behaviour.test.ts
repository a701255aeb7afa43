import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { tidy, type Tensor } from '../src/engine/index.js';
import {
  StyleGANGenerator, Discriminator, ProGANGenerator, styleganConfig, proganConfig, truncate, mixStyles, styleLayerRange,
} from '../src/nets/index.js';
import { upscale2d, downscale2d, lerpClip, minibatchStddev, lrelu } from '../src/nn/ops.js';
import { gradcheck } from './helpers/gradcheck.js';
import { blockLayout, THIN_CHANNELS } from '../src/nets/discriminator.js';
import { autocast } from '../src/nn/autocast.js';

const tiny = (o = {}) => styleganConfig({ resolution: 16, fmapBase: 32, fmapMax: 8, latentSize: 8, dlatentSize: 8, mappingFmaps: 8, mappingLayers: 2, ...o });
const gen = new E.Generator(7);
const z = (n: number, d = 8) => E.randn([n, d], { generator: gen });
const same = (a: Tensor, b: Tensor, tol = 1e-6) => a.sub(b).abs().amax().item() <= tol;

test('truncation and style mixing act on the right layers of the dlatents', () => tidy(() => {
  const d = E.randn([2, 6, 4], { generator: gen });
  const avg = E.randn([4], { generator: gen });
  const t = truncate(d, avg, { psi: 0.5, cutoff: 4 });
  const expect = (i: number) => (i < 4 ? avg.reshape(1, 4).lerp(d.select(1, i), 0.5) : d.select(1, i));
  for (let i = 0; i < 6; i++) assert.ok(same(t.select(1, i), expect(i)), `layer ${i}`);
  assert.ok(same(truncate(d, avg, { psi: 0, cutoff: null }).select(1, 5), avg.reshape(1, 4).expand(2, 4)), 'ψ=0 without cutoff → average everywhere');
  assert.ok(same(truncate(d, avg, { psi: 1, cutoff: 4 }), d), 'ψ=1 is identity');
  const src = E.randn([2, 6, 4], { generator: gen });
  const m = mixStyles(d, src, 2);
  for (let i = 0; i < 6; i++) assert.ok(same(m.select(1, i), (i < 2 ? d : src).select(1, i)), `mix layer ${i}`);
  assert.deepEqual(styleLayerRange('coarse', 18), [0, 1, 2, 3]);
  assert.deepEqual(styleLayerRange('middle', 18), [4, 5, 6, 7]);
  assert.deepEqual(styleLayerRange('fine', 18), [8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
  assert.deepEqual(styleLayerRange('fine', 8), []);
}));

test('generator: same seed → same image; ψ=0 gives the average image; noise modes none/const/explicit/random', () => tidy(() => {
  const G = new StyleGANGenerator(tiny(), 3);
  for (const n of G.synthesis.vars.names()) if (n.endsWith('Noise/weight')) G.synthesis.vars.get(n).detach().fill_(0.5);
  G.dlatentAvg.copy_(E.randn([8], { generator: gen }));
  const zz = z(2);
  const a = G.forward(zz, { noise: 'none' });
  assert.deepEqual(a.shape, [2, 3, 16, 16]);
  assert.ok(a.equal(G.forward(zz, { noise: 'none' })), 'noise none is deterministic');
  const r1 = G.forward(zz, { noise: 'random', generator: new E.Generator(1) });
  const r2 = G.forward(zz, { noise: 'random', generator: new E.Generator(1) });
  const r3 = G.forward(zz, { noise: 'random', generator: new E.Generator(2) });
  assert.ok(r1.equal(r2), 'same noise seed → same image');
  assert.ok(!same(r1, r3, 1e-4), 'different noise → different image');
  const c = G.forward(zz, { noise: 'const' });
  const explicit = Array.from({ length: G.numLayers }, (_, i) => G.synthesis.vars.get(`noise${i}`));
  assert.ok(same(c, G.forward(zz, { noise: explicit })), "'const' uses the stored noise maps");
  G.synthesis.vars.get('noise3').detach().mul_(-1);
  assert.ok(!same(c, G.forward(zz, { noise: 'const' }), 1e-4), 'changing a stored map changes the const image');
  const avgA = G.forward(z(1), { noise: 'none', truncationPsi: 0, truncationCutoff: null });
  const avgB = G.forward(z(1), { noise: 'none', truncationPsi: 0, truncationCutoff: null });
  assert.ok(same(avgA, avgB, 1e-5), 'ψ=0 maps every latent to the average image');
  assert.ok(same(avgA, G.synthesis.forward(G.dlatentAvg.reshape(1, 1, 8).expand(1, G.numLayers, 8), { noise: 'none' }), 1e-5));
  assert.throws(() => G.synthesis.forward(E.zeros([1, 3, 8])), /dlatents must be \[N, 6, 8\], got \[1, 3, 8\]/);
  assert.throws(() => G.forward(zz, { noise: [E.zeros([1, 1, 5, 5])] }), /noise for layer 0 must be \[N\|1, 1, 4, 4\]/);
  G.dispose();
  const C = new StyleGANGenerator(tiny({ labelSize: 3 }));
  assert.throws(() => C.forward(z(1)), /conditional \(3 classes\): pass labels/);
  C.dispose();
}));

test('fade-in: integer lod = upscaled lower-resolution output; fractional lod = lerp of the two levels', () => tidy(() => {
  const G = new StyleGANGenerator(tiny(), 4);
  const d = G.mapToDlatents(z(2));
  const run = (lod: number, native = true) => G.synthesis.forward(d, { noise: 'none', lod, native });
  assert.deepEqual(run(1).shape, [2, 3, 8, 8]);
  assert.deepEqual(run(2).shape, [2, 3, 4, 4]);
  assert.ok(same(run(1, false), upscale2d(run(1))), 'lod 1 full-size = nearest ×2 of the 8² image');
  assert.ok(same(run(2, false), upscale2d(run(2), 4)));
  const frac = G.synthesis.forward(d, { noise: 'none', lod: 1.25, native: true });
  assert.ok(same(frac, lerpClip(run(1), upscale2d(run(2)), 0.25), 1e-5), 'lod 1.25 = lerp(8², up(4²), 0.25)');
  assert.throws(() => run(3), /lod must be in \[0, 2\], got 3/);
  const P = new ProGANGenerator(proganConfig({ resolution: 16, fmapBase: 32, fmapMax: 8 }), 5);
  const pz = z(2, P.cfg.latentSize);
  const prun = (lod: number) => P.forward(pz, { lod, native: true });
  assert.ok(same(P.forward(pz, { lod: 0.5, native: true }), lerpClip(prun(0), upscale2d(prun(1)), 0.5), 1e-5));
  G.dispose();
  P.dispose();
}));

/** D in the official "linear" structure: every block at full size, lerp_clip at each level. */
function linearStructureD(D: Discriminator, images: Tensor, lod: number): Tensor {
  const R = D.resolutionLog2;
  let img = images;
  const conv = (layer: { forward(x: Tensor): Tensor }, x: Tensor) => lrelu(layer.forward(x));
  let x = D.fromRgbAt(R).forward(img);
  for (let res = R; res >= 3; res--) {
    const b = D.blockAt(res);
    x = conv(b.conv1, D.arch.blur ? E.conv2d(conv(b.conv0, x), blurK(x.shape[1]!), null, { padding: 1, groups: x.shape[1]! }) : conv(b.conv0, x));
    img = downscale2d(img);
    x = lerpClip(x, D.fromRgbAt(res - 1).forward(img), lod - (R - res));
  }
  x = minibatchStddev(x, D.cfg.mbstdGroupSize, D.cfg.mbstdNumFeatures);
  x = conv(D.epilogue.conv, x);
  x = conv(D.epilogue.dense0, x);
  return D.epilogue.dense1.forward(x);
}
const blurK = (c: number) => E.tensor([1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16)).reshape(1, 1, 3, 3).expand(c, 1, 3, 3).contiguous();

test('discriminator matches the official linear structure at integer and fractional lod', () => tidy(() => {
  for (const cfg of [tiny({ fmapMax: 16 }), proganConfig({ resolution: 16, fmapBase: 64, fmapMax: 16 })]) {
    const D = new Discriminator(cfg, 6);
    const imgs = E.randn([4, 3, 16, 16], { generator: gen });
    for (const lod of [0, 0.3, 1, 1.7, 2]) {
      const ours = D.forward(imgs, { lod });
      const ref = linearStructureD(D, imgs, lod);
      assert.ok(same(ours, ref, 1e-4), `${cfg.arch} lod ${lod}: ${ours.toArray()} vs ${ref.toArray()}`);
    }
    // A working-resolution input is equivalent to the full-size nearest-upscaled one.
    const small = E.randn([4, 3, 8, 8], { generator: gen });
    assert.ok(same(D.forward(small, { lod: 1.5 }), D.forward(upscale2d(small), { lod: 1.5 }), 1e-5));
    assert.throws(() => D.forward(E.zeros([2, 1, 16, 16])), /images must be \[N, 3, r, r\]/);
    D.dispose();
  }
}));

test('D blocks take thin activations channels-last in float32 training on the CPU, wide ones NCHW; the scores agree', () => tidy(() => {
  const x = E.randn([2, 16, 8, 8], { generator: gen });
  const layoutOf = (t: Tensor) => (t.isContiguous() ? 'nchw' : t.isContiguous('channels_last') ? 'cl' : 'other');
  assert.equal(layoutOf(blockLayout(x, THIN_CHANNELS)), 'cl');
  assert.equal(layoutOf(blockLayout(x.contiguous('channels_last'), THIN_CHANNELS + 1)), 'nchw');
  const cl = x.contiguous('channels_last');
  assert.equal(blockLayout(cl, 16), cl, 'no copy when the layout is already right');
  autocast('bfloat16', () => assert.equal(blockLayout(x, 16), x, 'bf16 autocast lays out its own operands'));
  E.noGrad(() => assert.equal(blockLayout(x, 16), x, 'inference keeps the layout it is given'));
  // A D whose blocks are all thin: scores with autograd (channels-last blocks) equal those without (NCHW).
  const D = new Discriminator(tiny({ fmapMax: 16 }), 4);
  const imgs = E.randn([4, 3, 16, 16], { generator: gen });
  const trained = D.forward(imgs.detach().requiresGrad_(true)).detach();
  assert.ok(same(trained, E.noGrad(() => D.forward(imgs)), 1e-5));
  D.dispose();
}));

test('R1 penalty through D: gradients w.r.t. D weights match finite differences (double backward)', () => tidy(() => {
  const cfg = styleganConfig({ resolution: 8, fmapBase: 8, fmapMax: 4, mbstdGroupSize: 2 });
  const D = new Discriminator(cfg, 8).castTo('float64');
  const x = E.randn([2, 3, 8, 8], { dtype: 'float64', generator: gen }).requiresGrad_(true);
  const r1 = () => {
    const scores = D.forward(x, { lod: 0.5 });
    const [gx] = E.grad(scores.sum(), x, { createGraph: true });
    return gx!.square().sum([1, 2, 3]).mean().mul(5).add(scores.neg().softplus().mean());
  };
  gradcheck('R1 wrt 8x8/Conv0/weight', r1, [D.vars.get('8x8/Conv0/weight')], { rtol: 1e-4, atol: 1e-7 });
  gradcheck('R1 wrt FromRGB_lod1/weight', r1, [D.vars.get('FromRGB_lod1/weight')], { rtol: 1e-4, atol: 1e-7 });
  gradcheck('D wrt images', (img) => D.forward(img, { lod: 0 }).sum(), [E.randn([2, 3, 8, 8], { dtype: 'float64', generator: gen })]);
  const G = new StyleGANGenerator(styleganConfig({ resolution: 8, fmapBase: 8, fmapMax: 4, latentSize: 4, dlatentSize: 4, mappingFmaps: 4, mappingLayers: 2 }), 9).castTo('float64');
  const zz = E.randn([2, 4], { dtype: 'float64', generator: gen });
  gradcheck('G loss wrt StyleMod weight', () => G.forward(zz, { noise: 'none' }).square().mean(), [G.synthesis.vars.get('8x8/Conv0_up/StyleMod/weight')]);
  gradcheck('G loss wrt mapping weight', () => G.forward(zz, { noise: 'none' }).square().mean(), [G.mapping.vars.get('Dense0/weight')]);
  D.dispose();
  G.dispose();
}));
