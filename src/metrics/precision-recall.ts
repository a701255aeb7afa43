/**
 * Improved precision and recall (Kynkäänniemi et al. 2019) as stylegan2-ada-pytorch computes them on VGG16 features:
 * each set is a manifold of hyperspheres around its points with radius the distance to the k-th nearest neighbour
 * (k = nhoodSize, the point itself excluded); precision is the share of generated points inside the real manifold,
 * recall the share of real points inside the generated one. Features are rounded to float16 first, as there;
 * distances are Euclidean, computed in float64 through ‖a‖² + ‖b‖² − 2aᵀb (torch.cdist's method for large sets; float64
 * keeps its cancellation error far below the float16 radii).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

export interface PrecisionRecallOptions {
  nhoodSize?: number;
  /** Rows per distance block (default: 10⁷ / |manifold|, i.e. blocks of ≈ 80 MB of float64 distances). */
  rowBatch?: number;
}

/** Pairwise distances [rows, cols] between a [r, d] and b [c, d]. */
export function pairwiseDistances(a: Tensor, b: Tensor): Tensor {
  return E.tidy(() => {
    const aa = a.square().sum(1, true);
    const bb = b.square().sum(1, true).transpose(0, 1);
    return aa.add(bb).sub(a.matmul(b.transpose(0, 1)).mul(2)).clamp(0).sqrt();
  });
}

/** The k-th smallest value (1-based) of every row of a row-major [rows, cols] array. */
export function kthSmallest(values: Float64Array, { rows, cols, k }: { rows: number; cols: number; k: number }): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = values.slice(r * cols, (r + 1) * cols).sort()[k - 1]!;
  return out;
}

/** Radii of the manifold's points: the distance to their k-th nearest neighbour (float16-rounded, as official). */
function manifoldRadii(manifold: Tensor, k: number, rowBatch: number): Tensor {
  const n = manifold.shape[0]!;
  const parts: Tensor[] = [];
  for (let s = 0; s < n; s += rowBatch) {
    const rows = Math.min(rowBatch, n - s);
    const d = E.tidy(() => pairwiseDistances(manifold.narrow(0, s, rows), manifold).contiguous().toTypedArray() as Float64Array);
    parts.push(E.fromTypedArray(kthSmallest(d, { rows, cols: n, k: k + 1 }), [rows]));
  }
  return E.tidy(() => E.cat(parts, 0).to('float16').to('float64'));
}

/** Share of `probes` rows within the radius of at least one manifold point. */
function coverage({ manifold, radii, probes }: { manifold: Tensor; radii: Tensor; probes: Tensor }, rowBatch: number): number {
  let inside = 0;
  for (let s = 0; s < probes.shape[0]!; s += rowBatch) {
    const rows = Math.min(rowBatch, probes.shape[0]! - s);
    inside += E.tidy(() => pairwiseDistances(probes.narrow(0, s, rows), manifold).le(radii.reshape(1, -1)).sum(1).gt(0).sum().item());
  }
  return inside / probes.shape[0]!;
}

/** Precision and recall of generated features [Ng, d] against real features [Nr, d]. */
export function precisionRecall(real: Tensor, gen: Tensor, o: PrecisionRecallOptions = {}): { precision: number; recall: number } {
  return E.withBlasThreads(() => precisionRecallImpl(real, gen, o));
}

function precisionRecallImpl(real: Tensor, gen: Tensor, o: PrecisionRecallOptions = {}): { precision: number; recall: number } {
  const k = o.nhoodSize ?? 3;
  return E.tidy(() => {
    const rowBatch = o.rowBatch ?? Math.max(1, Math.floor(1e7 / Math.max(real.shape[0]!, gen.shape[0]!)));
    const r = real.to('float16').to('float64');
    const g = gen.to('float16').to('float64');
    if (r.shape[0]! <= k || g.shape[0]! <= k) throw new Error(`precision/recall: each set needs more than ${k} feature vectors, got ${r.shape[0]} and ${g.shape[0]}`);
    const precision = coverage({ manifold: r, radii: manifoldRadii(r, k, rowBatch), probes: g }, rowBatch);
    const recall = coverage({ manifold: g, radii: manifoldRadii(g, k, rowBatch), probes: r }, rowBatch);
    return { precision, recall };
  });
}
