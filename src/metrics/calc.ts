/**
 * The metrics of stylegan2-ada-pytorch's `calc_metrics.py` under their official names, with their official sizes,
 * on NVIDIA's detector files:
 *
 *   fid50k_full  kid50k_full  pr50k3_full  ppl2_wend  is50k        (primary)
 *   fid50k  kid50k  pr50k3  ppl_zfull  ppl_wfull  ppl_zend  ppl_wend  (legacy)
 *
 * Other sizes follow the same pattern (fid10k_full, kid5k, pr10k3_full, is10k, …) or come from `numGen` / `maxReal`;
 * plain `fid` and `kid` compare all real images with 50k generated ones (or with all images of a second dataset).
 * A metric compares a network with a dataset, or — for FID and KID — two datasets (`data2`, as pytorch-fid and
 * clean-fid allow).
 */
import type { StyleGANGenerator } from '../nets/stylegan.js';
import { isStyleGAN, type AnyGenerator } from '../gen/render.js';
import { openDataset } from '../data/index.js';
import { frechetDistance } from './frechet.js';
import { kernelInceptionDistance } from './kid.js';
import { precisionRecall } from './precision-recall.js';
import { inceptionScore } from './inception-score.js';
import { pplBatch, pplFromDistances, type PplSampling, type PplSpace } from './ppl.js';
import { Detector, detectorPath, type DetectorKind } from './detector.js';
import { datasetFeatureStats, type Progress } from './dataset-stats.js';
import { batchGenerator, drawClasses, generatorFeatureStats } from './generator-stats.js';
import type { FeatureStats } from './feature-stats.js';
import { combineDisjoint, combineShards } from './sharded-stats.js';
import * as E from '../engine/index.js';
import type { ProcessGroup } from '../engine/index.js';

type Family = 'fid' | 'kid' | 'pr' | 'is' | 'ppl';

export interface MetricSpec {
  name: string;
  family: Family;
  /** Generated images / PPL samples. */
  numGen: number;
  /** Real images (null = the whole dataset). */
  maxReal: number | null;
  nhood?: number;
  ppl?: { space: PplSpace; sampling: PplSampling; crop: boolean };
}

const PPL = /^ppl(2)?_([zw])(full|end)$/;
const SIZED = /^(fid|kid|is|pr)(\d+)k(\d+)?(_full)?$/;

/** The spec of a metric name, or an error listing the known forms. */
export function metricSpec(name: string): MetricSpec {
  // Plain fid / kid: every real image against 50k generated ones (or all of a second dataset).
  if (name === 'fid' || name === 'kid') return { name, family: name, numGen: 50_000, maxReal: name === 'fid' ? null : 1_000_000 };
  const ppl = PPL.exec(name);
  if (ppl) {
    // ppl2_wend: uncropped (StyleGAN2); the legacy ppl_* crop to the face region.
    return { name, family: 'ppl', numGen: 50_000, maxReal: null, ppl: { space: ppl[2] as PplSpace, sampling: ppl[3] as PplSampling, crop: !ppl[1] } };
  }
  const m = SIZED.exec(name);
  if (m && (m[1] === 'pr') === (m[3] !== undefined)) {
    const family = m[1] as Family;
    const numGen = Number(m[2]) * 1000;
    const full = m[4] !== undefined;
    if (family === 'is' && full) throw new Error(`unknown metric '${name}' (the inception score is named is50k, is10k, …)`);
    const maxReal = family === 'is' ? 0 : full ? (family === 'fid' ? null : family === 'kid' ? 1_000_000 : 200_000) : numGen;
    return { name, family, numGen, maxReal, nhood: m[3] ? Number(m[3]) : undefined };
  }
  throw new Error(`unknown metric '${name}'; known: fid, kid, fid50k_full, kid50k_full, pr50k3_full, ppl2_wend, is50k, fid50k, kid50k, pr50k3, ` +
    'ppl_zfull, ppl_wfull, ppl_zend, ppl_wend (other sizes as fid10k_full, kid5k, pr10k3_full, is10k)');
}

