import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as E from '../src/engine/index.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { writeSafetensorsFile } from '../src/io/safetensors.js';
import { buildGenerator, styleganConfig } from '../src/nets/index.js';
import { fitGaussian, frechetDistance, type FeatureStatistics } from '../src/metrics/frechet.js';
import {
  FMNIST_DIR, fmnistFiles, loadFmnist, pixelsToUnitRange, quantizeUnitRange, resizeTo32,
} from '../src/metrics/fmnist-data.js';
import {
  DEFAULT_CLASSIFIER, FEATURE_DIM, FmnistClassifier, accuracy, imageFeatures, loadClassifier, roundToFloat16, saveClassifier,
} from '../src/metrics/fmnist-classifier.js';
import {
  balancedLabels, checkFmnistGenerator, fidFmnist, generatedStatistics, referenceStatistics,
} from '../src/metrics/fid-fmnist.js';
import { ROOT } from './helpers/python.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('metrics');

/** Statistics given directly: μ and Σ (row-major). */
function gaussian(mu: number[], sigma: number[][]): FeatureStatistics {
  return { count: 100, dim: mu.length, mu: Float64Array.from(mu), sigma: Float64Array.from(sigma.flat()) };
}
const diag = (v: number[]) => v.map((x, i) => v.map((_, j) => (i === j ? x : 0)));

/** A random orthogonal matrix: the product of `d` Householder reflections I − 2vvᵀ/‖v‖² (deterministic LCG). */
function randomOrthogonal(d: number, seed: number): number[][] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  let q = diag(new Array(d).fill(1));
  for (let k = 0; k < d; k++) {
    const v = Array.from({ length: d }, rnd);
    const vv = v.reduce((a, x) => a + x * x, 0);
    q = q.map((row) => {
      const rv = row.reduce((a, x, j) => a + x * v[j]!, 0);
      return row.map((x, j) => x - (2 * rv * v[j]!) / vv);
    });
  }
  return q;
}
/** Q diag(λ) Qᵀ */
const fromEigen = (q: number[][], lambda: number[]) =>
  q.map((qi) => q.map((qj) => lambda.reduce((a, l, k) => a + qi[k]! * l * qj[k]!, 0)));

test('fitGaussian: the mean and the unbiased covariance of a hand-computed set', () => {
  const s = E.tidy(() => fitGaussian(E.tensor([[1, 2], [3, 6], [5, 7]])));
  assert.equal(s.count, 3);
  assert.equal(s.dim, 2);
  assert.deepEqual(Array.from(s.mu), [3, 5]);
  // Deviations (−2, −3), (0, 1), (2, 2); sums of products over N − 1 = 2.
  assert.deepEqual(Array.from(s.sigma), [4, 5, 5, 7]);
  assert.throws(() => fitGaussian(E.tensor([[1, 2]])), /^Error: fitGaussian: a covariance needs at least 2 feature vectors, got 1$/);
  assert.throws(() => E.tidy(() => fitGaussian(E.zeros([2, 3, 4]))), /^Error: fitGaussian: features must be \[N, D\], got \[2, 3, 4\]$/);
});

test('Fréchet distance of diagonal Gaussians is ‖Δμ‖² + Σ(σ1 − σ2)²', () => {
  const a = gaussian([0, 1, 2], diag([1, 4, 9]));
  const b = gaussian([1, 1, 0], diag([4, 4, 1]));
  // ‖Δμ‖² = 1 + 0 + 4; standard deviations (1, 2, 3) vs (2, 2, 1): 1 + 0 + 4.
  assert.ok(Math.abs(frechetDistance(a, b) - 10) < 1e-12, String(frechetDistance(a, b)));
  assert.ok(Math.abs(frechetDistance(b, a) - 10) < 1e-12);
});

test('Fréchet distance of 2×2 non-diagonal covariances matches the closed form tr √M = √(tr M + 2√det M)', () => {
  const s1 = [[2, 1], [1, 2]];
  const s2 = [[3, -1], [-1, 1]];
  const a = gaussian([0.5, -1], s1);
  const b = gaussian([2, 1], s2);
  // M = Σ1 Σ2 has positive eigenvalues λ1, λ2; (√λ1 + √λ2)² = tr M + 2√(det Σ1 · det Σ2).
  const trM = s1[0]![0]! * s2[0]![0]! + s1[0]![1]! * s2[1]![0]! + s1[1]![0]! * s2[0]![1]! + s1[1]![1]! * s2[1]![1]!;
  const det = (m: number[][]) => m[0]![0]! * m[1]![1]! - m[0]![1]! * m[1]![0]!;
  const traceRoot = Math.sqrt(trM + 2 * Math.sqrt(det(s1) * det(s2)));
  const expected = 1.5 ** 2 + 2 ** 2 + 4 + 4 - 2 * traceRoot;
  assert.ok(Math.abs(frechetDistance(a, b) - expected) < 1e-12, `${frechetDistance(a, b)} vs ${expected}`);
  assert.ok(Math.abs(frechetDistance(b, a) - expected) < 1e-12);
});

