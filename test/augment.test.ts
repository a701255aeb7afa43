import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import * as E from '../src/engine/index.js';
import {
  TRANSFORMS, augmentSpec, augmentWith, sampleBilinear, drawAugment, generatorDraws, geometricMatrix, colorMatrix, AdaController, AugmentPipe,
  type AugmentDraw, type TransformName,
} from '../src/train/augment.js';
import { PYTHON, ROOT, torchImportable } from './helpers/python.js';

const skip = torchImportable() ? false : `${PYTHON} cannot import torch (Debian python3-torch)`;

const identity = (n: number): AugmentDraw => {
  const z = () => new Array<number>(n).fill(0), o = () => new Array<number>(n).fill(1);
  return {
    xflip: z(), rotate90: z(), xintX: z(), xintY: z(), scale: o(), rotatePre: z(), aniso: o(), rotatePost: z(), xfracX: z(), xfracY: z(),
    brightness: z(), contrast: o(), lumaflip: z(), hue: z(), saturation: o(),
  };
};

/** One transform at fixed per-image values (4 images), everything else identity. */
const single: Record<TransformName, Partial<AugmentDraw>> = {
  xflip: { xflip: [1, 0, 1, 1] },
  rotate90: { rotate90: [1, 2, 3, 0] },
  xint: { xintX: [2, -1, 0, 3], xintY: [-2, 1, 3, 0] },
  scale: { scale: [1.3, 0.7, 1.05, 0.9] },
  rotate: { rotatePre: [0.4, -2.5, 1.1, 0], rotatePost: [0, 0.3, -0.8, 3.0] },
  aniso: { aniso: [1.25, 0.8, 1.1, 0.95] },
  xfrac: { xfracX: [0.4, -1.7, 2.2, 0], xfracY: [-0.3, 0.9, 0, 1.6] },
  brightness: { brightness: [0.2, -0.35, 0.05, 0.1] },
  contrast: { contrast: [1.4, 0.6, 0.9, 2.0] },
  lumaflip: { lumaflip: [1, 0, 1, 1] },
  hue: { hue: [0.5, -1.2, 3.0, 2.2] },
  saturation: { saturation: [0.3, 2.5, 1.2, 0.0] },
};

function images(n: number, c: number, h: number, w: number, seed: number): Float32Array {
  return E.tidy(() => E.rand([n, c, h, w], { generator: new E.Generator(seed) }).mul(2).sub(1).toFloat32Array());
}

interface Case { shape: number[]; images: number[]; draws: AugmentDraw }
interface Ref { images: number[]; geom: number[][]; color: number[][] }

