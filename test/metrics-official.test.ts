import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/engine/index.js';
import { writeNpyFile, readNpyFile } from '../src/io/npy.js';
import { recordFromArray } from '../src/io/tensor-record.js';
import { buildGenerator, styleganConfig, type StyleGANGenerator } from '../src/nets/index.js';
import {
  Detector, detectorPath, FeatureStats, frechetDistance, inceptionScore, kernelInceptionDistance, metricSpec,
  pplFromDistances, pplImages, precisionRecall, slerpBatch, sampleWithoutReplacement, pplBatch, datasetFeatureStats,
  generatorFeatureStats,
} from '../src/metrics/index.js';
import { PYTHON, ROOT, torchImportable } from './helpers/python.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

const dir = tempDir('metrics-official');
const INCEPTION = join(ROOT, 'test/fixtures/detectors/inception-standin.pt');
const VGG = join(ROOT, 'test/fixtures/detectors/vgg16-standin.pt');
const skipTorch = torchImportable() ? false : `${PYTHON} cannot import torch`;
const REFERENCE = join(ROOT, 'tools/metrics-reference.py');

function images(n: number, c: number, size: number, seed: number): E.Tensor {
  return E.randint(0, 256, [n, c, size, size], { dtype: 'uint8', generator: new E.Generator(seed) });
}

async function saveNpy(name: string, t: E.Tensor): Promise<string> {
  const file = join(dir, name);
  const c = t.contiguous();
  await writeNpyFile(file, recordFromArray(c.dtype, c.shape, c.toTypedArray() as Float32Array));
  return file;
}

async function pythonFeatures(detector: string, imgs: E.Tensor, kwargs: object): Promise<E.Tensor> {
  const input = await saveNpy(`img-${Math.random().toString(36).slice(2)}.npy`, imgs);
  const out = `${input}.features.npy`;
  execFileSync(PYTHON, [REFERENCE, 'features', detector, input, out, JSON.stringify(kwargs)]);
  const rec = await readNpyFile(out);
  return E.fromTypedArray(rec.data, rec.shape, rec.dtype as E.DType);
}

