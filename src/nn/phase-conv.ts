/**
 * The fused upsampling convolution (a stride-2 transposed convolution with a 4×4 kernel, padding 1) computed as four
 * stride-1 2×2 convolutions, one per output phase (row parity a, column parity b), in ONE convolution with 4·Cout
 * outputs, then interleaved into the output. Same numbers as the transposed convolution, but it runs on oneDNN's
 * direct convolution (channels-last and bfloat16 included) instead of libtorch's col2im path: ~2–3× faster on CPU.
 *
 * Output row 2m + a takes input rows m − 1, m (taps 3, 1) for a = 0 and m, m + 1 (taps 2, 0) for a = 1; with the
 * input padded by 1 that is a 2×2 window starting at padded row m + a.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { fusedKernel } from './ops.js';

const TAPS = [[3, 1], [2, 0]] as const;

/** Transposed-convolution kernel [Cin, Cout, 4, 4] (IOHW) → the phase kernels as one OIHW weight [4·Cout, Cin, 2, 2]. */
export function phaseKernels(k: Tensor): Tensor {
  return E.tidy(() => {
    const phases: Tensor[] = [];
    for (const a of [0, 1]) {
      for (const b of [0, 1]) {
        const rows = TAPS[a]!.map((ka) => E.stack(TAPS[b]!.map((kb) => k.select(2, ka).select(2, kb)), -1));
        phases.push(E.stack(rows, -2).permute(1, 0, 2, 3)); // [Cout, Cin, 2, 2]
      }
    }
    return E.cat(phases, 0).contiguous();
  });
}

/**
 * Nearest 2× upscaling followed by a 3×3 convolution (padding 1), weight OIHW [Cout, Cin, 3, 3], as phase kernels
 * [4·Cout, Cin, 2, 2] for `upsampleConvByPhases`. Output row 2m + a of the 3×3 convolution reads upscaled rows
 * 2m + a − 1 … 2m + a + 1, i.e. input rows m − 1, m, m (a = 0) or m, m, m + 1 (a = 1): the phase's 2×2 window over
 * input rows m + a − 1, m + a takes taps (0, 1 + 2) or (0 + 1, 2), and the same along columns. The same function
 * with 4·Cin·Cout·4 multiply-adds per input pixel instead of 9·Cin·Cout·4 (a border tap that falls outside the
 * input reads padding in both forms).
 */
export function upscaleConvPhaseKernels(w: Tensor): Tensor {
  return E.tidy(() => {
    // Taps of each phase along one axis: a = 0 → [t0, t1 + t2], a = 1 → [t0 + t1, t2] (dim = 2 rows, 3 columns).
    const fold = (t: Tensor, dim: number, a: number): Tensor => {
      const tap = (i: number) => t.narrow(dim, i, 1);
      return a === 0 ? E.cat([tap(0), tap(1).add(tap(2))], dim) : E.cat([tap(0).add(tap(1)), tap(2)], dim);
    };
    const phases: Tensor[] = [];
    for (const a of [0, 1]) for (const b of [0, 1]) phases.push(fold(fold(w, 2, a), 3, b));
    return E.cat(phases, 0).contiguous();
  });
}

/**
 * conv_transpose2d(x, k, stride 2, padding 1) from the phase kernels of k; the output takes x's memory format. With
 * autograd (training) the phases are interleaved by differentiable stacks instead of copies into the output.
 */
