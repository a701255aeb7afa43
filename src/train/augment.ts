/**
 * Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial Networks with Limited
 * Data"): the differentiable pipeline of pixel blitting (x-flip, 90° rotations, integer translation), general
 * geometric transforms (isotropic scaling, rotation, anisotropic scaling, fractional translation) and colour
 * transforms (brightness, contrast, luma flip, hue, saturation), each applied per image with probability p times
 * its multiplier, with the paper's magnitudes and order; and the controller that steers p from the sign of D(real).
 *
 * The per-image parameters are drawn from the run's random stream; the 3×3 geometric and 4×4 colour matrices are
 * built on the host in float64; the images go through differentiable tensor operations only (reflect padding, 2×
 * upsampling with the sym6 wavelet low-pass, affine grid + bilinear sampling, filtered 2× downsampling, a
 * per-image colour matrix), so gradients reach G through the augmented fakes and the R1 penalty can be taken
 * through the augmented reals (second derivatives).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

export const TRANSFORMS = ['xflip', 'rotate90', 'xint', 'scale', 'rotate', 'aniso', 'xfrac', 'brightness', 'contrast', 'lumaflip', 'hue', 'saturation'] as const;
export type TransformName = (typeof TRANSFORMS)[number];
/** Probability multipliers per transform (0: off). */
export type AugmentSpec = Record<TransformName, number>;

const blit = ['xflip', 'rotate90', 'xint'] as const;
const geom = ['scale', 'rotate', 'aniso', 'xfrac'] as const;
const color = ['brightness', 'contrast', 'lumaflip', 'hue', 'saturation'] as const;
const groups: Record<string, readonly TransformName[]> = {
  blit, geom, color, bg: [...blit, ...geom], bgc: [...blit, ...geom, ...color],
};
/** The pipelines by name (the paper's; image-space filtering, noise and cutout are not provided). */
export const AUGPIPES = Object.keys(groups);

export function augmentSpec(name: string): AugmentSpec {
  const on = groups[name];
  if (!on) throw new Error(`--augpipe: unknown pipeline '${name}' (available: ${AUGPIPES.join(', ')})`);
  return Object.fromEntries(TRANSFORMS.map((t) => [t, on.includes(t) ? 1 : 0])) as AugmentSpec;
}

/** The paper's magnitudes. */
export const MAGNITUDES = {
  xintMax: 0.125, scaleStd: 0.2, rotateMax: 1, anisoStd: 0.2, xfracStd: 0.125,
  brightnessStd: 0.2, contrastStd: 0.5, hueMax: 1, saturationStd: 1,
} as const;

/** Per-image parameters of one batch; identity values where a transform was not drawn. */
export interface AugmentDraw {
  /** 0 or 1. */ xflip: number[];
  /** Quarter turns 0..3. */ rotate90: number[];
  /** Integer translation in pixels. */ xintX: number[]; xintY: number[];
  scale: number[];
  /** Rotation before and after the anisotropic scaling (radians). */ rotatePre: number[]; rotatePost: number[];
  aniso: number[];
  /** Fractional translation in pixels. */ xfracX: number[]; xfracY: number[];
  brightness: number[]; contrast: number[];
  /** 0 or 1. */ lumaflip: number[];
  hue: number[]; saturation: number[];
}

/** Uniform [0, 1) and standard normal draws. */
export interface Draws {
  uniform(): number;
  normal(): number;
}

