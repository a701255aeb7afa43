/**
 * The Fréchet distance between two Gaussians (Dowson & Landau 1982), the core of the Fréchet Inception Distance
 * (Heusel et al. 2017): with N(μ1, Σ1) and N(μ2, Σ2) fitted to two feature sets,
 *
 *   FD = ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 · tr (Σ1 Σ2)^½
 *
 * (strictly the squared distance; FID reports this quantity). Σ1 Σ2 is not symmetric, but it is similar to the
 * symmetric positive semi-definite M = Σ1^½ Σ2 Σ1^½, so both have the same eigenvalues λ_i ≥ 0 and
 * tr (Σ1 Σ2)^½ = Σ_i √λ_i. Everything runs in float64 with two symmetric eigendecompositions (Σ1 = Q Λ Qᵀ gives
 * Σ1^½ = Q Λ^½ Qᵀ; then M's eigenvalues); eigenvalues that rounding pushes below zero count as zero.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

/** A Gaussian fitted to `count` feature vectors of width `dim`: mean μ [dim] and covariance Σ [dim, dim] (row-major). */
export interface FeatureStatistics {
  count: number;
  dim: number;
  mu: Float64Array;
  sigma: Float64Array;
}

/** Mean and unbiased covariance (divided by N − 1) of features [N, D], N ≥ 2, computed in float64. */
export function fitGaussian(features: Tensor): FeatureStatistics {
  return E.withBlasThreads(() => fitGaussianImpl(features));
}

function fitGaussianImpl(features: Tensor): FeatureStatistics {
  if (features.ndim !== 2) throw new Error(`fitGaussian: features must be [N, D], got [${features.shape.join(', ')}]`);
  const [count, dim] = features.shape as [number, number];
  if (count < 2) throw new Error(`fitGaussian: a covariance needs at least 2 feature vectors, got ${count}`);
  return E.tidy(() => {
    const x = features.to('cpu').to('float64');
    const mu = x.mean(0);
    const centered = x.sub(mu);
    const sigma = centered.transpose(0, 1).matmul(centered).div(count - 1);
    return { count, dim, mu: mu.toTypedArray() as Float64Array, sigma: sigma.contiguous().toTypedArray() as Float64Array };
  });
}

function checkStatistics(s: FeatureStatistics, which: string): void {
  if (s.mu.length !== s.dim || s.sigma.length !== s.dim * s.dim) {
    throw new Error(`frechetDistance: ${which} statistics hold μ of ${s.mu.length} and Σ of ${s.sigma.length} values for dimension ${s.dim}`);
  }
}

/** Σ^½ of a symmetric positive semi-definite float64 matrix, from its eigendecomposition (negative eigenvalues → 0). */
function sqrtPsd(a: Tensor): Tensor {
  return E.tidy(() => {
    const [lambda, q] = E.eigh(a);
    return q.mul(lambda.clamp(0).sqrt()).matmul(q.transpose(0, 1));
  });
}

/** ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 · tr (Σ1 Σ2)^½ (see the module comment). */
export function frechetDistance(a: FeatureStatistics, b: FeatureStatistics): number {
  return E.withBlasThreads(() => frechetDistanceImpl(a, b));
}

function frechetDistanceImpl(a: FeatureStatistics, b: FeatureStatistics): number {
  checkStatistics(a, 'first');
  checkStatistics(b, 'second');
  if (a.dim !== b.dim) throw new Error(`frechetDistance: feature dimensions differ (${a.dim} and ${b.dim})`);
  const d = a.dim;
  return E.tidy(() => {
    const mu1 = E.fromTypedArray(a.mu, [d]);
    const mu2 = E.fromTypedArray(b.mu, [d]);
    const s1 = E.fromTypedArray(a.sigma, [d, d]);
    const s2 = E.fromTypedArray(b.sigma, [d, d]);
    const root1 = sqrtPsd(s1);
    const m = root1.matmul(s2).matmul(root1);
    const [lambda] = E.eigh(m.add(m.transpose(0, 1)).mul(0.5));
    const traceRoot = lambda.clamp(0).sqrt().sum().item();
    const meanTerm = mu1.sub(mu2).square().sum().item();
    const trace = (s: Float64Array) => Array.from({ length: d }, (_, i) => s[i * d + i]!).reduce((x, y) => x + y, 0);
    return meanTerm + trace(a.sigma) + trace(b.sigma) - 2 * traceRoot;
  });
}
