import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as E from '../src/engine/index.js';
import { openNetwork, generateImages } from '../src/gen/index.js';
import { wStatistics } from '../src/gen/w-average.js';
import { requireStyleGAN } from '../src/gen/render.js';
import { project, projectionLearningRate, noiseRegularization, prepareTarget } from '../src/project/index.js';
import { readNpyFile } from '../src/io/npy.js';
import { ROOT } from './helpers/python.js';
import { tempDir } from './helpers/temp-dir.js';
import { cli } from './helpers/cli.js';
import { noiseImage, writeImage } from './helpers/images.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

const dir = tempDir('project');
const VGG = join(ROOT, 'test/fixtures/detectors/vgg16-standin.pt');
const INCEPTION = join(ROOT, 'test/fixtures/detectors/inception-standin.pt');

/** PSNR in dB of two 8-bit images of the same size. */
function psnr(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}
const gray = async (file: string) => new Uint8Array(await sharp(file).extractChannel(0).raw().toBuffer());

test('stylegan project --loss mse recovers a default-model image in W (PSNR ≥ 25 dB), and generate --dlatents renders proj.png', async () => {
  assert.equal((await cli(['generate', '--seeds', '5', '--class', '7', '--outdir', join(dir, 'gen')])).code, 0);
  const out = join(dir, 'proj-w');
  const r = await cli(['project', '--target', join(dir, 'gen', 'seed0005.png'), '--outdir', out, '--class', '7', '--steps', '150',
    '--loss', 'mse', '--noise', 'const', '--video-every', '10']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /MSE distance \(no vgg16\.pt given or found\), noise const/);
  const db = psnr(await gray(join(out, 'proj.png')), await gray(join(dir, 'gen', 'seed0005.png')));
  assert.ok(db >= 25, `PSNR ${db.toFixed(2)} dB`);
  const w = await readNpyFile(join(out, 'projected_w.npy'));
  assert.deepEqual([w.dtype, w.shape], ['float32', [1, 8, 128]]);
  assert.equal((await cli(['generate', '--dlatents', join(out, 'projected_w.npy'), '--outdir', join(dir, 'regen')])).code, 0);
  assert.deepEqual(readFileSync(join(dir, 'regen', 'image0000.png')), readFileSync(join(out, 'proj.png')));
  assert.match(r.stdout, /proj\.mp4 \(16 frames, 64×32\)/);
  // Two projected photos mix by styles: rows and columns from .npy files.
  const mix = await cli(['mix', '--rows', join(out, 'projected_w.npy'), '--cols', join(out, 'projected_w.npy'), '--styles', 'middle', '--no-titles', '-o', join(dir, 'mix.png')]);
  assert.equal(mix.code, 0, mix.stderr);
  const m = await sharp(join(dir, 'mix.png')).metadata();
  assert.deepEqual([m.width, m.height], [64, 64]);
  // Mixing a projection with the image itself at every layer reproduces it.
  const cell = new Uint8Array(await sharp(join(dir, 'mix.png')).extract({ left: 32, top: 32, width: 32, height: 32 }).extractChannel(0).raw().toBuffer());
  assert.deepEqual(cell, await gray(join(out, 'proj.png')));
});

test('stylegan project --loss lpips without vgg16.pt: one line naming the file it looked for, exit 1', async () => {
  const target = join(dir, 'lpips-target.png');
  await writeImage(target, noiseImage(32, 32, 1, 5));
  const detectors = join(dir, 'no-detectors');
  const r = await cli(['project', '--target', target, '--outdir', join(dir, 'lpips'), '--class', '7', '--loss', 'lpips', '--detector-dir', detectors]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `stylegan: ${join(detectors, 'vgg16.pt')}: --loss lpips needs vgg16.pt; pass --vgg FILE or --detector-dir DIR, or use --loss mse\n`);
});