/** Draws every transform's parameters for `n` images of `width`×`height` at strength `p`. */
export function drawAugment(spec: AugmentSpec, r: Draws, { p, n, width, height }: { p: number; n: number; width: number; height: number }): AugmentDraw {
  const M = MAGNITUDES;
  const per = <T>(f: () => T): T[] => Array.from({ length: n }, f);
  // Each transform: a value, kept with probability multiplier·p, else the identity value.
  const gate = (mult: number, value: () => number, { identity, prob = mult * p }: { identity: number; prob?: number }) =>
    per(() => {
      const v = value();
      return mult > 0 && r.uniform() < prob ? v : identity;
    });
  const pair = (mult: number, value: () => number): [number[], number[]] => {
    const xs: number[] = [], ys: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = value(), y = value();
      const on = mult > 0 && r.uniform() < mult * p;
      xs.push(on ? x : 0);
      ys.push(on ? y : 0);
    }
    return [xs, ys];
  };
  const pRot = 1 - Math.sqrt(Math.min(Math.max(1 - spec.rotate * p, 0), 1)); // P(pre or post) = p
  const [xintX, xintY] = pair(spec.xint, () => (r.uniform() * 2 - 1) * M.xintMax);
  const [xfracX, xfracY] = pair(spec.xfrac, () => r.normal() * M.xfracStd);
  const angle = () => (r.uniform() * 2 - 1) * Math.PI * M.rotateMax;
  return {
    xflip: gate(spec.xflip, () => Math.floor(r.uniform() * 2), { identity: 0 }),
    rotate90: gate(spec.rotate90, () => Math.floor(r.uniform() * 4), { identity: 0 }),
    xintX: xintX.map((t) => Math.round(t * width)), xintY: xintY.map((t) => Math.round(t * height)),
    scale: gate(spec.scale, () => 2 ** (r.normal() * M.scaleStd), { identity: 1 }),
    rotatePre: gate(spec.rotate, angle, { identity: 0, prob: spec.rotate > 0 ? pRot : 0 }),
    aniso: gate(spec.aniso, () => 2 ** (r.normal() * M.anisoStd), { identity: 1 }),
    rotatePost: gate(spec.rotate, angle, { identity: 0, prob: spec.rotate > 0 ? pRot : 0 }),
    xfracX: xfracX.map((t) => t * width), xfracY: xfracY.map((t) => t * height),
    brightness: gate(spec.brightness, () => r.normal() * M.brightnessStd, { identity: 0 }),
    contrast: gate(spec.contrast, () => 2 ** (r.normal() * M.contrastStd), { identity: 1 }),
    lumaflip: gate(spec.lumaflip, () => Math.floor(r.uniform() * 2), { identity: 0 }),
    hue: gate(spec.hue, () => (r.uniform() * 2 - 1) * Math.PI * M.hueMax, { identity: 0 }),
    saturation: gate(spec.saturation, () => 2 ** (r.normal() * M.saturationStd), { identity: 1 }),
  };
}

// ---- host-side homogeneous matrices (row-major number[][]) ----
type Mat = number[][];
const mm = (a: Mat, b: Mat): Mat => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const eye = (k: number): Mat => Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 1 : 0)));
const translate2 = (tx: number, ty: number): Mat => [[1, 0, tx], [0, 1, ty], [0, 0, 1]];
const scale2 = (sx: number, sy: number): Mat => [[sx, 0, 0], [0, sy, 0], [0, 0, 1]];
const rotate2 = (t: number): Mat => [[Math.cos(t), -Math.sin(t), 0], [Math.sin(t), Math.cos(t), 0], [0, 0, 1]];

/** The inverse geometric transform of image `i` (output pixel → input pixel, centred coordinates). */
export function geometricMatrix(d: AugmentDraw, i: number): Mat {
  let g = eye(3);
  g = mm(g, scale2(1 / (1 - 2 * d.xflip[i]!), 1));
  g = mm(g, rotate2((Math.PI / 2) * d.rotate90[i]!));
  g = mm(g, translate2(-d.xintX[i]!, -d.xintY[i]!));
  g = mm(g, scale2(1 / d.scale[i]!, 1 / d.scale[i]!));
  g = mm(g, rotate2(d.rotatePre[i]!));
  g = mm(g, scale2(1 / d.aniso[i]!, d.aniso[i]!));
  g = mm(g, rotate2(d.rotatePost[i]!));
  return mm(g, translate2(-d.xfracX[i]!, -d.xfracY[i]!));
}