export interface MetricContext {
  /** The generator to measure (null for dataset-against-dataset FID/KID). */
  G: AnyGenerator | null;
  /** Real images (ZIP or folder); needed by all but IS and PPL (where it only supplies the class distribution). */
  data?: string;
  /** A second dataset in place of the generator (FID and KID). */
  data2?: string;
  numGen?: number;
  maxReal?: number | null;
  detectorDir?: string;
  /** A TorchScript file used in place of the metric's official detector. */
  detectorFile?: string;
  device?: string;
  cacheDir?: string | null;
  seed?: number;
  batch?: number;
  onProgress?: (tag: string, done: number, total: number) => void;
  /**
   * Ranks sharing the image generation (data-parallel training): each generates its shard, the statistics are
   * combined on every rank, and only rank 0 reads the real images and returns results (the others return none).
   * PPL: each rank measures its share of the pair batches, and every rank returns the result of all of them.
   */
  group?: ProcessGroup;
}

export interface MetricResult {
  metric: string;
  results: Record<string, number>;
  numGen: number;
  numReal: number | null;
  detector: string;
  seconds: number;
}

const DETECTOR_OF: Record<Family, DetectorKind> = { fid: 'inception', kid: 'inception', is: 'inception', pr: 'vgg16', ppl: 'vgg16' };
const KWARGS_OF: Record<Family, Record<string, boolean>> = {
  fid: { return_features: true }, kid: { return_features: true }, pr: { return_features: true },
  is: { no_output_bias: true }, ppl: { resize_images: false, return_lpips: true },
};

/** The detector file a metric reads (throws the missing-file error naming where to get it). */
export function metricDetectorPath(name: string, o: { dir?: string; file?: string } = {}): string {
  return detectorPath(DETECTOR_OF[metricSpec(name).family], o);
}

/** Computes one metric (see the module comment). */
export async function calcMetric(name: string, ctx: MetricContext): Promise<MetricResult> {
  const t0 = performance.now();
  const spec = metricSpec(name);
  const numGen = ctx.numGen ?? spec.numGen;
  const maxReal = ctx.maxReal !== undefined ? ctx.maxReal : spec.maxReal;
  if (ctx.data2 !== undefined && spec.family !== 'fid' && spec.family !== 'kid') throw new Error(`${name}: --data2 applies to FID and KID only`);
  if (ctx.data2 === undefined && !ctx.G) throw new Error(`${name}: needs a network (or two datasets for FID / KID)`);
  if ((spec.family === 'fid' || spec.family === 'kid' || spec.family === 'pr') && ctx.data === undefined) throw new Error(`${name}: needs real images (--data)`);
  const path = metricDetectorPath(name, { dir: ctx.detectorDir, file: ctx.detectorFile });
  const detector = Detector.load(path, KWARGS_OF[spec.family], ctx.device ?? 'cpu');
  const progress = (tag: string): Progress | undefined => (ctx.onProgress ? (d, t) => ctx.onProgress!(tag, d, t) : undefined);
  const labels = ctx.data !== undefined && ctx.G && ctx.G.cfg.labelSize > 0 ? await datasetLabels(ctx.data) : null;
  const genBatch = ctx.batch ?? 32;
  const capture = spec.family === 'fid' ? { captureMeanCov: true } : { captureAll: true };
  try {
    const real = async (): Promise<FeatureStats> => (await datasetFeatureStats(ctx.data!, detector, {
      ...capture, maxItems: maxReal, cacheDir: ctx.cacheDir, batch: ctx.batch, onProgress: progress('dataset features'),
    })).stats;
    const generated = async (): Promise<FeatureStats> => ctx.data2 !== undefined
      ? (await datasetFeatureStats(ctx.data2, detector, { ...capture, maxItems: ctx.numGen ?? null, cacheDir: ctx.cacheDir, batch: ctx.batch, onProgress: progress('dataset 2 features') })).stats
      : sharded(generatorFeatureStats(ctx.G!, detector, {
        ...capture, maxItems: numGen, seed: ctx.seed, batch: genBatch, datasetLabels: labels, onProgress: progress('generator features'),
        shard: ctx.group && { index: ctx.group.rank, count: ctx.group.size },
      }));
    const sharded = (s: FeatureStats): FeatureStats => (ctx.group ? combineShards(s, ctx.group, { batch: genBatch, numGen }) : s);
    let results: Record<string, number>;
    let numReal: number | null = null;
    let numGenerated = numGen;
    if (spec.family === 'ppl') {
      results = { [name]: ppl(requireStyleGANNet(ctx.G!, name), detector, { spec, num: numGen, ctx, labels, onProgress: progress('ppl sampling') }) };
    } else if (spec.family === 'is') {
      const g = await generated();
      const { mean, std } = E.tidy(() => inceptionScore(g.allTensor(), 10));
      results = { [`${name}_mean`]: mean, [`${name}_std`]: std };
    } else {
      const g = await generated();
      if (ctx.group && ctx.group.rank !== 0) return { metric: name, results: {}, numGen: g.numItems, numReal: null, detector: path, seconds: (performance.now() - t0) / 1000 };
      const r = await real();
      numReal = r.numItems;
      numGenerated = g.numItems;
      results = compare(spec, { r, g, seed: ctx.seed ?? 0 });
    }
    return { metric: name, results, numGen: numGenerated, numReal, detector: path, seconds: (performance.now() - t0) / 1000 };
  } finally {
    detector.dispose();
  }
}