test('Fréchet distance of rotated commuting covariances (16-D) is ‖Δμ‖² + Σ(√a − √b)², and FD(x, x) ≈ 0', () => {
  const d = 16;
  const q = randomOrthogonal(d, 7);
  const la = Array.from({ length: d }, (_, i) => 0.5 + i);
  const lb = Array.from({ length: d }, (_, i) => 2 + ((5 * i) % d) / 3);
  const mu1 = Array.from({ length: d }, (_, i) => Math.sin(i));
  const mu2 = Array.from({ length: d }, (_, i) => Math.cos(i));
  const a = gaussian(mu1, fromEigen(q, la));
  const b = gaussian(mu2, fromEigen(q, lb));
  const expected = mu1.reduce((s, m, i) => s + (m - mu2[i]!) ** 2, 0) + la.reduce((s, l, i) => s + (Math.sqrt(l) - Math.sqrt(lb[i]!)) ** 2, 0);
  assert.ok(Math.abs(frechetDistance(a, b) - expected) < 1e-9 * expected, `${frechetDistance(a, b)} vs ${expected}`);
  assert.ok(Math.abs(frechetDistance(a, a)) < 1e-10);
});

test('Fréchet distance is symmetric for non-commuting covariances and ≈ 0 for identical singular sets', () => {
  const { a, b, singular } = E.tidy(() => {
    const g = new E.Generator(3);
    const mix = E.randn([8, 8], { generator: g });
    return {
      a: fitGaussian(E.randn([200, 8], { generator: g }).matmul(mix)),
      b: fitGaussian(E.randn([300, 8], { generator: g }).mul(E.linspace(0.2, 3, 8)).add(1)),
      // 5 samples in 8 dimensions: Σ has rank 4, eigenvalues that rounding can make slightly negative.
      singular: fitGaussian(E.randn([5, 8], { generator: g })),
    };
  });
  const ab = frechetDistance(a, b);
  assert.ok(ab > 1, String(ab));
  assert.ok(Math.abs(ab - frechetDistance(b, a)) < 1e-9 * ab);
  const trace = Array.from({ length: 8 }, (_, i) => singular.sigma[i * 9]!).reduce((x, y) => x + y, 0);
  assert.ok(Math.abs(frechetDistance(singular, singular)) < 1e-6 * trace, String(frechetDistance(singular, singular)));
  assert.throws(() => frechetDistance(a, gaussian([0, 0], diag([1, 1]))), /^Error: frechetDistance: feature dimensions differ \(8 and 2\)$/);
  assert.throws(() => frechetDistance({ ...a, sigma: new Float64Array(3) }, a),
    /^Error: frechetDistance: first statistics hold μ of 8 and Σ of 3 values for dimension 8$/);
});

test('preprocessing: Lanczos keeps flat images flat, 8-bit maps onto [−1, 1], quantization rounds and clips', () => {
  const flat = resizeTo32(new Uint8Array(2 * 28 * 28).fill(200), 2);
  assert.equal(flat.length, 2 * 32 * 32);
  assert.ok(flat.every((v) => v === 200));
  assert.throws(() => resizeTo32(new Uint8Array(100), 1), /^Error: resizeTo32: 100 bytes are not 1 images of 28×28$/);
  E.tidy(() => {
    const x = pixelsToUnitRange(E.fromTypedArray(Uint8Array.from([0, 51, 255, 128]), [1, 2, 2]));
    assert.deepEqual(x.shape, [1, 1, 2, 2]);
    // float32 arithmetic: the quotient is rounded, then 1 is subtracted exactly.
    const unit = (v: number) => Math.fround(Math.fround(v / 127.5) - 1);
    assert.deepEqual(Array.from(x.toFloat32Array()), [0, 51, 255, 128].map(unit));
    const q = quantizeUnitRange(E.tensor([-1.3, -1, 0.1, 0.9999, 2]));
    // 127.5·(x + 1): −38 → 0, 0, 140.25 → 140, 254.99 → 255, 382 → 255.
    assert.deepEqual(Array.from(q.toFloat32Array()), [0, 0, 140, 255, 255].map(unit));
  });
});