/** The colour transform of image `i` (homogeneous RGB: C·[r g b 1]). */
export function colorMatrix(d: AugmentDraw, i: number, channels: number): Mat {
  const v = [1, 1, 1, 0].map((x) => x / Math.sqrt(3));
  const vv = v.map((a) => v.map((b) => a * b));
  const I = eye(4);
  let c = I;
  const b = d.brightness[i]!, k = d.contrast[i]!;
  c = mm([[1, 0, 0, b], [0, 1, 0, b], [0, 0, 1, b], [0, 0, 0, 1]], c);
  c = mm([[k, 0, 0, 0], [0, k, 0, 0], [0, 0, k, 0], [0, 0, 0, 1]], c);
  c = mm(I.map((row, r) => row.map((x, s) => x - 2 * vv[r]![s]! * d.lumaflip[i]!)), c);
  if (channels > 1) {
    const t = d.hue[i]!, sn = Math.sin(t), cs = Math.cos(t), cc = 1 - cs;
    const [x, y, z] = [v[0]!, v[1]!, v[2]!];
    c = mm([
      [x * x * cc + cs, x * y * cc - z * sn, x * z * cc + y * sn, 0],
      [y * x * cc + z * sn, y * y * cc + cs, y * z * cc - x * sn, 0],
      [z * x * cc - y * sn, z * y * cc + x * sn, z * z * cc + cs, 0],
      [0, 0, 0, 1],
    ], c);
    const s = d.saturation[i]!;
    c = mm(vv.map((row, r) => row.map((x2, q) => x2 + (I[r]![q]! - x2) * s)), c);
  }
  return c;
}

const isIdentity = (m: Mat) => m.every((row, i) => row.every((x, j) => x === (i === j ? 1 : 0)));

/** sym6 wavelet low-pass, normalised to unit sum: the anti-aliasing filter around the geometric transform. */
const SYM6 = [0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633, 0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252, -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148];
const sym6Sum = SYM6.reduce((a, b) => a + b, 0);
export const GEOM_FILTER = SYM6.map((x) => x / sym6Sum);
const HZ_PAD = GEOM_FILTER.length / 4;

/** Separable depthwise FIR: horizontal then vertical pass with `taps`, `stride` in both directions. */
function separable(x: Tensor, taps: number[], stride: number): Tensor {
  const c = x.shape[1]!;
  const f = E.tensor(taps).to(x.device);
  const h = E.conv2d(x, f.reshape(1, 1, 1, taps.length).expand(c, 1, 1, taps.length), null, { stride: [1, stride], groups: c });
  return E.conv2d(h, f.reshape(1, 1, taps.length, 1).expand(c, 1, taps.length, 1), null, { stride: [stride, 1], groups: c });
}

/** 2× upsampling: zero insertion, then the (flipped) filter with gain 2 per axis; [N,C,H,W] → [N,C,2H,2W]. */
export function upsample2x(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const z = E.pad(x.reshape(n, c, h, 1, w, 1), [0, 1, 0, 0, 0, 1]).reshape(n, c, 2 * h, 2 * w);
  const taps = [...GEOM_FILTER].reverse().map((t) => t * 2);
  const fw = taps.length;
  return separable(E.pad(z, [Math.floor(fw / 2), Math.floor((fw - 2) / 2), Math.floor(fw / 2), Math.floor((fw - 2) / 2)]), taps, 1);
}

/** Filtered 2× downsampling that also crops the transform's 2·HZ_PAD margin: [N,C,2(H+2p),2(W+2p)] → [N,C,H,W]. */
export function downsample2xCrop(x: Tensor): Tensor {
  const [, , h, w] = x.shape as [number, number, number, number];
  const crop = 2 * HZ_PAD - Math.floor((GEOM_FILTER.length - 1) / 2);
  return separable(x.slice(2, crop, h - crop).slice(3, crop, w - crop), GEOM_FILTER, 2);
}

/**
 * Bilinear sampling with zero padding (grid_sample, align_corners = false) written as four gathers, so that it
 * has the second derivative in `x` that the R1 penalty needs (libtorch's grid sampler backward has none). The
 * grid [N, Ho, Wo, 2] carries no gradient.
 */
