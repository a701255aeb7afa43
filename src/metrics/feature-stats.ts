/**
 * Detector features gathered over many images, as stylegan2-ada-pytorch's `FeatureStats` keeps them: every feature
 * vector (KID, precision/recall, IS) and/or the running float64 sums Σx and Σxxᵀ (FID), up to `maxItems`. The mean
 * and covariance are μ = Σx / N and Σ = Σxxᵀ / N − μμᵀ (the biased covariance, as there).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

export interface FeatureStatsOptions {
  captureAll?: boolean;
  captureMeanCov?: boolean;
  maxItems?: number | null;
}

export class FeatureStats {
  readonly captureAll: boolean;
  readonly captureMeanCov: boolean;
  readonly maxItems: number | null;
  numItems = 0;
  numFeatures: number | null = null;
  private parts: Float32Array[] = [];
  rawMean: Float64Array | null = null;
  rawCov: Float64Array | null = null;

  constructor(o: FeatureStatsOptions = {}) {
    this.captureAll = o.captureAll ?? false;
    this.captureMeanCov = o.captureMeanCov ?? false;
    this.maxItems = o.maxItems ?? null;
  }

  isFull(): boolean {
    return this.maxItems !== null && this.numItems >= this.maxItems;
  }

  /** Adds features [N, D] (any float dtype, any device); rows beyond `maxItems` are dropped. */
  append(features: Tensor): void {
    if (features.ndim !== 2) throw new Error(`feature statistics: features must be [N, D], got [${features.shape.join(', ')}]`);
    let [n] = features.shape as [number, number];
    const d = features.shape[1]!;
    if (this.maxItems !== null) n = Math.min(n, this.maxItems - this.numItems);
    if (n <= 0) return;
    if (this.numFeatures === null) {
      this.numFeatures = d;
      if (this.captureMeanCov) {
        this.rawMean = new Float64Array(d);
        this.rawCov = new Float64Array(d * d);
      }
    } else if (this.numFeatures !== d) {
      throw new Error(`feature statistics: features of width ${d} after ${this.numFeatures}`);
    }
    E.tidy(() => {
      const x32 = features.narrow(0, 0, n).detach().to('cpu').to('float32').contiguous();
      if (this.captureAll) this.parts.push(x32.toFloat32Array());
      if (this.captureMeanCov) {
        const x64 = x32.to('float64');
        addInto(this.rawMean!, x64.sum(0).toTypedArray() as Float64Array);
        addInto(this.rawCov!, E.withBlasThreads(() => x64.transpose(0, 1).matmul(x64).contiguous().toTypedArray() as Float64Array));
      }
    });
    this.numItems += n;
  }

  /** All captured features [N, D] as one float32 array (row-major). */
  all(): Float32Array {
    if (!this.captureAll) throw new Error('feature statistics: features were not captured');
    const out = new Float32Array(this.numItems * (this.numFeatures ?? 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** All captured features as a float32 tensor [N, D]. */
  allTensor(): Tensor {
    return E.fromTypedArray(this.all(), [this.numItems, this.numFeatures ?? 0]);
  }

  /** μ [D] and the biased covariance Σ [D, D] in float64. */
  meanCov(): { mu: Float64Array; sigma: Float64Array } {
    if (!this.captureMeanCov || !this.rawMean || !this.rawCov) throw new Error('feature statistics: mean and covariance were not captured');
    const d = this.numFeatures!;
    const n = this.numItems;
    const mu = this.rawMean.map((v) => v / n);
    const sigma = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) sigma[i * d + j] = this.rawCov[i * d + j]! / n - mu[i]! * mu[j]!;
    return { mu, sigma };
  }

  /** Rebuilds statistics from their saved parts (see dataset-stats.ts). */
  static restore(o: FeatureStatsOptions & { numItems: number; numFeatures: number; all?: Float32Array; rawMean?: Float64Array; rawCov?: Float64Array }): FeatureStats {
    const s = new FeatureStats(o);
    s.numItems = o.numItems;
    s.numFeatures = o.numFeatures;
    if (o.all) s.parts = [o.all];
    s.rawMean = o.rawMean ?? null;
    s.rawCov = o.rawCov ?? null;
    return s;
  }
}

function addInto(dst: Float64Array, src: Float64Array): void {
  for (let i = 0; i < dst.length; i++) dst[i]! += src[i]!;
}