test('the shipped classifier loads with its provenance and classifies 500 test images with > 85% accuracy', async () => {
  const { net, metadata, sha256 } = await loadClassifier(DEFAULT_CLASSIFIER);
  try {
    assert.match(sha256, /^[0-9a-f]{64}$/);
    assert.match(metadata.command!, /^stylegan .*metric train-fmnist-classifier -o /);
    assert.ok(Number(metadata.epochs) >= 1);
    assert.ok(Number(metadata.test_accuracy) > 0.88, metadata.test_accuracy);
    const test500 = await loadFmnist('t10k', { limit: 500 });
    assert.equal(test500.count, 500);
    const acc = accuracy(net, test500);
    assert.ok(acc > 0.85, `accuracy ${acc}`);
  } finally {
    net.dispose();
  }
});

test('a saved classifier loads back as exactly the float16-rounded network; wrong files are named', async () => {
  const net = new FmnistClassifier(5);
  const path = join(dir, 'c.safetensors');
  try {
    roundToFloat16(net);
    await saveClassifier(path, net, { command: 'test' });
    const loaded = await loadClassifier(path);
    E.tidy(() => {
      const x = E.rand([3, 1, 32, 32], { generator: new E.Generator(1) }).mul(2).sub(1);
      assert.ok(E.noGrad(() => loaded.net.features(x).equal(net.features(x))));
      assert.deepEqual(loaded.net.logits(x).shape, [3, 10]);
      assert.deepEqual(loaded.net.features(x).shape, [3, FEATURE_DIM]);
      assert.throws(() => net.features(E.zeros([3, 1, 28, 28])), /^Error: fmnist classifier: images must be \[N, 1, 32, 32\], got \[3, 1, 28, 28\]$/);
    });
    assert.equal(loaded.metadata.command, 'test');
    loaded.net.dispose();
  } finally {
    net.dispose();
  }
  const other = join(dir, 'other.safetensors');
  await writeSafetensorsFile(other, {}, { format: 'stylegan-ts/1' });
  await assert.rejects(loadClassifier(other), {
    message: `${other}: not a Fashion-MNIST classifier (metadata format is "stylegan-ts/1", expected 'stylegan-ts/fmnist-classifier/1')`,
  });
  await assert.rejects(loadClassifier(join(dir, 'missing.safetensors')), /^Error: fmnist classifier .*missing\.safetensors: cannot read: ENOENT/);
});

test('FID ordering: test vs training images is far below test vs noise images', async () => {
  const { net } = await loadClassifier(DEFAULT_CLASSIFIER);
  try {
    const n = 500;
    const [test, train] = await Promise.all([loadFmnist('t10k', { limit: n }), loadFmnist('train', { limit: n })]);
    const noise = E.tidy(() => E.randint(0, 256, [n * 32 * 32], { generator: new E.Generator(2), dtype: 'uint8' }).toTypedArray() as Uint8Array);
    const stats = (images: Uint8Array) => E.tidy(() => fitGaussian(imageFeatures(net, images, { count: n })));
    const [sTest, sTrain, sNoise] = [stats(test.images), stats(train.images), stats(noise)];
    const real = frechetDistance(sTest, sTrain);
    const fake = frechetDistance(sTest, sNoise);
    assert.ok(real > 0 && real * 20 < fake, `FID(test, train) = ${real}, FID(test, noise) = ${fake}`);
  } finally {
    net.dispose();
  }
});