export function sampleBilinear(x: Tensor, grid: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [, ho, wo] = grid.shape as [number, number, number, number];
  return E.tidy(() => {
    const g = grid.detach();
    const ix = g.select(3, 0).add(1).mul(w).sub(1).div(2).reshape(n, 1, ho * wo);
    const iy = g.select(3, 1).add(1).mul(h).sub(1).div(2).reshape(n, 1, ho * wo);
    const x0 = ix.floor(), y0 = iy.floor();
    const flat = x.reshape(n, c, h * w);
    let out: Tensor | null = null;
    for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
      const xs = x0.add(dx), ys = y0.add(dy);
      const weight = (dx ? ix.sub(x0) : x0.add(1).sub(ix)).mul(dy ? iy.sub(y0) : y0.add(1).sub(iy));
      const inside = xs.ge(0).logicalAnd(xs.le(w - 1)).logicalAnd(ys.ge(0)).logicalAnd(ys.le(h - 1));
      const index = ys.clamp(0, h - 1).mul(w).add(xs.clamp(0, w - 1)).to('int64').expand(n, c, ho * wo);
      const term = flat.gather(2, index).mul(weight.mul(inside.to(x.dtype)));
      out = out ? out.add(term) : term;
    }
    return out!.reshape(n, c, ho, wo);
  });
}

/** Applies the geometric matrices `g` (one per image) to `x` [N,C,H,W]. */
export function applyGeometric(x: Tensor, g: Mat[]): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const cx = (w - 1) / 2, cy = (h - 1) / 2;
  // Reflect-pad enough that the transformed image stays inside real pixels (plus the filter's support).
  const m = [0, 0, 0, 0];
  for (const gi of g) {
    for (const [px, py] of [[-cx, -cy], [cx, -cy], [cx, cy], [-cx, cy]] as const) {
      const qx = gi[0]![0]! * px + gi[0]![1]! * py + gi[0]![2]!;
      const qy = gi[1]![0]! * px + gi[1]![1]! * py + gi[1]![2]!;
      m[0] = Math.max(m[0]!, -qx); m[1] = Math.max(m[1]!, -qy); m[2] = Math.max(m[2]!, qx); m[3] = Math.max(m[3]!, qy);
    }
  }
  const lim = [w - 1, h - 1, w - 1, h - 1];
  const add = [HZ_PAD * 2 - cx, HZ_PAD * 2 - cy, HZ_PAD * 2 - cx, HZ_PAD * 2 - cy];
  const [mx0, my0, mx1, my1] = m.map((v, i) => Math.ceil(Math.min(Math.max(v + add[i]!, 0), lim[i]!))) as [number, number, number, number];
  return E.tidy(() => {
    const padded = E.pad(x, [mx0, mx1, my0, my1], 'reflect');
    const up = upsample2x(padded);
    const outH = (h + HZ_PAD * 2) * 2, outW = (w + HZ_PAD * 2) * 2;
    const [upH, upW] = [up.shape[2]!, up.shape[3]!];
    const theta = g.map((gi) => {
      let t = mm(translate2((mx0 - mx1) / 2, (my0 - my1) / 2), gi);
      t = mm(mm(scale2(2, 2), t), scale2(0.5, 0.5));
      t = mm(mm(translate2(-0.5, -0.5), t), translate2(0.5, 0.5));
      t = mm(mm(scale2(2 / upW, 2 / upH), t), scale2(outW / 2, outH / 2));
      return [...t[0]!, ...t[1]!];
    });
    const th = E.fromTypedArray(Float32Array.from(theta.flat()), [n, 2, 3]).to(x.device).to(x.dtype);
    const grid = E.affineGrid(th, [n, c, outH, outW]);
    return downsample2xCrop(sampleBilinear(up, grid));
  });
}