test('project() in W+ recovers a default-model image (PSNR ≥ 28 dB); onStep each step, yields between steps, aborts', async () => {
  const net = await openNetwork(undefined);
  try {
    const G = requireStyleGAN(net.G, 'test');
    const img = generateImages(G, { seeds: [11] }, { classes: 3 }).images;
    const target = E.fromTypedArray(img.data, [1, 32, 32]).to('float32').div(127.5).sub(1);
    let steps = 0;
    let ticks = 0;
    const D = G.cfg.dlatentSize;
    const timer = setInterval(() => ticks++, 0);
    let r: Awaited<ReturnType<typeof project>>;
    try {
      r = await project(net, target, { steps: 150, space: 'w+', loss: 'mse', classIndex: 3, noise: 'const', onStep: (s) => {
        assert.equal(s.step, steps++);
        assert.deepEqual(s.dlatents.shape, [1, 8, D]);
      } });
    } finally {
      clearInterval(timer);
    }
    assert.equal(steps, 150);
    assert.ok(ticks > 10, `the event loop ran ${ticks} times during projection`);
    assert.deepEqual(r.dlatents.shape, [1, 8, D]);
    const out = generateImages(G, { dlatents: { data: r.dlatents.toFloat32Array(), shape: r.dlatents.shape } }).images;
    const db = psnr(out.data, img.data);
    assert.ok(db >= 28, `PSNR ${db.toFixed(2)} dB`);
    const ctl = new AbortController();
    await assert.rejects(project(net, target, { steps: 50, loss: 'mse', classIndex: 3, signal: ctl.signal, onStep: (s) => (s.step === 2 ? ctl.abort() : undefined) }),
      { name: 'AbortError' });
    // The LPIPS path through the stand-in VGG16 with optimised noise runs and lowers the distance.
    const losses: number[] = [];
    await project(net, target, { steps: 20, loss: 'lpips', vggPath: VGG, classIndex: 3, onStep: (s) => void losses.push(s.loss) });
    assert.ok(losses[19]! < losses[0]!, `${losses[0]} → ${losses[19]}`);
    await assert.rejects(project(net, target, { loss: 'lpips' }), /needs the VGG16 file/);
    await assert.rejects(project(net, E.zeros([3, 32, 32]), { loss: 'mse', classIndex: 3 }), { message: 'projection target must be [1, 32, 32] (the network\'s channels and resolution), got [3, 32, 32]' });
  } finally {
    net.G.dispose();
  }
});

test('projection schedule and noise regulariser as projector.py defines them', () => {
  assert.equal(projectionLearningRate(0, 1000), 0);
  assert.ok(Math.abs(projectionLearningRate(25, 1000) - 0.05) < 1e-12);
  assert.equal(projectionLearningRate(500, 1000), 0.1);
  assert.ok(Math.abs(projectionLearningRate(875, 1000) - 0.05) < 1e-12);
  E.tidy(() => {
    const a = E.randn([1, 1, 16, 16], { generator: new E.Generator(1) });
    const v = a.toFloat32Array();
    // Reference by loops: mean of x·roll(x, 1) along W and along H, squared, at 16² and at the 2×2-averaged 8².
    const term = (x: number[][], n: number) => {
      let h = 0;
      let w = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        w += x[i]![j]! * x[i]![(j - 1 + n) % n]!;
        h += x[i]![j]! * x[(i - 1 + n) % n]![j]!;
      }
      return (w / (n * n)) ** 2 + (h / (n * n)) ** 2;
    };
    const x16 = Array.from({ length: 16 }, (_, i) => Array.from({ length: 16 }, (_, j) => v[i * 16 + j]!));
    const x8 = Array.from({ length: 8 }, (_, i) => Array.from({ length: 8 }, (_, j) =>
      (x16[2 * i]![2 * j]! + x16[2 * i]![2 * j + 1]! + x16[2 * i + 1]![2 * j]! + x16[2 * i + 1]![2 * j + 1]!) / 4));
    const expected = term(x16, 16) + term(x8, 8);
    assert.ok(Math.abs(noiseRegularization([a]).item() - expected) < 1e-6 * expected);
  });
});

test('a projection target is centre-cropped, Lanczos-resized and converted to the network\'s channels', async () => {
  const file = join(dir, 'wide.png');
  await writeImage(file, noiseImage(48, 32, 3, 4));
  const t = prepareTarget({ ...noiseImage(48, 32, 3, 4) }, 32, 1);
  assert.deepEqual([t.image.width, t.image.height, t.image.channels], [32, 32, 1]);
  assert.deepEqual(t.tensor.shape, [1, 32, 32]);
  assert.ok(t.tensor.amax().item() <= 1 && t.tensor.amin().item() >= -1);
  // Already 32² from a 32×32 crop: the crop is the identity resize, so the pixels are the source's luma.
  const src = noiseImage(48, 32, 3, 4);
  const luma = (x: number, y: number) => {
    const p = (y * 48 + x) * 3;
    return (19595 * src.data[p]! + 38470 * src.data[p + 1]! + 7471 * src.data[p + 2]! + 32768) >>> 16;
  };
  assert.equal(t.image.data[0], luma(8, 0));
  assert.equal(t.image.data[31 * 32 + 31], luma(39, 31));
  const r = await cli(['project', '--target', join(dir, 'missing.png'), '--outdir', join(dir, 'x'), '--class', '1', '--loss', 'mse']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `stylegan: ${join(dir, 'missing.png')}: cannot read the target image: ENOENT\n`);
});