function reference(spec: object): Record<string, number> {
  const file = join(dir, `spec-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return JSON.parse(execFileSync(PYTHON, [REFERENCE, 'metrics', file], { encoding: 'utf8' })) as Record<string, number>;
}

/** Arrays equal up to float32 rounding (kernels may round differently with the batch size or memory layout). */
function assertAllClose(a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length);
  const i = a.findIndex((v, j) => !(Math.abs(v - b[j]!) <= 1e-6 * Math.max(1, Math.abs(b[j]!))));
  assert.equal(i, -1, `element ${i}: ${a[i]} vs ${b[i]}`);
}

const close = (actual: number, expected: number, rel = 1e-6) =>
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${actual} vs ${expected} (relative ${Math.abs(actual - expected) / Math.abs(expected)})`);

test('engine.jit: loads a TorchScript file, calls forward with keyword arguments, names the file in errors', () => {
  E.tidy(() => {
    const m = E.jit.load(INCEPTION);
    try {
      assert.deepEqual(m.methods(), ['forward']);
      const x = images(2, 3, 16, 1);
      assert.deepEqual(m.callTensor(x, { return_features: true }).shape, [2, 2048]);
      const probs = m.callTensor(x, { no_output_bias: true });
      assert.deepEqual(probs.shape, [2, 1008]);
      assert.ok(probs.sum(1).sub(1).abs().amax().item() < 1e-5);
      assert.throws(() => m.call(x, { bogus: true }), (e: Error) => e.message.startsWith(`${INCEPTION}: Unknown keyword argument 'bogus'`));
    } finally {
      m.dispose();
    }
    assert.throws(() => m.call(), { message: `${INCEPTION}: TorchScript module was disposed` });
  });
  assert.throws(() => E.jit.load(join(dir, 'missing.pt')), { message: `${join(dir, 'missing.pt')}: no such TorchScript file` });
  const bad = join(dir, 'bad.pt');
  writeFileSync(bad, 'not a zip');
  assert.throws(() => E.jit.load(bad), (e: Error) => e.message.startsWith(`${bad}: not a loadable TorchScript module (`));
});

test('engine.jit: IValue conversions — float and int lists, optionals, strings, tuples, lists and dicts back', { skip: skipTorch }, () => {
  const file = join(dir, 'kinds.pt');
  const script = join(dir, 'kinds.py'); // torch.jit.script needs the source in a file
  writeFileSync(script, `
import torch
from typing import Dict, List, Optional, Tuple
class Kinds(torch.nn.Module):
    def forward(self, x: torch.Tensor, scale: float, dims: List[int], name: str, shift: Optional[torch.Tensor] = None,
                flag: bool = False) -> Tuple[torch.Tensor, List[int], Dict[str, torch.Tensor], str, float, bool]:
        y = x * scale
        if shift is not None:
            y = y + shift
        return y.sum(dims), [d + 1 for d in dims], {'twice': y * 2}, name + '!', scale / 2, not flag
torch.jit.script(Kinds()).save('${file}')
`);
  execFileSync(PYTHON, [script]);
  E.tidy(() => {
    const m = E.jit.load(file);
    try {
      const x = E.ones([2, 3]);
      const [sum, dims, dict, name, half, flag] = m.call(x, 3, [1], 'w', null, { flag: true }) as [E.Tensor, number[], { twice: E.Tensor }, string, number, boolean];
      assert.deepEqual(Array.from(sum.toFloat32Array()), [9, 9]);
      assert.deepEqual(dims, [2]);
      assert.deepEqual(Array.from(dict.twice.toFloat32Array()), [6, 6, 6, 6, 6, 6]);
      assert.deepEqual([name, half, flag], ['w!', 1.5, false]);
      const shifted = (m.call(x, 1, [0, 1], 'v', E.full([2, 3], 0.5)) as E.JitResult[])[0] as E.Tensor;
      assert.equal(shifted.item(), 9);
    } finally {
      m.dispose();
    }
  });
});

test('a missing detector file is named with where NVIDIA publishes it', () => {
  assert.throws(() => detectorPath('inception', { dir }), {
    message: `${join(dir, 'inception-2015-12-05.pt')}: detector file missing; download ` +
      `https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt into ${dir} ` +
      '(or point --detector-dir / $STYLEGAN_DETECTORS at the folder holding it)',
  });
  assert.equal(detectorPath('vgg16', { file: VGG }), VGG);
});

test('detector features from TypeScript equal PyTorch\'s for the same images', { skip: skipTorch }, async () => {
  const cases: [string, object, E.Tensor][] = [
    [INCEPTION, { return_features: true }, images(5, 3, 24, 2)],
    [INCEPTION, { return_features: true }, images(3, 1, 16, 3)],
    [INCEPTION, { no_output_bias: true }, images(4, 3, 20, 4)],
    [VGG, { return_features: true }, images(4, 3, 32, 5)],
    [VGG, { resize_images: false, return_lpips: true }, images(3, 3, 32, 6).to('float32')],
  ];
  for (const [file, kwargs, x] of cases) {
    const d = Detector.load(file, kwargs as E.JitKwargs);
    try {
      const ours = d.run(x);
      const theirs = await pythonFeatures(file, x, kwargs);
      assert.deepEqual(ours.shape, theirs.shape);
      const err = ours.sub(theirs).abs().amax().item();
      assert.ok(err <= 1e-6 * Math.max(1, theirs.abs().amax().item()), `${file} ${JSON.stringify(kwargs)}: max difference ${err}`);
    } finally {
      d.dispose();
    }
  }
});

test('FID, KID, precision/recall, IS and the PPL filter equal an independent numpy computation', { skip: skipTorch }, async () => {
  const vgg = Detector.load(VGG, { return_features: true });
  const inception = Detector.load(INCEPTION, { return_features: true });
  const probsDet = inception.with({ no_output_bias: true });
  try {
    // FID on full-rank 64-d features (the stand-in Inception's 2048-d features have rank ≤ 32: tr √ of a singular
    // product is ill-conditioned in either implementation).
    const realV = vgg.run(images(300, 3, 32, 10));
    const genV = vgg.run(images(260, 3, 32, 11).to('float32').mul(0.6).add(40)); // another distribution
    const genP = vgg.run(images(260, 3, 32, 15)); // the same distribution: precision and recall strictly inside (0, 1)
    const realI = inception.run(images(120, 3, 16, 12));
    const genI = inception.run(images(100, 3, 16, 13).to('float32').mul(0.6).add(40));
    const probs = probsDet.run(images(200, 3, 16, 14));
    const stats = (f: E.Tensor) => {
      const s = new FeatureStats({ captureMeanCov: true });
      s.append(f.narrow(0, 0, 100));
      s.append(f.narrow(0, 100, f.shape[0]! - 100));
      return { count: s.numItems, dim: s.numFeatures!, ...s.meanCov() };
    };
    const gen = new E.Generator(3);
    const subsets = Array.from({ length: 5 }, () => ({ x: sampleWithoutReplacement(100, 80, gen), y: sampleWithoutReplacement(120, 80, gen) }));
    const dist = E.rand([500], { generator: new E.Generator(9) }).mul(100).to('float64');
    const files = {
      realV: await saveNpy('realV.npy', realV), genV: await saveNpy('genV.npy', genV), genP: await saveNpy('genP.npy', genP),
      realI: await saveNpy('realI.npy', realI), genI: await saveNpy('genI.npy', genI),
      probs: await saveNpy('probs.npy', probs), dist: await saveNpy('dist.npy', dist),
    };
    const ref = reference({
      fid: [files.genV, files.realV], kid: [files.genI, files.realI, subsets], pr: [files.genP, files.realV, 3],
      is: [files.probs, 10], ppl: files.dist,
    });
    close(frechetDistance(stats(genV), stats(realV)), ref.fid!);
    close(kernelInceptionDistance(genI, realI, { subsets }), ref.kid!);
    const pr = precisionRecall(realV, genP, { nhoodSize: 3, rowBatch: 64 });
    assert.deepEqual([pr.precision, pr.recall], [ref.precision, ref.recall]);
    assert.ok(pr.precision > 0 && pr.precision < 1 && pr.recall > 0 && pr.recall < 1, `${pr.precision} ${pr.recall}`);
    const is = inceptionScore(probs, 10);
    close(is.mean, ref.is_mean!);
    close(is.std, ref.is_std!);
    close(pplFromDistances(dist.toTypedArray() as Float64Array), ref.ppl!);
  } finally {
    vgg.dispose();
    inception.dispose();
  }
});

test('metric names: official sizes, legacy crops, and sized variants', () => {
  assert.deepEqual(metricSpec('fid50k_full'), { name: 'fid50k_full', family: 'fid', numGen: 50000, maxReal: null, nhood: undefined });
  assert.deepEqual(metricSpec('kid50k_full').maxReal, 1_000_000);
  assert.deepEqual(metricSpec('pr50k3_full'), { name: 'pr50k3_full', family: 'pr', numGen: 50000, maxReal: 200_000, nhood: 3 });
  assert.deepEqual(metricSpec('fid10k').maxReal, 10_000);
  assert.deepEqual(metricSpec('is50k').numGen, 50_000);
  assert.deepEqual(metricSpec('ppl2_wend').ppl, { space: 'w', sampling: 'end', crop: false });
  assert.deepEqual(metricSpec('ppl_zfull').ppl, { space: 'z', sampling: 'full', crop: true });
  assert.throws(() => metricSpec('fid50k3'), /unknown metric 'fid50k3'/);
});

function tinyStyleGAN(res = 16, channels = 1, labelSize = 0): StyleGANGenerator {
  return buildGenerator(styleganConfig({ resolution: res, numChannels: channels, labelSize, fmapBase: 64, fmapMax: 16, latentSize: 8, dlatentSize: 8, mappingLayers: 2, mappingFmaps: 8 }), 5) as StyleGANGenerator;
}

test('PPL: slerp, centre crop, range and gray → RGB, ε scaling, end sampling', () => {
  E.tidy(() => {
    // slerp at t = 0 and 1 gives the normalised endpoints; at 0.5 the normalised bisector.
    const a = E.tensor([[1, 0, 0], [0, 2, 0]]);
    const b = E.tensor([[0, 1, 0], [0, 0, 3]]);
    assert.ok(slerpBatch(a, b, E.zeros([2, 1])).sub(E.tensor([[1, 0, 0], [0, 1, 0]])).abs().amax().item() < 1e-6);
    assert.ok(slerpBatch(a, b, E.full([2, 1], 0.5)).sub(E.tensor([[Math.SQRT1_2, Math.SQRT1_2, 0], [0, Math.SQRT1_2, Math.SQRT1_2]])).abs().amax().item() < 1e-6);
    // The crop keeps rows 3c…7c and columns 2c…6c (c = H/8), then maps [−1, 1] to [0, 255] and repeats gray.
    const img = E.arange(0, 256, 1, { dtype: 'float32' }).reshape(1, 1, 16, 16).div(255).mul(2).sub(1);
    const out = pplImages(img, true);
    assert.deepEqual(out.shape, [1, 3, 8, 8]);
    const v = out.toFloat32Array();
    assert.ok(Math.abs(v[0]! - (6 * 16 + 4)) < 1e-3 && Math.abs(v[63]! - (13 * 16 + 11)) < 1e-3, `${v[0]} ${v[63]}`);
    assert.deepEqual(pplImages(img, false).shape, [1, 3, 16, 16]);
  });
  // On a tiny network: 'end' distances are those of t = 0, and shrinking ε leaves the distance (a derivative) nearly
  // unchanged while the raw LPIPS difference shrinks with ε².
  const G = tinyStyleGAN();
  const vgg = Detector.load(VGG, { resize_images: false, return_lpips: true });
  try {
    E.tidy(() => {
      const d = (eps: number, sampling: 'end' | 'full') =>
        pplBatch(G, vgg, { n: 4, space: 'w', sampling, crop: false, epsilon: eps, labels: null, generator: new E.Generator(7) }).toTypedArray() as Float64Array;
      const [d1, d2] = [d(1e-2, 'end'), d(1e-3, 'end')];
      for (let i = 0; i < 4; i++) assert.ok(d1[i]! > 0 && Math.abs(d1[i]! - d2[i]!) < 0.25 * d1[i]!, `${d1[i]} vs ${d2[i]}`);
      const full = d(1e-2, 'full');
      assert.ok(full.some((x, i) => Math.abs(x - d1[i]!) > 1e-3 * d1[i]!), 'full sampling moves t away from 0');
    });
  } finally {
    vgg.dispose();
    G.dispose();
  }
});

test('dataset statistics: cached by content, recomputed when an image changes; generator sampling is shard-invariant', async () => {
  const zip = await tinyDataset(dir, 40, 16);
  const det = Detector.load(INCEPTION, { return_features: true });
  try {
    const cacheDir = join(dir, 'cache');
    const first = await datasetFeatureStats(zip, det, { captureAll: true, captureMeanCov: true, cacheDir, batch: 16 });
    const again = await datasetFeatureStats(zip, det, { captureAll: true, captureMeanCov: true, cacheDir, batch: 16 });
    assert.equal(first.cached, false);
    assert.equal(again.cached, true);
    assert.deepEqual(again.stats.all(), first.stats.all());
    assert.deepEqual(again.stats.meanCov(), first.stats.meanCov());
    const limited = await datasetFeatureStats(zip, det, { captureAll: true, maxItems: 10, cacheDir });
    assert.equal(limited.cached, false);
    assertAllClose(limited.stats.all(), first.stats.all().slice(0, 10 * 2048));
    // The key is the content: a copy elsewhere hits the cache, another image set does not.
    const copy = join(dir, 'copy.zip');
    writeFileSync(copy, readFileSync(zip));
    assert.equal((await datasetFeatureStats(copy, det, { captureAll: true, captureMeanCov: true, cacheDir })).cached, true);
    mkdirSync(join(dir, 'other'));
    const other = await tinyDataset(join(dir, 'other'), 41, 16);
    assert.equal((await datasetFeatureStats(other, det, { captureAll: true, captureMeanCov: true, cacheDir })).cached, false);
    // Generated features: shards 0 and 1 of 2 hold batches 0, 2 and 1, 3 of the unsharded run.
    const G = tinyStyleGAN();
    try {
      const whole = generatorFeatureStats(G, det, { captureAll: true, maxItems: 16, batch: 4, seed: 3 }).all();
      const s0 = generatorFeatureStats(G, det, { captureAll: true, maxItems: 16, batch: 4, seed: 3, shard: { index: 0, count: 2 } }).all();
      const s1 = generatorFeatureStats(G, det, { captureAll: true, maxItems: 16, batch: 4, seed: 3, shard: { index: 1, count: 2 } }).all();
      const row = 4 * 2048;
      const merged = new Float32Array(whole.length);
      for (let b = 0; b < 4; b++) merged.set((b % 2 ? s1 : s0).subarray((b >> 1) * row, ((b >> 1) + 1) * row), b * row);
      assertAllClose(merged, whole);
      assert.ok(whole.some((v, i) => Math.abs(v - whole[i + row]!) > 1e-3), 'batches differ from each other');
    } finally {
      G.dispose();
    }
  } finally {
    det.dispose();
  }
});
