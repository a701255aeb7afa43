/**
 * A correctness probe of the linked libtorch: a 2-D convolution and its gradients (what every layer of the networks
 * rests on), compared with a plain-JavaScript reference computed in float64.
 */
import { conv2d, fromTypedArray, grad, tidy, type Tensor } from '../engine/index.js';

/** Shapes of a stride-1, zero-padded convolution: x [n, c, h, w], weight [o, c, k, k]. */
export interface ConvShape {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  k: number;
  pad: number;
}

export interface ConvResult {
  /** Output [n, o, h + 2·pad − k + 1, w + 2·pad − k + 1]. */
  y: Float64Array;
  /** Gradient of Σ y·gy with respect to x. */
  dx: Float64Array;
  /** Gradient of Σ y·gy with respect to the weight. */
  dw: Float64Array;
}

/** Output height and width of `s`. */
export function convOutputSize(s: ConvShape): [number, number] {
  return [s.h + 2 * s.pad - s.k + 1, s.w + 2 * s.pad - s.k + 1];
}

/**
 * Reference cross-correlation (PyTorch's conv2d) by direct summation, with the gradients for the upstream gradient
 * `gy`: y[n,o,i,j] = Σ_{c,a,b} x[n,c,i+a−pad,j+b−pad]·w[o,c,a,b], zero outside the image.
 */
export function referenceConv2d({ x, weight, gy }: { x: ArrayLike<number>; weight: ArrayLike<number>; gy: ArrayLike<number> }, s: ConvShape): ConvResult {
  const [oh, ow] = convOutputSize(s);
  const y = new Float64Array(s.n * s.o * oh * ow);
  const dx = new Float64Array(s.n * s.c * s.h * s.w);
  const dw = new Float64Array(s.o * s.c * s.k * s.k);
  for (let n = 0; n < s.n; n++) {
    for (let o = 0; o < s.o; o++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const yi = ((n * s.o + o) * oh + i) * ow + j;
          for (let c = 0; c < s.c; c++) {
            for (let a = 0; a < s.k; a++) {
              const ii = i + a - s.pad;
              if (ii < 0 || ii >= s.h) continue;
              for (let b = 0; b < s.k; b++) {
                const jj = j + b - s.pad;
                if (jj < 0 || jj >= s.w) continue;
                const xi = ((n * s.c + c) * s.h + ii) * s.w + jj;
                const wi = ((o * s.c + c) * s.k + a) * s.k + b;
                y[yi]! += x[xi]! * weight[wi]!;
                dx[xi]! += gy[yi]! * weight[wi]!;
                dw[wi]! += gy[yi]! * x[xi]!;
              }
            }
          }
        }
      }
    }
  }
  return { y, dx, dw };
}

export interface ProbeResult {
  ok: boolean;
  /** Largest |engine − reference| / (1 + |reference|) over y, dx and dw. */
  maxError: number;
  /** Where the largest error is, e.g. 'dw[17]: 0.25 vs 0.2501'. */
  worst: string;
}

/** Deterministic, irregular probe values (no random generator involved). */
const wave = (count: number, f: (i: number) => number) => Float32Array.from({ length: count }, (_, i) => f(i));

/** Runs conv2d + autograd on `device` and compares with `referenceConv2d`; `tolerance` is relative to 1 + |value|. */
export function convProbe(device: string, tolerance = 1e-4): ProbeResult {
  const s: ConvShape = { n: 2, c: 3, h: 6, w: 5, o: 4, k: 3, pad: 1 };
  const [oh, ow] = convOutputSize(s);
  const x = wave(s.n * s.c * s.h * s.w, (i) => Math.sin(0.7 * i + 0.1));
  const w = wave(s.o * s.c * s.k * s.k, (i) => Math.cos(1.3 * i) / 3);
  const gy = wave(s.n * s.o * oh * ow, (i) => Math.sin(0.31 * i + 2));
  const ref = referenceConv2d({ x, weight: w, gy }, s);
  const got = tidy(() => {
    const onDevice = (data: Float32Array, shape: number[]): Tensor => fromTypedArray(data, shape).to(device);
    const xt = onDevice(x, [s.n, s.c, s.h, s.w]).requiresGrad_(true);
    const wt = onDevice(w, [s.o, s.c, s.k, s.k]).requiresGrad_(true);
    const y = conv2d(xt, wt, null, { padding: s.pad });
    const [dx, dw] = grad(y, [xt, wt], { gradOutputs: [onDevice(gy, [s.n, s.o, oh, ow])] });
    return { y: y.toFloat32Array(), dx: dx!.toFloat32Array(), dw: dw!.toFloat32Array() };
  });
  let maxError = 0;
  let worst = 'none';
  for (const name of ['y', 'dx', 'dw'] as const) {
    const a = got[name];
    const r = ref[name];
    if (a.length !== r.length) return { ok: false, maxError: Infinity, worst: `${name} has ${a.length} values, expected ${r.length}` };
    for (let i = 0; i < r.length; i++) {
      const err = Math.abs(a[i]! - r[i]!) / (1 + Math.abs(r[i]!));
      if (!(err <= maxError)) {
        maxError = Number.isNaN(err) ? Infinity : err;
        worst = `${name}[${i}]: ${a[i]} vs ${r[i]}`;
      }
    }
  }
  return { ok: maxError <= tolerance, maxError, worst };
}