test('class-aware truncation: ψ = 0 renders the class\'s own average w; --trunc-center global the tracked one', async () => {
  const net = await openNetwork(undefined);
  try {
    const G = requireStyleGAN(net.G, 'test');
    const D = G.cfg.dlatentSize;
    const avg7 = wStatistics(G, { classIndex: 7 }).avg;
    const d = new Float32Array(8 * D);
    for (let l = 0; l < 8; l++) d.set(avg7, l * D);
    const center = generateImages(G, { dlatents: { data: d, shape: [1, 8, D] } }).images;
    const classT = generateImages(G, { seeds: [1, 2] }, { classes: 7, truncationPsi: 0, truncationCutoff: null }).images;
    assert.deepEqual(classT.data.subarray(0, 1024), center.data);
    assert.deepEqual(classT.data.subarray(1024), center.data);
    const globalT = generateImages(G, { seeds: [1] }, { classes: 7, truncationPsi: 0, truncationCutoff: null, truncationCenter: 'global' }).images;
    const globalAvg = E.tidy(() => G.dlatentAvg.reshape(1, 1, D).expand(1, 8, D).contiguous().toFloat32Array());
    assert.deepEqual(globalT.data, generateImages(G, { dlatents: { data: globalAvg, shape: [1, 8, D] } }).images.data);
    assert.ok(psnr(globalT.data, center.data) < 20, 'the class centre differs from the global one');
  } finally {
    net.G.dispose();
  }
  // An argument error makes commander exit: a separate process.
  const bad = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), '--threads', '1', 'generate', '--seeds', '1', '--class', '7', '--trunc', '0',
    '--trunc-center', 'middle', '--outdir', join(dir, 't')], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--trunc-center.*expected one of class, global, got 'middle'/);
});

test('stylegan metric: official names on stand-in detectors, two-set FID, network vs dataset, missing detector', async () => {
  const zip = await tinyDataset(dir, 48, 32);
  const cache = ['--no-cache'];
  const two = await cli(['metric', 'fid', '--data', zip, '--data2', zip, '--detector', INCEPTION, '--json', ...cache]);
  assert.equal(two.code, 0, two.stderr);
  const r2 = JSON.parse(two.stdout) as { results: { fid: number }; numGen: number; numReal: number };
  assert.ok(Math.abs(r2.results.fid) < 1e-6, `${r2.results.fid}`);
  assert.deepEqual([r2.numGen, r2.numReal], [48, 48]);
  const net = await cli(['metric', 'fid50k_full', '--data', zip, '--num-gen', '32', '--batch', '16', '--detector', INCEPTION, '--json', ...cache]);
  assert.equal(net.code, 0, net.stderr);
  const rn = JSON.parse(net.stdout) as { metric: string; results: { fid50k_full: number }; numGen: number; numReal: number };
  assert.deepEqual([rn.metric, rn.numGen, rn.numReal], ['fid50k_full', 32, 48]);
  assert.ok(rn.results.fid50k_full > 0);
  const kid = await cli(['metric', 'kid1k', '--data', zip, '--num-gen', '32', '--detector', INCEPTION, ...cache]);
  assert.equal(kid.code, 0, kid.stderr);
  assert.match(kid.stdout, /^kid1k -?\d\.\d+(e-?\d+)? +\(32 generated vs 48 real, [\d.]+ s\)\n$/);
  const ppl = await cli(['metric', 'ppl2_wend', '--num-gen', '8', '--detector', VGG, '--json']);
  assert.equal(ppl.code, 0, ppl.stderr);
  assert.ok((JSON.parse(ppl.stdout) as { results: { ppl2_wend: number } }).results.ppl2_wend > 0);
  const missing = await cli(['metric', 'is50k', '--detector-dir', dir]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, `stylegan: ${join(dir, 'inception-2015-12-05.pt')}: detector file missing; download ` +
    `https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt into ${dir} ` +
    '(or point --detector-dir / $STYLEGAN_DETECTORS at the folder holding it)\n');
  const unknown = await cli(['metric', 'fidd50k']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^stylegan: unknown metric 'fidd50k'; known: fid, kid, fid50k_full/);
});