test('balancedLabels gives the classes in turn, continuing across batches', () => {
  assert.deepEqual(balancedLabels(0, 12, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  assert.deepEqual([...balancedLabels(0, 7, 10), ...balancedLabels(7, 13, 10)], balancedLabels(0, 20, 10));
  const counts = new Array(10).fill(0);
  for (const c of balancedLabels(0, 10_000, 10)) counts[c]++;
  assert.deepEqual(counts, new Array(10).fill(1000));
});

const tinyCfg = (o = {}) => styleganConfig({
  resolution: 32, numChannels: 1, labelSize: 10, fmapBase: 64, fmapMax: 16, latentSize: 16, dlatentSize: 16, mappingFmaps: 16, mappingLayers: 2, ...o,
});

test('generated statistics: reproducible per seed; networks of the wrong shape are refused by name', async () => {
  const G = buildGenerator(tinyCfg(), 1);
  const { net } = await loadClassifier(DEFAULT_CLASSIFIER);
  try {
    const run = (seed: number) => generatedStatistics(G, net, { num: 24, batch: 10, seed });
    const [s0, s0again, s1] = [run(0), run(0), run(1)];
    assert.equal(s0.count, 24);
    assert.equal(s0.dim, FEATURE_DIM);
    assert.deepEqual(s0again, s0);
    assert.notDeepEqual(s1.mu, s0.mu);
    for (const [cfg, why] of [
      [tinyCfg({ numChannels: 3 }), 'fid-fmnist needs a 32×32 generator with 1 channel, this one makes 32×32 with 3'],
      [tinyCfg({ resolution: 16 }), 'fid-fmnist needs a 32×32 generator with 1 channel, this one makes 16×16 with 1'],
      [tinyCfg({ labelSize: 4 }), 'the generator is conditional on 4 classes; Fashion-MNIST has 10'],
    ] as const) {
      const bad = buildGenerator(cfg);
      assert.throws(() => checkFmnistGenerator(bad, 'net.safetensors'), { message: `net.safetensors: ${why}` });
      bad.dispose();
    }
  } finally {
    G.dispose();
    net.dispose();
  }
});

test('fid-fmnist end to end: reference statistics are cached, the CLI prints JSON', async () => {
  // A 300-image test split keeps this fast; the statistics path is the same as for the 10,000 images.
  const data = join(dir, 'fmnist');
  mkdirSync(data);
  const real = fmnistFiles('t10k', FMNIST_DIR);
  const [images, labels] = [real.images, real.labels].map((f) => gunzipSync(readFileSync(f)));
  const count = 300;
  const head = (b: Buffer, headerBytes: number, itemBytes: number) => {
    const out = Buffer.from(b.subarray(0, headerBytes + count * itemBytes));
    out.writeUInt32BE(count, 4);
    return gzipSync(out);
  };
  const files = fmnistFiles('t10k', data);
  writeFileSync(files.images, head(images!, 16, 28 * 28));
  writeFileSync(files.labels, head(labels!, 8, 1));

  const network = join(dir, 'g.safetensors');
  const cfg = tinyCfg();
  const G = buildGenerator(cfg, 4);
  await saveCheckpoint(network, { config: cfg, nets: { Gs: G } });
  G.dispose();

  const cacheDir = join(dir, 'cache');
  const first = await fidFmnist({ network, num: 20, batch: 8, dataDir: data, cacheDir });
  const second = await fidFmnist({ network, num: 20, batch: 8, dataDir: data, cacheDir });
  assert.equal(first.reference.count, count);
  assert.equal(first.reference.cached, false);
  assert.equal(second.reference.cached, true);
  assert.equal(second.fid, first.fid);
  assert.ok(first.fid > 0);

  const classifier = await loadClassifier(DEFAULT_CLASSIFIER);
  try {
    const uncached = await referenceStatistics(classifier, { dataDir: data, cacheDir: null });
    const cached = await referenceStatistics(classifier, { dataDir: data, cacheDir });
    assert.deepEqual([uncached.cached, cached.cached], [false, true]);
    assert.deepEqual(cached.stats, uncached.stats);
    // A damaged cache file is recomputed and replaced.
    const [cacheFile] = readdirSync(cacheDir);
    assert.match(cacheFile!, /^fid-fmnist-t10k-[0-9a-f]{16}\.safetensors$/);
    writeFileSync(join(cacheDir, cacheFile!), 'garbage');
    const redone = await referenceStatistics(classifier, { dataDir: data, cacheDir });
    assert.equal(redone.cached, false);
    assert.deepEqual(redone.stats, uncached.stats);
    assert.equal((await referenceStatistics(classifier, { dataDir: data, cacheDir })).cached, true);
  } finally {
    classifier.net.dispose();
  }

  const cli = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args],
    { encoding: 'utf8', env: { ...process.env, STYLEGAN_CACHE: cacheDir } });
  const r = cli(['--device', 'cpu', '--threads', String(E.getNumThreads()), 'metric', 'fid-fmnist', '--network', network, '--num', '20', '--batch', '8', '--data', data, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout) as { metric: string; fid: number; num: number; reference: { cached: boolean } };
  assert.equal(json.metric, 'fid-fmnist');
  assert.equal(json.num, 20);
  assert.equal(json.reference.cached, true);
  assert.ok(Math.abs(json.fid - first.fid) < 1e-9 * first.fid, `${json.fid} vs ${first.fid}`);
  const missing = cli(['metric', 'fid-fmnist']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /required option '--network <path>' not specified/);
});