/** Applies the colour matrices (one 4×4 per image) to `x` [N,C,H,W] (C = 1 or 3). */
export function applyColor(x: Tensor, cm: Mat[]): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (c !== 3 && c !== 1) throw new Error(`augment: colour transforms need 1 or 3 channels, got ${c}`);
  return E.tidy(() => {
    const flat = x.reshape(n, c, h * w);
    if (c === 3) {
      const lin = E.fromTypedArray(Float32Array.from(cm.flatMap((m) => m.slice(0, 3).flatMap((row) => row.slice(0, 3)))), [n, 3, 3]).to(x.device);
      const off = E.fromTypedArray(Float32Array.from(cm.flatMap((m) => m.slice(0, 3).map((row) => row[3]!))), [n, 3, 1]).to(x.device);
      return lin.matmul(flat).add(off).reshape(n, c, h, w);
    }
    // Greyscale: the mean of the RGB rows acting on a grey pixel (r = g = b).
    const rows = cm.map((m) => [0, 1, 2, 3].map((j) => (m[0]![j]! + m[1]![j]! + m[2]![j]!) / 3));
    const gain = E.fromTypedArray(Float32Array.from(rows.map((r) => r[0]! + r[1]! + r[2]!)), [n, 1, 1]).to(x.device);
    const off = E.fromTypedArray(Float32Array.from(rows.map((r) => r[3]!)), [n, 1, 1]).to(x.device);
    return flat.mul(gain).add(off).reshape(n, c, h, w);
  });
}

/** Runs the pipeline on a batch with already drawn parameters (identity stages are skipped). */
export function augmentWith(x: Tensor, d: AugmentDraw): Tensor {
  const n = x.shape[0]!, c = x.shape[1]!;
  return E.tidy(() => {
    const g = Array.from({ length: n }, (_, i) => geometricMatrix(d, i));
    let y = g.every(isIdentity) ? x : applyGeometric(x, g);
    const cm = Array.from({ length: n }, (_, i) => colorMatrix(d, i, c));
    if (!cm.every(isIdentity)) y = applyColor(y, cm);
    return y;
  });
}

/** Uniform and normal draws from the run's generator, fetched in blocks. */
export function generatorDraws(gen: E.Generator, block = 256): Draws {
  let u: Float32Array = new Float32Array(0), ui = 0;
  let z: Float32Array = new Float32Array(0), zi = 0;
  return {
    uniform: () => {
      if (ui >= u.length) [u, ui] = [E.tidy(() => E.rand([block], { generator: gen }).toFloat32Array()), 0];
      return u[ui++]!;
    },
    normal: () => {
      if (zi >= z.length) [z, zi] = [E.tidy(() => E.randn([block], { generator: gen }).toFloat32Array()), 0];
      return z[zi++]!;
    },
  };
}

/** The augmentation of a run: a pipeline and its current strength p. */
export class AugmentPipe {
  constructor(readonly spec: AugmentSpec, public p: number) {}

  /** Augments every image of `x` [N,C,H,W] with fresh draws from `gen`. */
  forward(x: Tensor, gen: E.Generator): Tensor {
    if (this.p <= 0) return x;
    const [n, , h, w] = x.shape as [number, number, number, number];
    const r = generatorDraws(gen, 32 * n);
    return augmentWith(x, drawAugment(this.spec, r, { p: this.p, n, width: w, height: h }));
  }
}

/**
 * The ADA heuristic: every `interval` minibatches, p moves by sign(r_t − target)·(batch·interval)/(speedKimg·1000)
 * and is kept ≥ 0, where r_t = E[sign(D(real))] over the interval.
 */
export class AdaController {
  private signSum = 0;
  private count = 0;
  private batches = 0;
  constructor(readonly target: number, readonly interval = 4, readonly speedKimg = 500) {}

  /** Records one minibatch's real scores (sum of signs and count) and returns the new p. */
  update(p: number, { signSum, count, batchSize }: { signSum: number; count: number; batchSize: number }): number {
    this.signSum += signSum;
    this.count += count;
    this.batches += 1;
    if (this.batches % this.interval !== 0) return p;
    const rt = this.signSum / Math.max(this.count, 1);
    this.signSum = 0;
    this.count = 0;
    const adjust = Math.sign(rt - this.target) * (batchSize * this.interval) / (this.speedKimg * 1000);
    return Math.max(p + adjust, 0);
  }

  /** Batches seen since the last adjustment and their running sums (snapshotted for exact resumes). */
  get state(): { signSum: number; count: number; batches: number } {
    return { signSum: this.signSum, count: this.count, batches: this.batches };
  }

  set state(s: { signSum: number; count: number; batches: number }) {
    ({ signSum: this.signSum, count: this.count, batches: this.batches } = s);
  }
}
