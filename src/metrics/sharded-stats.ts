/**
 * Feature statistics of generated images computed in shards by the ranks of a process group (see
 * generator-stats.ts: rank r generates batches b ≡ r mod W) and combined on every rank: the float64 sums Σx and Σxxᵀ
 * by all-reduce, the feature rows by all-gather, put back in batch order, so the combined statistics equal one
 * unsharded run's (the rows exactly, the sums to float64 reduction order). PPL's distances are combined likewise.
 */
import * as E from '../engine/index.js';
import type { ProcessGroup } from '../engine/index.js';
import { FeatureStats } from './feature-stats.js';

/** Sum over ranks of a few float64 values (item and feature counts). */
function sumOverRanks(group: ProcessGroup, values: Float64Array, op: 'sum' | 'max' = 'sum'): Float64Array {
  return E.tidy(() => {
    const t = E.fromTypedArray(values, [values.length], 'float64');
    group.allReduce([t], op).wait();
    return t.toTypedArray() as Float64Array;
  });
}

/**
 * Values of which each rank computed a disjoint subset, the rest left at 0 (PPL's per-pair distances): all of them on
 * every rank, exactly (the sum adds only zeros to each value).
 */
export function combineDisjoint(values: Float64Array, group: ProcessGroup): Float64Array {
  return group.size === 1 ? values : sumOverRanks(group, values);
}

/** This rank's statistics of its shard of `numGen` images in batches of `batch` → the statistics of all of them. */
export function combineShards(s: FeatureStats, group: ProcessGroup, { batch, numGen }: { batch: number; numGen: number }): FeatureStats {
  const W = group.size;
  if (W === 1) return s;
  const d = sumOverRanks(group, new Float64Array([s.numFeatures ?? 0]), 'max')[0]!;
  const numItems = sumOverRanks(group, new Float64Array([s.numItems]))[0]!;
  let rawMean: Float64Array | undefined;
  let rawCov: Float64Array | undefined;
  if (s.captureMeanCov) {
    const sums = new Float64Array(d + d * d);
    if (s.rawMean && s.rawCov) {
      sums.set(s.rawMean);
      sums.set(s.rawCov, d);
    }
    const total = sumOverRanks(group, sums);
    rawMean = total.slice(0, d);
    rawCov = total.slice(d);
  }
  let all: Float32Array | undefined;
  if (s.captureAll) {
    const numBatches = Math.ceil(numGen / batch);
    const rowsPerRank = Math.ceil(numBatches / W) * batch;
    const local = new Float32Array(rowsPerRank * d);
    local.set(s.all());
    const parts = E.tidy(() => group.allGather(E.fromTypedArray(local, [rowsPerRank, d])).wait().map((t) => t.toFloat32Array()));
    all = new Float32Array(numItems * d);
    for (let b = 0; b < numBatches; b++) {
      const n = Math.min(batch, numGen - b * batch);
      const at = Math.floor(b / W) * batch * d;
      all.set(parts[b % W]!.subarray(at, at + n * d), b * batch * d);
    }
  }
  return FeatureStats.restore({ captureAll: s.captureAll, captureMeanCov: s.captureMeanCov, maxItems: s.maxItems, numItems, numFeatures: d, all, rawMean, rawCov });
}
