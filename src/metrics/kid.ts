/**
 * Kernel Inception Distance (Bińkowski et al. 2018) as stylegan2-ada-pytorch computes it: the unbiased MMD² between
 * generated features x and real features y under the cubic polynomial kernel k(a, b) = (aᵀb / d + 1)³, averaged over
 * `numSubsets` random subsets of m = min(|x|, |y|, maxSubsetSize) rows drawn without replacement from each set. The
 * official code sums in float32; here the kernel sums run in float64.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

export interface KidOptions {
  numSubsets?: number;
  maxSubsetSize?: number;
  /** Seed of the subset draws. */
  seed?: number;
  /** Explicit subsets (for tests): row indices of x and of y for each subset, each of length m. */
  subsets?: { x: number[]; y: number[] }[];
}

/** m distinct indices from 0…n−1 (a partial Fisher–Yates shuffle with a seeded generator). */
export function sampleWithoutReplacement(n: number, m: number, gen: E.Generator): number[] {
  const perm = E.tidy(() => Array.from(E.randperm(n, { generator: gen }).toTypedArray() as BigInt64Array, Number));
  return perm.slice(0, m);
}

/** KID of generated features x [Nx, d] against real features y [Ny, d]. */
export function kernelInceptionDistance(x: Tensor, y: Tensor, o: KidOptions = {}): number {
  return E.withBlasThreads(() => kernelInceptionDistanceImpl(x, y, o));
}

function kernelInceptionDistanceImpl(x: Tensor, y: Tensor, o: KidOptions = {}): number {
  const d = x.shape[1]!;
  if (y.shape[1] !== d) throw new Error(`KID: feature widths differ (${d} and ${y.shape[1]})`);
  const m = o.subsets?.[0]?.x.length ?? Math.min(x.shape[0]!, y.shape[0]!, o.maxSubsetSize ?? 1000);
  if (m < 2) throw new Error(`KID: needs at least 2 feature vectors in each set, got ${x.shape[0]} and ${y.shape[0]}`);
  const numSubsets = o.subsets?.length ?? o.numSubsets ?? 100;
  const gen = new E.Generator(o.seed ?? 0);
  let t = 0;
  E.tidy(() => {
    const x64 = x.to('cpu').to('float64');
    const y64 = y.to('cpu').to('float64');
    const kernel = (a: Tensor, b: Tensor) => a.matmul(b.transpose(0, 1)).div(d).add(1).pow(3);
    for (let s = 0; s < numSubsets; s++) {
      t += E.tidy(() => {
        const pick = o.subsets?.[s] ?? { x: sampleWithoutReplacement(x.shape[0]!, m, gen), y: sampleWithoutReplacement(y.shape[0]!, m, gen) };
        const xs = x64.indexSelect(0, indexTensor(pick.x));
        const ys = y64.indexSelect(0, indexTensor(pick.y));
        const a = kernel(xs, xs).add(kernel(ys, ys));
        const b = kernel(xs, ys);
        const offDiagonal = a.sum().item() - trace(a);
        return offDiagonal / (m - 1) - (b.sum().item() * 2) / m;
      });
    }
  });
  return t / numSubsets / m;
}

export const indexTensor = (idx: readonly number[]): Tensor => E.fromTypedArray(BigInt64Array.from(idx, BigInt), [idx.length]);

function trace(a: Tensor): number {
  const m = a.shape[0]!;
  return E.tidy(() => a.reshape(-1).slice(0, 0, m * m, m + 1).sum().item());
}
