import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../src/engine/index.js';
import { tidy } from '../src/engine/index.js';
import { Variables } from '../src/nn/module.js';
import { UpConv2d, DownConv2d, Conv2d, Dense, createWeight } from '../src/nn/layers.js';
import { blur2d, downscale2d, upscale2d, instanceNorm, pixelNorm, minibatchStddev, styleMod, applyNoise, lerpClip } from '../src/nn/ops.js';

const g = new E.Generator(99);
const rnd = (...s: number[]) => E.randn(s, { generator: g, dtype: 'float64' });
const arr = (t: E.Tensor) => Array.from(t.to('float64').toTypedArray() as Float64Array);
const near = (a: number[], b: number[], tol = 1e-9, what = '') => {
  assert.equal(a.length, b.length, `${what}: length`);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${v} vs ${b[i]}`));
};
/** NCHW index helper. */
const at = (a: number[], s: number[], n: number, c: number, y: number, x: number) => a[((n * s[1]! + c) * s[2]! + y) * s[3]! + x]!;

test('fused upscale-conv equals nearest upscale then 3×3 conv (180°-rotated kernel) away from the borders', () => tidy(() => {
  const vars = new Variables(1);
  vars.castTo('float64');
  const up = new UpConv2d(vars, 'Up', { cin: 3, cout: 4, kernel: 3, fused: true });
  vars.castTo('float64');
  const x = rnd(2, 3, 5, 5);
  const fused = up.forward(x);
  assert.deepEqual(fused.shape, [2, 4, 10, 10]);
  const w = vars.runtime('Up/weight').permute(3, 2, 0, 1).flip(2, 3).contiguous(); // OIHW, rotated 180°
  const ref = E.conv2d(upscale2d(x), w, null, { padding: 1 });
  const interior = (t: E.Tensor) => arr(t.narrow(2, 1, 8).narrow(3, 1, 8).contiguous());
  near(interior(fused), interior(ref), 1e-9, 'interior');
  // ProGAN's layout [k, k, Cout, Cin] gives the same map from the transposed weight.
  const vp = new Variables(2);
  const pup = new UpConv2d(vp, 'Up', { cin: 3, cout: 4, kernel: 3, fused: true, layout: 'progan' });
  vp.castTo('float64');
  vp.get('Up/weight').detach().copy_(vars.get('Up/weight').permute(0, 1, 3, 2));
  near(arr(pup.forward(x)), arr(fused), 1e-12, 'progan layout');
  // The unfused path is plain nearest upscale + conv.
  const plain = new UpConv2d(vars, 'Plain', { cin: 3, cout: 4, kernel: 3, fused: false });
  vars.castTo('float64');
  near(arr(plain.forward(x)), arr(E.conv2d(upscale2d(x), vars.runtime('Plain/weight').permute(3, 2, 0, 1).contiguous(), null, { padding: 1 })), 1e-12, 'unfused');
}));

test('fused conv-downscale equals 3×3 conv then 2×2 box downscale everywhere', () => tidy(() => {
  const vars = new Variables(3);
  const down = new DownConv2d(vars, 'Down', { cin: 3, cout: 2, kernel: 3, fused: true });
  const conv = new Conv2d(vars, 'C', { cin: 3, cout: 2, kernel: 3 });
  vars.castTo('float64');
  vars.get('C/weight').detach().copy_(vars.get('Down/weight'));
  const x = rnd(2, 3, 8, 8);
  near(arr(down.forward(x)), arr(downscale2d(conv.forward(x))), 1e-9, 'fused down');
  const unfused = new DownConv2d(vars, 'Down2', { cin: 3, cout: 2, kernel: 3, fused: false });
  vars.castTo('float64');
  vars.get('Down2/weight').detach().copy_(vars.get('Down/weight'));
  near(arr(unfused.forward(x)), arr(down.forward(x)), 1e-9, 'unfused down');
}));

test('blur has the depthwise convolution\'s gradients to second order (its own adjoint); asymmetric kernels are refused', () => tidy(() => {
  const x0 = rnd(2, 3, 6, 5);
  const k = E.tensor([1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16)).to('float64').reshape(1, 1, 3, 3).expand(3, 1, 3, 3).contiguous();
  const probe = rnd(2, 3, 6, 5);
  const run = (blur: (x: E.Tensor) => E.Tensor) => {
    const x = x0.detach().requiresGrad_(true);
    const [gx] = E.grad(blur(x).mul(probe).square().sum(), [x], { createGraph: true });
    const [ggx] = E.grad(gx!.square().sum(), [x]);
    return { gx: arr(gx!), ggx: arr(ggx!) };
  };
  const want = run((x) => E.conv2d(x, k, null, { padding: 1, groups: 3 }));
  const got = run(blur2d);
  near(got.gx, want.gx, 1e-12, 'gradient');
  near(got.ggx, want.ggx, 1e-12, 'second-order gradient');
  assert.throws(() => E.symmetricBlur(x0, k.narrow(3, 0, 2).contiguous()), /symmetricBlur: k must be \[C, 1, k, k\] with odd k/);
  assert.throws(() => E.symmetricBlur(x0, rnd(3, 1, 3, 3)), /symmetricBlur: k must be symmetric under a 180° turn/);
}));

test('conv2dGradConv has conv2d\'s values and gradients to third order (R1 through D), stride 1 and 2', () => tidy(() => {
  for (const [k, stride, padding] of [[3, 1, 1], [4, 2, 1], [1, 1, 0]] as const) {
    const x0 = rnd(2, 3, 8, 7);
    const w0 = rnd(4, 3, k, k);
    const probe = rnd(...(E.conv2d(x0, w0, null, { stride, padding }).shape as number[]));
    const run = (conv: (x: E.Tensor, w: E.Tensor) => E.Tensor) => {
      const x = x0.detach().requiresGrad_(true);
      const w = w0.detach().requiresGrad_(true);
      const y = conv(x, w);
      // R1-like: the penalty on the input gradient, differentiated w.r.t. both operands, then once more.
      const [gx] = E.grad(y.mul(probe).square().sum(), [x], { createGraph: true });
      const [px, pw] = E.grad(gx!.square().sum(), [x, w], { createGraph: true });
      const [third] = E.grad(px!.square().sum().add(pw!.square().sum()), [w]);
      return [y, gx!, px!, pw!, third!].map(arr);
    };
    const want = run((x, w) => E.conv2d(x, w, null, { stride, padding }));
    const got = run((x, w) => E.conv2dGradConv(x, w, { stride, padding }));
    ['value', 'input gradient', 'second order (x)', 'second order (w)', 'third order'].forEach((what, i) =>
      near(got[i]!, want[i]!, 1e-10, `${k}×${k} stride ${stride}: ${what}`));
  }
  assert.throws(() => E.conv2dGradConv(rnd(1, 3, 4, 4), rnd(2, 5, 3, 3)), /conv2dGradConv: w has 5 input channels, x has 3/);
  assert.throws(() => E.conv2dGradConv(rnd(3, 4, 4), rnd(2, 3, 3, 3)), /conv2dGradConv: x and w must be 4-D/);
}));

test('D\'s convolution layers keep conv2d\'s gradients to second order (R1) on the CPU', () => tidy(() => {
  const vars = new Variables(5);
  const conv = new Conv2d(vars, 'C', { cin: 3, cout: 2, kernel: 3 });
  const down = new DownConv2d(vars, 'D', { cin: 2, cout: 2, kernel: 3, fused: false });
  vars.castTo('float64');
  const x0 = rnd(2, 3, 8, 8);
  const params = [vars.get('C/weight'), vars.get('D/weight')];
  const r1 = (d: (x: E.Tensor) => E.Tensor) => {
    const x = x0.detach().requiresGrad_(true);
    const [gx] = E.grad(d(x).square().sum(), [x], { createGraph: true });
    return E.grad(gx!.square().sum(), params).map((t) => arr(t!));
  };
  const got = r1((x) => down.forward(conv.forward(x)));
  // The same network from libtorch's conv2d: runtime weights, the 3×3 conv then the 2×2 box downscale.
  const oihw = (n: string) => vars.runtime(n).permute(3, 2, 0, 1);
  const want = r1((x) => downscale2d(E.conv2d(E.conv2d(x, oihw('C/weight'), null, { padding: 1 }), oihw('D/weight'), null, { padding: 1 })));
  assert.equal(conv.bias, null);
  near(got[0]!, want[0]!, 1e-9, 'conv weight');
  near(got[1]!, want[1]!, 1e-9, 'downscale-conv weight');
}));

test('blur, box downscale, nearest upscale against direct formulas', () => tidy(() => {
  const x = rnd(1, 2, 4, 5);
  const xs = arr(x);
  const s = x.shape;
  const f = [1, 2, 1];
  const blurRef: number[] = [];
  for (let c = 0; c < 2; c++) for (let i = 0; i < 4; i++) for (let j = 0; j < 5; j++) {
    let v = 0;
    for (let u = -1; u <= 1; u++) for (let w = -1; w <= 1; w++) {
      const ii = i + u;
      const jj = j + w;
      if (ii >= 0 && ii < 4 && jj >= 0 && jj < 5) v += (f[u + 1]! * f[w + 1]! / 16) * at(xs, s, 0, c, ii, jj);
    }
    blurRef.push(v);
  }
  near(arr(blur2d(x)), blurRef, 1e-12, 'blur');
  const y = rnd(1, 2, 4, 4);
  const ys = arr(y);
  const downRef: number[] = [];
  for (let c = 0; c < 2; c++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
    downRef.push((at(ys, y.shape, 0, c, 2 * i, 2 * j) + at(ys, y.shape, 0, c, 2 * i + 1, 2 * j) + at(ys, y.shape, 0, c, 2 * i, 2 * j + 1) + at(ys, y.shape, 0, c, 2 * i + 1, 2 * j + 1)) / 4);
  }
  near(arr(downscale2d(y)), downRef, 1e-12, 'box');
  near(arr(downscale2d(y, 4)), [0, 1].map((c) => ys.slice(c * 16, c * 16 + 16).reduce((a, b) => a + b, 0) / 16), 1e-12, 'box ×4');
  const upRef: number[] = [];
  for (let c = 0; c < 2; c++) for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) upRef.push(at(ys, y.shape, 0, c, i >> 1, j >> 1));
  near(arr(upscale2d(y)), upRef, 0, 'nearest');
}));

test('instance norm, pixel norm, style modulation, noise and lerp_clip against direct formulas', () => tidy(() => {
  const x = rnd(2, 3, 2, 2);
  const xs = arr(x);
  const inRef: number[] = [];
  for (let k = 0; k < 6; k++) {
    const v = xs.slice(k * 4, k * 4 + 4);
    const mu = v.reduce((a, b) => a + b, 0) / 4;
    const varr = v.reduce((a, b) => a + (b - mu) ** 2, 0) / 4;
    inRef.push(...v.map((e) => (e - mu) / Math.sqrt(varr + 1e-8)));
  }
  near(arr(instanceNorm(x)), inRef, 1e-9, 'instance norm');
  const pnRef = xs.map((v, idx) => {
    const n = Math.floor(idx / 12);
    const p = idx % 4;
    const ms = [0, 1, 2].reduce((a, c) => a + xs[n * 12 + c * 4 + p]! ** 2, 0) / 3;
    return v / Math.sqrt(ms + 1e-8);
  });
  near(arr(pixelNorm(x)), pnRef, 1e-9, 'pixel norm');
  const style = rnd(2, 6);
  const ss = arr(style);
  near(arr(styleMod(x, style)), xs.map((v, idx) => {
    const n = Math.floor(idx / 12);
    const c = Math.floor(idx / 4) % 3;
    return v * (ss[n * 6 + c]! + 1) + ss[n * 6 + 3 + c]!;
  }), 1e-12, 'style mod');
  const noise = rnd(2, 1, 2, 2);
  const strength = rnd(3);
  const ns = arr(noise);
  const st = arr(strength);
  near(arr(applyNoise(x, noise, strength)), xs.map((v, idx) => v + ns[Math.floor(idx / 12) * 4 + (idx % 4)]! * st[Math.floor(idx / 4) % 3]!), 1e-12, 'noise');
  const b = rnd(2, 3, 2, 2);
  near(arr(lerpClip(x, b, 0.25)), xs.map((v, i) => v + (arr(b)[i]! - v) * 0.25), 1e-12, 'lerp');
  near(arr(lerpClip(x, b, 7)), arr(b), 0, 'lerp clipped high');
  near(arr(lerpClip(x, b, -1)), xs, 0, 'lerp clipped low');
}));

test('minibatch standard deviation against a direct computation', () => tidy(() => {
  const [N, C, H, W] = [8, 4, 2, 2];
  const G = 4;
  const M = N / G;
  const x = rnd(N, C, H, W);
  const xs = arr(x);
  const y = minibatchStddev(x, G, 2);
  assert.deepEqual(y.shape, [N, C + 2, H, W]);
  const ys = arr(y);
  for (let n = 0; n < N; n++) {
    const m = n % M; // reshape [G, M, …]: sample n = g·M + m
    for (let f = 0; f < 2; f++) {
      let acc = 0;
      for (let cc = 0; cc < C / 2; cc++) for (let p = 0; p < H * W; p++) {
        const c = f * (C / 2) + cc;
        const vals = Array.from({ length: G }, (_, gi) => xs[((gi * M + m) * C + c) * H * W + p]!);
        const mu = vals.reduce((a, b) => a + b, 0) / G;
        acc += Math.sqrt(vals.reduce((a, b) => a + (b - mu) ** 2, 0) / G + 1e-8);
      }
      const expect = acc / ((C / 2) * H * W);
      for (let p = 0; p < H * W; p++) near([ys[(n * (C + 2) + C + f) * H * W + p]!], [expect], 1e-9, `mbstd n${n} f${f}`);
    }
  }
  near(arr(y.narrow(1, 0, C).contiguous()), xs, 0, 'features pass through');
  assert.throws(() => minibatchStddev(rnd(6, 4, 2, 2), 4), /batch 6 is not divisible by the group size 4/);
  assert.deepEqual(minibatchStddev(rnd(2, 4, 2, 2), 4).shape, [2, 5, 2, 2], 'group size shrinks to the batch');
}));

test('equalized learning rate: N(0, 1/lrmul) storage and runtime coefficient gain·lrmul/√fan_in', () => tidy(() => {
  const vars = new Variables(5);
  createWeight(vars, 'W', { shape: [64, 512], lrmul: 0.01 });
  const w = vars.get('W');
  const std = w.std().item();
  assert.ok(Math.abs(std - 100) < 2, `stored std ${std} ≈ 1/lrmul = 100`);
  assert.ok(Math.abs(vars.info.get('W')!.coef - (Math.SQRT2 / 8) * 0.01) < 1e-15);
  const d = new Dense(vars, 'D', { inFeatures: 4, outFeatures: 3, gain: 1 });
  const x = rnd(2, 4).to('float32');
  near(arr(d.forward(x)), arr(x.matmul(vars.get('D/weight')).mul(1 / 2)), 1e-6, 'dense = x·W·(1/√4)');
  createWeight(vars, 'NoWscale', { shape: [100, 10], useWscale: false, gain: 1 });
  assert.equal(vars.info.get('NoWscale')!.coef, 1);
  assert.ok(Math.abs(vars.get('NoWscale').std().item() - 0.1) < 0.02);
}));
