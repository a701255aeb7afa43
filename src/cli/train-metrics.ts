/**
 * `--metrics`: quality metrics of each network snapshot's Gs, as the official training loop computes them, each
 * appended to `metric-<name>.jsonl` in the run directory ({results, metric, total_time, total_time_str, num_gpus,
 * snapshot_pkl, timestamp}). Names are those of `stylegan metric` (fid50k_full, kid50k_full, fid2k, …, and
 * fid-fmnist for 1-channel 32² data). Under data parallelism every rank generates its shard of the images; rank 0
 * writes (fid-fmnist is computed by rank 0 alone, from the snapshot file). The trainer gets this from above
 * (`TrainOptions.snapshotMetrics`): train/ and metrics/ are one layer and do not import each other.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { AnyGenerator } from '../gen/render.js';
import { calcMetric, metricDetectorPath, metricSpec } from '../metrics/calc.js';
import { fidFmnist } from '../metrics/fid-fmnist.js';
import { formatDuration } from '../train/progress.js';
import type { DataParallelGroup } from '../train/distributed.js';
import type { SnapshotMetrics } from '../train/snapshot.js';

const FMNIST = 'fid-fmnist';

/** Parses `--metrics a,b,…|none`. */
export function parseMetricList(value: string): string[] {
  return value === 'none' || value === '' ? [] : value.split(',').map((s) => s.trim()).filter((s) => s);
}

/** Refuses unknown names and missing detector files before training starts (the error names the file to get). */
export function checkMetrics(names: readonly string[], detectorDir?: string): void {
  for (const name of names) {
    if (name === FMNIST) continue;
    try {
      metricDetectorPath(name, { dir: detectorDir });
    } catch (e) {
      throw new Error(`--metrics ${name}: ${(e as Error).message}`);
    }
  }
}

export interface SnapshotMetricsOptions {
  data: string;
  runDir: string;
  detectorDir?: string;
  device: string;
  parallel?: DataParallelGroup;
  /** Generated (and real) image counts in place of the metrics' own (tests, quick looks). */
  numGen?: number;
  maxReal?: number | null;
}

/** What the trainer calls: the check at setup, and every metric of each snapshot's Gs (rank 0 gets the results). */
export const snapshotMetrics = (o: SnapshotMetricsOptions): SnapshotMetrics => ({
  check: (names) => checkMetrics(names, o.detectorDir),
  measure: (names, Gs, snapshot) => measure(names, Gs, { snapshot, options: o }),
});

async function measure(names: readonly string[], Gs: AnyGenerator, { snapshot, options: o }: { snapshot: string; options: SnapshotMetricsOptions }): Promise<Record<string, number>> {
  const writer = !o.parallel || o.parallel.isWriter;
  const all: Record<string, number> = {};
  for (const name of names) {
    const t0 = performance.now();
    let results: Record<string, number>;
    if (name === FMNIST) {
      if (!writer) continue;
      results = { [FMNIST]: (await fidFmnist({ network: snapshot, num: o.numGen, device: o.device })).fid };
    } else {
      const spec = metricSpec(name);
      results = (await calcMetric(name, {
        G: Gs, data: o.data, detectorDir: o.detectorDir, device: o.device, group: o.parallel?.group,
        numGen: o.numGen, maxReal: o.maxReal !== undefined ? o.maxReal : spec.maxReal,
      })).results;
    }
    if (!writer) continue;
    const seconds = (performance.now() - t0) / 1000;
    appendFileSync(path.join(o.runDir, `metric-${name}.jsonl`), JSON.stringify({
      results, metric: name, total_time: seconds, total_time_str: formatDuration(seconds), num_gpus: o.parallel?.size ?? 1,
      snapshot_pkl: path.basename(snapshot), timestamp: Date.now() / 1000,
    }) + '\n');
    Object.assign(all, results);
  }
  return all;
}