/** FID, KID or precision/recall of generated (or second-dataset) statistics g against real statistics r. */
function compare(spec: MetricSpec, { r, g, seed }: { r: FeatureStats; g: FeatureStats; seed: number }): Record<string, number> {
  const name = spec.name;
  if (spec.family === 'fid') {
    const dim = r.numFeatures!;
    return { [name]: frechetDistance({ count: g.numItems, dim, ...g.meanCov() }, { count: r.numItems, dim, ...r.meanCov() }) };
  }
  return E.tidy(() => {
    const x = g.allTensor();
    const y = r.allTensor();
    if (spec.family === 'kid') return { [name]: kernelInceptionDistance(x, y, { numSubsets: 100, maxSubsetSize: 1000, seed }) };
    const pr = precisionRecall(y, x, { nhoodSize: spec.nhood ?? 3 });
    return { [`${name}_precision`]: pr.precision, [`${name}_recall`]: pr.recall };
  });
}

function requireStyleGANNet(G: AnyGenerator, name: string): StyleGANGenerator {
  if (!isStyleGAN(G)) throw new Error(`${name}: perceptual path length needs a StyleGAN generator (mapping and synthesis networks)`);
  return G;
}

async function datasetLabels(path: string): Promise<Int32Array | null> {
  const d = await openDataset(path, { validate: 'first' });
  try {
    return d.labels;
  } finally {
    await d.close();
  }
}

function ppl(
  G: StyleGANGenerator, vgg: Detector,
  { spec, num, ctx, labels, onProgress }: { spec: MetricSpec; num: number; ctx: MetricContext; labels: Int32Array | null; onProgress?: Progress },
): number {
  const batch = 2;
  const dist = new Float64Array(num);
  const L = G.cfg.labelSize;
  const W = ctx.group?.size ?? 1;
  // Pair batch b draws from its own generator (seed, b); rank r measures batches b ≡ r (mod W).
  for (let b = ctx.group?.rank ?? 0; b * batch < num; b += W) {
    const start = b * batch;
    const n = Math.min(batch, num - start);
    const gen = batchGenerator(ctx.seed ?? 0, b);
    E.tidy(() => {
      const classes = L > 0 ? drawClasses(G, { n, gen, labels }) : null;
      const d = pplBatch(G, vgg, { n, ...spec.ppl!, labels: classes && E.oneHot(classes, L, G.synthesis.device), generator: gen });
      dist.set(d.toTypedArray() as Float64Array, start);
    });
    onProgress?.(start + n, num);
  }
  return pplFromDistances(ctx.group ? combineDisjoint(dist, ctx.group) : dist);
}
