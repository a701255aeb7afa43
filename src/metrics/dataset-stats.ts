/**
 * Detector features of a dataset (a ZIP or a folder of images, as `openDataset` reads them), cached by content:
 * the cache key hashes the dataset's bytes (the ZIP file, or every file of the folder with its relative path), the
 * detector file, its keyword arguments and what is captured, so a changed image or detector never reuses stale
 * statistics. The first `maxItems` images in dataset order are used (all when null), as the official metrics do.
 * Cache files live in `<cache>/gan-metrics/` (safetensors, written atomically).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as E from '../engine/index.js';
import { openDataset, type Dataset } from '../data/index.js';
import { decodeSafetensors, writeSafetensorsFile } from '../io/safetensors.js';
import { recordArray, recordFromArray } from '../io/tensor-record.js';
import { defaultCacheDir } from './fid-fmnist.js';
import { FeatureStats, type FeatureStatsOptions } from './feature-stats.js';
import type { Detector } from './detector.js';

export type Progress = (done: number, total: number) => void;

async function hashFile(h: ReturnType<typeof createHash>, path: string): Promise<void> {
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/** SHA-256 of a dataset's content: the file's bytes, or every file of a folder (relative path, size, bytes). */
export async function datasetContentHash(path: string): Promise<string> {
  const h = createHash('sha256');
  if ((await stat(path)).isDirectory()) {
    for (const rel of await listFiles(path)) {
      const file = join(path, rel);
      h.update(`${rel}\0${(await stat(file)).size}\0`);
      await hashFile(h, file);
    }
  } else {
    await hashFile(h, path);
  }
  return h.digest('hex');
}

export interface DatasetStatsOptions extends FeatureStatsOptions {
  /** Cache folder (default <cache>); null disables the cache. */
  cacheDir?: string | null;
  /** Images per detector call (default 64). */
  batch?: number;
  onProgress?: Progress;
}

/** Features of the first `maxItems` images of a dataset (from the cache when it holds them). */
export async function datasetFeatureStats(path: string, detector: Detector, o: DatasetStatsOptions = {}): Promise<{ stats: FeatureStats; cached: boolean }> {
  const dataset = await openDataset(path, { validate: 'first' });
  try {
    const num = Math.min(dataset.count, o.maxItems ?? Infinity);
    const shape = { captureAll: o.captureAll ?? false, captureMeanCov: o.captureMeanCov ?? false, maxItems: num };
    let cacheFile: string | null = null;
    if (o.cacheDir !== null) {
      const key = createHash('sha256')
        .update(JSON.stringify({ data: await datasetContentHash(path), detector: await detector.sha256(), kwargs: detector.kwargs, shape }))
        .digest('hex');
      const detectorName = basename(detector.path).replace(/\.[^.]*$/, '');
      cacheFile = join(o.cacheDir ?? defaultCacheDir(), 'gan-metrics', `${detectorName}-${key.slice(0, 16)}.safetensors`);
      const hit = await readCachedStats(cacheFile, shape);
      if (hit) return { stats: hit, cached: true };
    }
    const stats = new FeatureStats(shape);
    await computeStats(dataset, detector, { stats, num, batch: o.batch ?? 64, onProgress: o.onProgress });
    if (cacheFile) await writeCachedStats(cacheFile, stats);
    return { stats, cached: false };
  } finally {
    await dataset.close();
  }
}

async function computeStats(
  dataset: Dataset, detector: Detector, { stats, num, batch, onProgress }: { stats: FeatureStats; num: number; batch: number; onProgress?: Progress },
): Promise<void> {
  const size = dataset.imageBytes;
  const R = dataset.resolution;
  for (let start = 0; start < num; start += batch) {
    const n = Math.min(batch, num - start);
    const buf = new Uint8Array(n * size);
    for (let i = 0; i < n; i++) await dataset.readImageInto(start + i, buf, i * size);
    E.tidy(() => E.noGrad(() => stats.append(detector.run(E.fromTypedArray(buf, [n, dataset.channels, R, R])))));
    onProgress?.(start + n, num);
  }
}

async function writeCachedStats(file: string, s: FeatureStats): Promise<void> {
  const d = s.numFeatures ?? 0;
  const tensors: Record<string, ReturnType<typeof recordFromArray>> = {};
  if (s.captureAll) tensors.all = recordFromArray('float32', [s.numItems, d], s.all());
  if (s.captureMeanCov) {
    tensors.raw_mean = recordFromArray('float64', [d], s.rawMean!);
    tensors.raw_cov = recordFromArray('float64', [d, d], s.rawCov!);
  }
  await mkdir(join(file, '..'), { recursive: true });
  await writeSafetensorsFile(file, tensors, { num_items: String(s.numItems), num_features: String(d) });
}

/** The statistics of a cache file, or null when it is missing or does not hold what is asked (then recomputed). */
async function readCachedStats(file: string, shape: Required<FeatureStatsOptions>): Promise<FeatureStats | null> {
  try {
    const { tensors, metadata } = decodeSafetensors(await readFile(file), { path: file });
    const numItems = Number(metadata.num_items);
    const numFeatures = Number(metadata.num_features);
    if (numItems !== shape.maxItems || !(numFeatures > 0)) return null;
    const all = tensors.get('all');
    const mean = tensors.get('raw_mean');
    const cov = tensors.get('raw_cov');
    if ((shape.captureAll && !all) || (shape.captureMeanCov && (!mean || !cov))) return null;
    return FeatureStats.restore({
      ...shape, numItems, numFeatures,
      all: all && Float32Array.from(recordArray(all) as Float32Array),
      rawMean: mean && Float64Array.from(recordArray(mean) as Float64Array),
      rawCov: cov && Float64Array.from(recordArray(cov) as Float64Array),
    });
  } catch {
    return null;
  }
}