function reference(cases: Case[]): Ref[] {
  const out = execFileSync(PYTHON, [path.join(ROOT, 'tools', 'augment-reference.py')], { input: JSON.stringify(cases), maxBuffer: 1 << 28, encoding: 'utf8' });
  return JSON.parse(out) as Ref[];
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

function ours(c: Case): Float32Array {
  return E.tidy(() => augmentWith(E.fromTypedArray(Float32Array.from(c.images), c.shape), c.draws).toFloat32Array());
}

test('each ADA transform, alone, matches an independent PyTorch implementation (matrices and images)', { skip }, () => {
  const shape = [4, 3, 12, 12];
  const x = Array.from(images(4, 3, 12, 12, 5));
  const cases: Case[] = TRANSFORMS.map((t) => ({ shape, images: x, draws: { ...identity(4), ...single[t] } }));
  const refs = reference(cases);
  cases.forEach((c, k) => {
    const name = TRANSFORMS[k]!;
    for (let i = 0; i < 4; i++) {
      assert.ok(maxDiff(geometricMatrix(c.draws, i).flat(), refs[k]!.geom[i]!) < 1e-12, `${name}: geometric matrix ${i}`);
      assert.ok(maxDiff(colorMatrix(c.draws, i, 3).flat(), refs[k]!.color[i]!) < 1e-12, `${name}: colour matrix ${i}`);
    }
    const d = maxDiff(ours(c), refs[k]!.images);
    assert.ok(d < 2e-5, `${name}: images differ by ${d}`);
  });
});

test('the whole bgc pipeline at p = 1 (RGB and greyscale) matches the PyTorch reference; integer shifts are exact', { skip }, () => {
  const r = generatorDraws(new E.Generator(11));
  const rgb: Case = { shape: [6, 3, 16, 16], images: Array.from(images(6, 3, 16, 16, 1)), draws: drawAugment(augmentSpec('bgc'), r, { p: 1, n: 6, width: 16, height: 16 }) };
  const grey: Case = { shape: [6, 1, 8, 8], images: Array.from(images(6, 1, 8, 8, 2)), draws: drawAugment(augmentSpec('bgc'), r, { p: 1, n: 6, width: 8, height: 8 }) };
  const [a, b] = reference([rgb, grey]);
  assert.ok(maxDiff(ours(rgb), a!.images) < 5e-5);
  assert.ok(maxDiff(ours(grey), b!.images) < 5e-5);
  // An integer translation through the filtered resampling moves pixels exactly (the sym6 pair reconstructs).
  const x = images(1, 2, 8, 8, 3);
  const moved = ours({ shape: [1, 2, 8, 8], images: Array.from(x), draws: { ...identity(1), xintX: [1] } });
  const [got, want] = E.tidy(() => [E.fromTypedArray(moved, [1, 2, 8, 8]).slice(3, 1, 8), E.fromTypedArray(x, [1, 2, 8, 8]).slice(3, 0, 7)].map((t) => t.toFloat32Array()));
  assert.ok(maxDiff(got!, want!) < 1e-5, 'a one-pixel shift');
});

test('draws: p = 0 is the identity, bg leaves colours alone, p = 1 turns on each transform with its magnitude', () => {
  const r = generatorDraws(new E.Generator(3));
  assert.deepEqual(drawAugment(augmentSpec('bgc'), r, { p: 0, n: 5, width: 32, height: 32 }), identity(5));
  const bg = drawAugment(augmentSpec('bg'), r, { p: 1, n: 200, width: 32, height: 32 });
  const id = identity(200);
  for (const k of ['brightness', 'contrast', 'lumaflip', 'hue', 'saturation'] as const) assert.deepEqual(bg[k], id[k]);
  assert.ok(bg.xintX.every((t) => Number.isInteger(t) && Math.abs(t) <= 4), 'integer translation within 0.125 of the width');
  assert.ok(bg.rotate90.every((q) => [0, 1, 2, 3].includes(q)));
  assert.ok(bg.scale.every((s) => s > 0) && bg.scale.some((s) => s !== 1));
  // Rotation happens before or after the anisotropic scaling, P(either) = p·multiplier = 1.
  assert.ok(bg.rotatePre.every((t, i) => t !== 0 || bg.rotatePost[i] !== 0));
  assert.throws(() => augmentSpec('bgcfnc'), { message: "--augpipe: unknown pipeline 'bgcfnc' (available: blit, geom, color, bg, bgc)" });
});

test('bilinear sampling by gathers equals libtorch grid_sample (zeros, align_corners false)', () => {
  E.tidy(() => {
    const x = E.fromTypedArray(images(2, 3, 9, 7, 6), [2, 3, 9, 7]);
    const grid = E.rand([2, 5, 6, 2], { generator: new E.Generator(2) }).mul(2.6).sub(1.3); // partly outside
    const d = maxDiff(sampleBilinear(x, grid).toFloat32Array(), E.gridSample(x, grid).toFloat32Array());
    assert.ok(d < 1e-6, `differs by ${d}`);
    const theta = E.tensor([[[0.8, -0.3, 0.1], [0.25, 1.1, -0.2]]]).expand(2, 2, 3);
    const affine = E.affineGrid(theta, [2, 3, 9, 7]);
    assert.ok(maxDiff(sampleBilinear(x, affine).toFloat32Array(), E.gridSample(x, affine).toFloat32Array()) < 1e-6);
  });
});

test('augmentation is twice differentiable in its input (R1 through augmented reals)', () => {
  E.tidy(() => {
    const x = E.fromTypedArray(images(2, 3, 8, 8, 4), [2, 3, 8, 8]).requiresGrad_(true);
    const y = new AugmentPipe(augmentSpec('bgc'), 1).forward(x, new E.Generator(9));
    const [g] = E.grad(y.square().sum(), x, { createGraph: true });
    assert.ok(g!.abs().sum().item() > 0);
    const [gg] = E.grad(g!.square().sum(), x);
    assert.ok(gg!.abs().sum().item() > 0);
  });
});

test('ADA controller: p moves by sign(r_t − target)·batch·4/500k every 4 minibatches, never below 0', () => {
  const c = new AdaController(0.6);
  let p = 0;
  // r_t = mean sign over the 4 minibatches of 8 images: (8 + 8 + 8 − 8) / 32 = 0.5 < 0.6 → p would go down, stays 0.
  for (const s of [8, 8, 8]) assert.equal(p = c.update(p, { signSum: s, count: 8, batchSize: 8 }), 0);
  assert.equal(p = c.update(p, { signSum: -8, count: 8, batchSize: 8 }), 0);
  // (8·4)/32 = 1 > 0.6 → up by 8·4/500000.
  for (let i = 0; i < 3; i++) assert.equal(p = c.update(p, { signSum: 8, count: 8, batchSize: 8 }), 0);
  assert.equal(p = c.update(p, { signSum: 8, count: 8, batchSize: 8 }), (8 * 4) / 500000);
  for (let i = 0; i < 4; i++) p = c.update(p, { signSum: 8, count: 8, batchSize: 8 });
  assert.equal(p, 2 * ((8 * 4) / 500000));
  // Down once: r_t = 0.
  for (const s of [8, -8, 8, -8]) p = c.update(p, { signSum: s, count: 8, batchSize: 8 });
  assert.equal(p, 2 * ((8 * 4) / 500000) - (8 * 4) / 500000);
  assert.deepEqual(c.state, { signSum: 0, count: 0, batches: 16 });
});