export function upsampleConvByPhases(x: Tensor, kernels: Tensor): Tensor {
  return E.tidy(() => {
    const [n, , h, w] = x.shape as [number, number, number, number];
    const cout = kernels.shape[0]! / 4;
    const all = E.conv2d(x, kernels, null, { padding: 1 }); // [N, 4·Cout, H + 1, W + 1]
    if (all.requiresGrad) {
      const phase = (i: number, a: number, b: number) => all.narrow(1, cout * i, cout).narrow(2, a, h).narrow(3, b, w);
      const rows = [E.stack([phase(0, 0, 0), phase(1, 0, 1)], -1), E.stack([phase(2, 1, 0), phase(3, 1, 1)], -1)];
      return E.stack(rows, 3).reshape(n, cout, 2 * h, 2 * w); // [N, Cout, H, a, W, b] → [N, Cout, 2H, 2W]
    }
    const o = { dtype: x.dtype, device: x.device };
    const out = x.isContiguous() ? E.empty([n, cout, 2 * h, 2 * w], o) : E.empty([n, 2 * h, 2 * w, cout], o).permute(0, 3, 1, 2);
    let i = 0;
    for (const a of [0, 1]) {
      for (const b of [0, 1]) {
        const phase = all.narrow(1, cout * i++, cout).narrow(2, a, h).narrow(3, b, w);
        E.tidy(() => void E.copyIntoFresh_(out.slice(2, a, 2 * h, 2).slice(3, b, 2 * w, 2), phase));
      }
    }
    return out;
  });
}

/**
 * The derived kernels of the resampling convolutions from a 3×3 weight given as [O, C, 3, 3] (the convolution's
 * outputs first): each is a linear map of the nine taps, so on the CPU it runs as one native pass (E.tapMap) whose
 * matrix is read off the op-by-op derivation above applied to the nine one-hot kernels.
 *   'upscale-phases': the phase kernels [4·O, C, 2, 2] of nearest upscaling + the 3×3 convolution (upscaleConvPhaseKernels)
 *   'fused-up-phases': the phase kernels of the fused transposed convolution, phaseKernels(fusedKernel(w as IOHW))
 *   'strided': the stride-2 kernel [O, C, 4, 4] of the 3×3 convolution + 2×2 box downscaling, fusedKernel(w) × 0.25
 */
export type DerivedKernel = 'upscale-phases' | 'fused-up-phases' | 'strided';

const DERIVATIONS: Record<DerivedKernel, { derive: (w: Tensor) => Tensor; groups: number; taps: number }> = {
  'upscale-phases': { derive: upscaleConvPhaseKernels, groups: 4, taps: 2 },
  'fused-up-phases': { derive: (w) => phaseKernels(fusedKernel(w.transpose(0, 1))), groups: 4, taps: 2 },
  strided: { derive: (w) => fusedKernel(w).mul(0.25), groups: 1, taps: 4 },
};

const matrices = new Map<DerivedKernel, Float64Array>();

/** The [9, groups·taps²] matrix of a derivation in `dtype` (its entries are computed once, kept as numbers). */
function derivationMatrix(kind: DerivedKernel, dtype: 'float32' | 'float64'): Tensor {
  const { derive, groups, taps } = DERIVATIONS[kind];
  let m = matrices.get(kind);
  if (!m) {
    m = E.noGrad(() => E.tidy(() => {
      const basis = E.fromTypedArray(Float64Array.from({ length: 81 }, (_, i) => (i % 10 === 0 ? 1 : 0)), [1, 9, 3, 3]); // O = 1, C = 9: one-hot taps
      const out = derive(basis); // [groups, 9, taps, taps]
      return out.permute(1, 0, 2, 3).contiguous().toTypedArray() as Float64Array;
    }));
    matrices.set(kind, m);
  }
  return E.fromTypedArray(m, [9, groups * taps * taps]).to(dtype);
}

/**
 * A derived kernel of the 3×3 weight w [O, C, 3, 3] in `memoryFormat`: one native pass on the CPU (float32 / float64),
 * the op-by-op derivation elsewhere. Differentiable w.r.t. w.
 */
export function derivedKernel(kind: DerivedKernel, w: Tensor, memoryFormat: E.MemoryFormat = 'contiguous'): Tensor {
  if (w.device !== 'cpu' || (w.dtype !== 'float32' && w.dtype !== 'float64')) return E.tidy(() => DERIVATIONS[kind].derive(w).contiguous(memoryFormat));
  const { groups, taps } = DERIVATIONS[kind];
  return E.tidy(() => E.tapMap(w, derivationMatrix(kind, w.dtype as 'float32' | 'float64'), { groups, outTaps: [taps, taps], memoryFormat }));
}
