import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as E from '../src/engine/index.js';
import type { Tensor } from '../src/engine/index.js';
import { latentFromSeed } from '../src/engine/numpy-random.js';
import type { StyleGANGenerator } from '../src/nets/index.js';
import { toUint8, writePng, type ImageBatch } from '../src/io/images.js';
import { writeNpyFile } from '../src/io/npy.js';
import * as g from '../src/gen/index.js';
import { ROOT } from './helpers/python.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyStyleGAN, tinyProGAN, saveTinyNetworks, imageBytes, maxDiff } from './helpers/gen-nets.js';

interface NumpyReference {
  int_seeds: { seed: number; randn16: number[] }[];
  latent_float32_sha256_16: Record<string, string>;
  latent_seed85_first8: number[];
}
const reference = JSON.parse(readFileSync(`${ROOT}test/fixtures/numpy-random.json`, 'utf8')) as NumpyReference;
const dir = tempDir('sgts-gen');
/** What the shipped model renders for seeds 0–3 (classes 0–3, stored noise): a few pixels and the SHA-256 of all four. */
const KNOWN_PIXELS = [234, 0, 184, 169, 0, 2, 0, 151];
const KNOWN_SHA256 = '0caef94341095a403562d1fa3a597f9e9c33ded2304f387d38fc9d56dd251012'; // -ffp-contract=off (binding.gyp); phase convolutions padding inside the convolution: 1 of 4096 pixels moved by 1
// Tiny tensors: one thread avoids the thread-pool overhead on a loaded machine.
E.setNumThreads(1);

/** The grid cell (col, row) of a grid with square cells of `cell` px. */
const cellOf = (grid: ImageBatch, col: number, row: number, cell = 16) => g.cropImage(grid, { x: col * cell, y: row * cell, w: cell, h: cell }).data;
/** One image generated alone with the given options. */
const single = (G: g.AnyGenerator, seed: number, o: g.GenerateOptions = {}) => imageBytes(g.generateImages(G, { seeds: [seed] }, o).images);
/** w [dlatent] of a seed through the mapping network (float32 values). */
const wOf = (G: StyleGANGenerator, seed: number) =>
  E.tidy(() => E.noGrad(() => G.mapping.forward(E.fromTypedArray(latentFromSeed(seed, G.cfg.latentSize), [1, G.cfg.latentSize])).toFloat32Array()));
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => Array.from(a).every((v, i) => Math.abs(v - b[i]!) <= tol);

test('toUint8: the bytes of floor((x − lo)·255/(hi − lo) + 0.5) clamped, from NCHW and channels-last, in one native pass', () => E.tidy(() => {
  // The reference is the float32 op chain; edge values: ±∞, the range ends, values a rounding step either side of .5.
  const ops = (x: Tensor, lo: number, scale: number) =>
    x.sub(lo).mul(scale).add(0.5).floor().clamp(0, 255).to('uint8').permute(0, 2, 3, 1).contiguous().toTypedArray() as Uint8Array;
  const gen = new E.Generator(3);
  const edge = E.tensor([-Infinity, -2, -1, -0.99999, 0, 0.5, 1, 1.0000001, 2, Infinity, 0.00392156, -0.0039215, 0.003921569, 1 / 255, 0.9]).reshape(1, 3, 1, 5);
  for (const x of [E.randn([2, 3, 37, 29], { generator: gen }).mul(1.3), E.randn([1, 4, 8, 8], { generator: gen }), edge]) {
    for (const layout of [x, x.contiguous('channels_last')]) {
      for (const [lo, hi] of [[-1, 1], [0, 1], [-0.7, 2.3]] as const) {
        const got = toUint8(layout, [lo, hi]);
        assert.deepEqual([got.count, got.height, got.width, got.channels], [x.shape[0], x.shape[2], x.shape[3], x.shape[1]]);
        assert.deepEqual(got.data, ops(layout, lo, 255 / (hi - lo)), `[${x.shape.join(', ')}] ${layout === x ? 'NCHW' : 'channels-last'} range [${lo}, ${hi}]`);
      }
    }
  }
  assert.deepEqual(Array.from(toUint8(E.tensor([NaN, NaN, NaN]).reshape(1, 3, 1, 1)).data), [0, 0, 0]);
  assert.deepEqual(Array.from(toUint8(E.tensor([-1, 0, 1]).to('bfloat16').reshape(1, 3, 1, 1)).data), [0, 128, 255]);
  assert.throws(() => E.toUint8Images(E.zeros([3, 4, 4]), -1, 127.5), /toUint8Images: expected images \[N, C, H, W\]/);
  assert.throws(() => E.toUint8Images(E.zeros([1, 3, 4, 4]).to('float64'), -1, 127.5), /toUint8Images: expected float32 on the CPU/);
}));

test('seed lists: ranges and single seeds in order; clear errors for bad ones', () => {
  assert.deepEqual(g.parseSeeds('0-3,42'), [0, 1, 2, 3, 42]);
  assert.deepEqual(g.parseSeeds(' 5 , 1-2 '), [5, 1, 2]);
  assert.deepEqual(g.parseSeeds('4294967295'), [4294967295]);
  assert.throws(() => g.parseSeeds('7-0'), /^Error: seeds: range '7-0' goes backwards$/);
  assert.throws(() => g.parseSeeds('a'), /^Error: seeds: 'a' is not an integer or a range a-b \(in 'a'\)$/);
  assert.throws(() => g.parseSeeds('1,,2'), /^Error: seeds: expected a list like '0-7,42', got '1,,2'$/);
  assert.throws(() => g.parseSeeds('4294967296'), /^Error: seeds: '4294967296' is outside 0…4294967295$/);
  assert.throws(() => g.parseSeeds('-1'), /^Error: seeds: '-1' is not an integer or a range a-b/);
  assert.deepEqual(g.parseNumberList('1,0.7,-0.5', 'psi'), [1, 0.7, -0.5]);
  assert.throws(() => g.parseNumberList('1,x', 'psi'), /^Error: psi: 'x' is not a number \(in '1,x'\)$/);
});

test("seed → z is numpy's RandomState(seed).randn(1, dim) as float32", () => {
  // 512-d: SHA-256 of each float32 latent of seeds 0–199 and the first values of seed 85, from numpy.
  const seeds = Object.keys(reference.latent_float32_sha256_16).map(Number);
  const z = g.latentsFromSeeds(seeds, 512);
  seeds.forEach((s, i) => {
    const digest = createHash('sha256').update(new Uint8Array(z.buffer, i * 2048, 2048)).digest('hex').slice(0, 16);
    assert.equal(digest, reference.latent_float32_sha256_16[String(s)], `seed ${s}`);
  });
  const at85 = seeds.indexOf(85) * 512;
  assert.deepEqual(Array.from(z.subarray(at85, at85 + 8)), reference.latent_seed85_first8);
  // 8-d (the tiny networks): the first 8 normals of the stream, cast to float32.
  for (const r of reference.int_seeds) assert.deepEqual(Array.from(g.latentsFromSeeds([r.seed], 8)), r.randn16.slice(0, 8).map(Math.fround), `seed ${r.seed}`);
  const G = tinyStyleGAN();
  const out = g.generateImages(G, { seeds: [85, 0] });
  assert.deepEqual(out.z!.shape, [2, 8]);
  assert.deepEqual(out.z!.data, g.latentsFromSeeds([85, 0], 8));
  G.dispose();
});

test('generateImages: deterministic per seed whatever the batch; returns z and the dlatents passed to synthesis', () => {
  const G = tinyStyleGAN();
  const o = { noiseMode: 'random', batch: 2, truncationPsi: 0.7, truncationCutoff: 2 } as const;
  const a = g.generateImages(G, { seeds: [3, 5, 7] }, o);
  const b = g.generateImages(G, { seeds: [3, 5, 7] }, o);
  assert.deepEqual([a.images.count, a.images.width, a.images.height, a.images.channels], [3, 16, 16, 3]);
  assert.deepEqual(a.images.data, b.images.data, 'same call, same images');
  assert.ok(maxDiff(imageBytes(a.images, 2), single(G, 7, o)) <= 1, 'seed 7 alone = seed 7 third in a batch');
  assert.ok(maxDiff(imageBytes(a.images, 0), imageBytes(a.images, 1)) > 20, 'different seeds, different images');
  // dlatents: w of each seed, truncated towards the average on layers 0–1 only.
  assert.deepEqual(a.dlatents!.shape, [3, 6, 8]);
  const avg = G.dlatentAvg.toFloat32Array();
  const w5 = wOf(G, 5);
  for (let l = 0; l < 6; l++) {
    const expect = l < 2 ? w5.map((v, i) => avg[i]! + 0.7 * (v - avg[i]!)) : w5;
    assert.ok(close(a.dlatents!.data.subarray((6 + l) * 8, (6 + l + 1) * 8), expect), `layer ${l}`);
  }
  // The same image through the network's own forward (mapping, truncation, synthesis) with const noise.
  const viaForward = E.tidy(() => E.noGrad(() => toUint8(G.forward(E.fromTypedArray(latentFromSeed(7, 8), [1, 8]), { truncationPsi: 0.7, truncationCutoff: 2, noise: 'const' }))));
  assert.ok(maxDiff(viaForward.data, single(G, 7, { truncationPsi: 0.7, truncationCutoff: 2 })) <= 1);
  assert.throws(() => g.generateImages(G, { seeds: [] }), /^Error: nothing to generate: no seeds or latents$/);
  assert.throws(() => g.generateImages(G, { seeds: [1] }, { batch: 0 }), /^Error: batch must be an integer ≥ 1, got 0$/);
  assert.throws(() => g.generateImages(G, { seeds: [1] }, { classes: 1 }), /^Error: a class was given, but this network is unconditional$/);
  G.dispose();
});

test('truncation ψ = 0 gives the average image for every seed; noise modes none/const are repeatable, random follows its seed', () => {
  const G = tinyStyleGAN();
  const avg = g.generateImages(G, { seeds: [1, 2, 3] }, { truncationPsi: 0, truncationCutoff: null, noiseMode: 'none' });
  for (const i of [1, 2]) assert.ok(maxDiff(imageBytes(avg.images, 0), imageBytes(avg.images, i)) <= 1, `seed ${i + 1}`);
  const ofAvg = E.tidy(() => E.noGrad(() => toUint8(G.synthesis.forward(G.dlatentAvg.reshape(1, 1, 8).expand(1, 6, 8), { noise: 'none' }))));
  assert.ok(maxDiff(imageBytes(avg.images, 0), ofAvg.data) <= 1, 'the image of the average w');
  const cut = g.generateImages(G, { seeds: [1, 2] }, { truncationPsi: 0, truncationCutoff: 2, noiseMode: 'none' });
  assert.ok(maxDiff(imageBytes(cut.images, 0), imageBytes(cut.images, 1)) > 5, 'a cutoff keeps the fine layers of each seed');
  const none = [single(G, 4, { noiseMode: 'none' }), single(G, 4, { noiseMode: 'none' })];
  assert.deepEqual(none[0], none[1]);
  assert.deepEqual(single(G, 4), single(G, 4), "'const' (the default) is repeatable");
  assert.ok(maxDiff(single(G, 4), none[0]!) > 5, 'the stored noise changes the image');
  const r = (n: number) => single(G, 4, { noiseMode: 'random', noiseSeeds: [n] });
  assert.deepEqual(r(1), r(1));
  assert.ok(maxDiff(r(1), r(2)) > 5, 'another noise seed, another image');
  assert.deepEqual(single(G, 4, { noiseMode: 'random' }), r(4), "'random' noise is seeded by the image's seed");
  assert.throws(() => g.generateImages(G, { seeds: [1] }, { truncationPsi: Number.NaN }), /^Error: truncation ψ must be a finite number, got NaN$/);
  G.dispose();
});

test('saved latents: dlatents and z round-trip through .npy; w per image is broadcast; bad files are named', async () => {
  const G = tinyStyleGAN();
  const a = g.generateImages(G, { seeds: [8, 9] }, { truncationPsi: 0.5 });
  const dl = join(dir, 'dl.npy');
  await g.writeLatents(dl, a.dlatents!);
  const again = g.generateImages(G, { dlatents: await g.readLatents(dl, 'dlatents', G) });
  assert.deepEqual(again.images.data, a.images.data, 'rendering the saved dlatents reproduces the images');
  assert.equal(again.z, null);
  const toAvg = g.generateImages(G, { dlatents: a.dlatents! }, { truncationPsi: 0, truncationCutoff: null });
  const avg = G.dlatentAvg.toFloat32Array();
  assert.ok(close(toAvg.dlatents!.data, Array.from({ length: 96 }, (_, i) => avg[i % 8]!)), 'ψ applies to saved dlatents too');
  // ψ = 0.5 on all layers (cutoff 8 ≥ 6 layers): every layer holds the same w, so w [N, 8] broadcasts back to it.
  const w = new Float32Array(16);
  for (let i = 0; i < 2; i++) w.set(a.dlatents!.data.subarray(i * 48, i * 48 + 8), i * 8);
  const wFile = join(dir, 'w.npy');
  await g.writeLatents(wFile, { data: w, shape: [2, 8] });
  assert.deepEqual(await g.readLatents(wFile, 'dlatents', G), a.dlatents);
  const zFile = join(dir, 'z.npy');
  await g.writeLatents(zFile, { data: a.z!.data.slice(8, 16), shape: [8] });
  const fromZ = g.generateImages(G, { z: await g.readLatents(zFile, 'z', G) }, { truncationPsi: 0.5 });
  assert.ok(maxDiff(imageBytes(fromZ.images), imageBytes(a.images, 1)) <= 1, 'z of seed 9 → the image of seed 9');
  await writeNpyFile(join(dir, 'bad.npy'), { dtype: 'float32', shape: [2, 5], data: new Uint8Array(40) });
  await assert.rejects(g.readLatents(join(dir, 'bad.npy'), 'dlatents', G),
    { message: `${join(dir, 'bad.npy')}: dlatents must have shape [N, 6, 8] (or one w per image, [N, 8]), got [2, 5]` });
  await assert.rejects(g.readLatents(join(dir, 'bad.npy'), 'z', G), { message: `${join(dir, 'bad.npy')}: z must have shape [N, 8] (or [8]), got [2, 5]` });
  await writeNpyFile(join(dir, 'int.npy'), { dtype: 'int32', shape: [1, 8], data: new Uint8Array(32) });
  await assert.rejects(g.readLatents(join(dir, 'int.npy'), 'z', G), { message: `${join(dir, 'int.npy')}: z must be floating point, got int32` });
  assert.throws(() => g.generateImages(G, { dlatents: { data: new Float32Array(8), shape: [1, 8] } }), /^Error: dlatents must be \[N, 6, 8\], got \[1, 8\]$/);
  assert.throws(() => g.generateImages(G, { dlatents: a.dlatents! }, { classes: 0 }), /^Error: a class cannot be applied to saved dlatents/);
  G.dispose();
});

test('conditional networks: the class is required, checked, and enters as a one-hot label', () => {
  const C = tinyStyleGAN({ numChannels: 1, labelSize: 3 }, 4);
  assert.throws(() => g.generateImages(C, { seeds: [1] }), /^Error: this network is conditional \(3 classes\): choose a class 0…2$/);
  assert.throws(() => g.generateImages(C, { seeds: [1] }, { classes: 3 }), /^Error: class 3 is out of range: this network has classes 0…2$/);
  assert.throws(() => g.generateImages(C, { seeds: [1, 2] }, { classes: [1] }), /^Error: 1 classes given for 2 images$/);
  const out = g.generateImages(C, { seeds: [1, 2] }, { classes: [2, 0], noiseMode: 'none' });
  assert.equal(out.images.channels, 1);
  const ref = E.tidy(() => E.noGrad(() => toUint8(C.forward(E.fromTypedArray(g.latentsFromSeeds([1, 2], 8), [2, 8]), {
    labels: E.tensor([[0, 0, 1], [1, 0, 0]]), noise: 'none',
  }))));
  assert.ok(maxDiff(out.images.data, ref.data) <= 1);
  assert.ok(maxDiff(single(C, 1, { classes: 0, noiseMode: 'none' }), imageBytes(out.images, 0)) > 5, 'the class changes the image');
  const cyc = g.generateImages(C, { seeds: [1, 2, 3, 4] }, { classes: 'cycle', noiseMode: 'none' });
  const explicit = g.generateImages(C, { seeds: [1, 2, 3, 4] }, { classes: [0, 1, 2, 0], noiseMode: 'none' });
  assert.deepEqual(Array.from(cyc.images.data), Array.from(explicit.images.data), "'cycle' = class i mod 3");
  C.dispose();
});

test('ProGAN generates from seeds; StyleGAN-only features are refused with a clear error', async () => {
  const P = tinyProGAN();
  const out = g.generateImages(P, { seeds: [1, 2] });
  assert.equal(out.dlatents, null);
  const ref = E.tidy(() => E.noGrad(() => toUint8(P.forward(E.fromTypedArray(g.latentsFromSeeds([1, 2], P.cfg.latentSize), [2, P.cfg.latentSize])))));
  assert.deepEqual(out.images.data, ref.data);
  const frames = [...g.interpolationFrames(P, { seeds: [1, 2], frames: 3 })];
  assert.deepEqual(imageBytes(frames[0]!), imageBytes(out.images, 0), 'Z interpolation works and starts at the first seed');
  const pg = /needs a StyleGAN generator; this network is a Progressive GAN \(16²\)$/;
  assert.throws(() => g.generateImages(P, { seeds: [1] }, { truncationPsi: 0.7 }), new RegExp(`^Error: the truncation trick ${pg.source}`));
  assert.throws(() => g.generateImages(P, { seeds: [1] }, { noiseMode: 'none' }), new RegExp(`^Error: noise control ${pg.source}`));
  assert.throws(() => g.styleMixingFigure(P, { rowSeeds: [1], colSeeds: [2], styles: 'coarse' }), new RegExp(`^Error: style mixing ${pg.source}`));
  assert.throws(() => g.noiseFigure(P, { seeds: [1] }), pg);
  assert.throws(() => g.truncationFigure(P, { seeds: [1] }), pg);
  assert.throws(() => [...g.interpolationFrames(P, { seeds: [1, 2], frames: 3, space: 'w' })], new RegExp(`^Error: interpolation in W ${pg.source}`));
  await assert.rejects(g.readLatents(join(dir, 'dl.npy'), 'dlatents', P), pg);
  P.dispose();
});

test('style mixing: the chosen layers of the dlatents passed to synthesis come from the column source, the rest from the row', () => {
  const G = tinyStyleGAN();
  assert.deepEqual(g.resolveStyleLayers('coarse', 6), [0, 1, 2, 3]);
  assert.deepEqual(g.resolveStyleLayers('middle', 6), [4, 5]);
  assert.deepEqual(g.resolveStyleLayers('3,0-1', 6), [0, 1, 3]);
  assert.throws(() => g.resolveStyleLayers('fine', 6), /^Error: styles: 'fine' selects no layer of this 6-layer network$/);
  assert.throws(() => g.resolveStyleLayers('0-3,8', 6), /^Error: styles: '8' is outside 0…5$/);
  assert.throws(() => g.resolveStyleLayers([0, 7], 6), /^Error: styles: layer 7 is outside 0…5$/);
  assert.throws(() => g.styleMixingFigure(G, { rowSeeds: [1, 2], colSeeds: [3], styles: ['coarse'] }), /^Error: styles: 1 specs given for 2 rows$/);

  const seen: Tensor[] = [];
  const forward = G.synthesis.forward.bind(G.synthesis);
  G.synthesis.forward = (d, o) => {
    seen.push(E.keep(d.clone()));
    return forward(d, o);
  };
  const rows = [11, 12];
  const cols = [21, 22, 23];
  const fig = g.styleMixingFigure(G, { rowSeeds: rows, colSeeds: cols, styles: ['0-1,4', 'middle'], batch: 4 });
  G.synthesis.forward = forward;
  assert.deepEqual(fig.layers, [[0, 1, 4], [4, 5]]);
  const passed = E.cat(seen, 0).toFloat32Array();
  E.disposeAll(seen);
  assert.equal(passed.length, (3 + 2 + 6) * 6 * 8, 'sources, destinations, then the 6 mixes');
  const layer = (image: number, l: number) => passed.subarray((image * 6 + l) * 8, (image * 6 + l + 1) * 8);
  const w = new Map([...rows, ...cols].map((s) => [s, wOf(G, s)]));
  const expected = (r: number, c: number, l: number) => (fig.layers[r]!.includes(l) ? w.get(cols[c]!)! : w.get(rows[r]!)!);
  for (let l = 0; l < 6; l++) {
    cols.forEach((s, c) => assert.ok(close(layer(c, l), w.get(s)!), `source ${s} layer ${l}`));
    rows.forEach((s, r) => assert.ok(close(layer(3 + r, l), w.get(s)!), `destination ${s} layer ${l}`));
    for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) assert.ok(close(layer(5 + r * 3 + c, l), expected(r, c, l)), `mix (${r}, ${c}) layer ${l}`);
  }
  // Geometry: (3 + 1) × (2 + 1) cells of 16 px; blank corner, sources on top, destinations on the left.
  assert.deepEqual([fig.grid.width, fig.grid.height, fig.grid.channels], [64, 48, 3]);
  assert.ok(cellOf(fig.grid, 0, 0).every((v) => v === 0), 'blank top-left corner');
  cols.forEach((s, c) => assert.ok(maxDiff(cellOf(fig.grid, c + 1, 0), single(G, s)) <= 1, `top row: source ${s}`));
  rows.forEach((s, r) => assert.ok(maxDiff(cellOf(fig.grid, 0, r + 1), single(G, s)) <= 1, `left column: destination ${s}`));
  const mixed = new Float32Array(6 * 6 * 8);
  for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) for (let l = 0; l < 6; l++) mixed.set(expected(r, c, l), ((r * 3 + c) * 6 + l) * 8);
  const mixedImages = g.generateImages(G, { dlatents: { data: mixed, shape: [6, 6, 8] } }).images;
  for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) assert.ok(maxDiff(cellOf(fig.grid, c + 1, r + 1), imageBytes(mixedImages, r * 3 + c)) <= 1, `cell (${r}, ${c})`);
  G.dispose();
});

test('noise detail figure: first sample, zoomed crops of samples 1–4, normalised per-pixel std', () => {
  const G = tinyStyleGAN();
  const fig = g.noiseDetailFigure(G, { seeds: [1, 2], samples: 6, noiseSeed: 10, batch: 4 });
  assert.deepEqual([fig.width, fig.height, fig.channels], [48, 32, 3]);
  const sample = (seed: number, k: number) => g.generateImages(G, { seeds: [seed] }, { noiseMode: 'random', noiseSeeds: [10 + k] }).images;
  assert.ok(maxDiff(cellOf(fig, 0, 1), imageBytes(sample(2, 0))) <= 1, 'left: the image under noise sample 0');
  // Middle: 2×2 tile of the central 4×4 square (at 6, 6) of samples 1–4, each zoomed ×2 to 8×8.
  const tile = cellOf(fig, 1, 0);
  for (let k = 1; k <= 4; k++) {
    const img = sample(1, k);
    const [qx, qy] = [((k - 1) % 2) * 8, Math.floor((k - 1) / 2) * 8];
    let worst = 0;
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) for (let ch = 0; ch < 3; ch++) {
      const src = img.data[((6 + (y >> 1)) * 16 + 6 + (x >> 1)) * 3 + ch]!;
      worst = Math.max(worst, Math.abs(tile[((qy + y) * 16 + qx + x) * 3 + ch]! - src));
    }
    assert.ok(worst <= 1, `sample ${k}: ${worst}`);
  }
  // Right: the std over the 6 samples of the channel mean, scaled so that the largest is white; gray in all channels.
  const std = E.tidy(() => E.noGrad(() => {
    const wv = E.fromTypedArray(wOf(G, 1), [1, 1, 8]).expand(6, 6, 8);
    const images = G.synthesis.forward(wv, { noise: g.seededNoise(G, [10, 11, 12, 13, 14, 15]) }).mean(1);
    const sd = images.std(0);
    return sd.div(sd.amax()).mul(255).toFloat32Array();
  }));
  const shown = cellOf(fig, 2, 0);
  assert.ok(Array.from(std).every((v, p) => Math.abs(shown[p * 3]! - v) <= 1 && shown[p * 3]! === shown[p * 3 + 2]), 'std image');
  assert.equal(Math.max(...shown), 255);
  // Without noise (strength 0) every sample is the same image: the std is black.
  const quiet = tinyStyleGAN({}, 3, 0);
  assert.ok(cellOf(g.noiseDetailFigure(quiet, { seeds: [1], samples: 3 }), 2, 0).every((v) => v === 0));
  assert.throws(() => g.noiseDetailFigure(G, { seeds: [1], samples: 1 }), /^Error: noise figure: samples must be an integer ≥ 2, got 1$/);
  quiet.dispose();
  G.dispose();
});

test('noise components figure: noise in all / no / fine / coarse layers, the same noise sample in each', () => {
  const G = tinyStyleGAN();
  const fig = g.noiseComponentsFigure(G, { seeds: [1, 2], batch: 3 });
  assert.deepEqual([fig.grid.width, fig.grid.height], [64, 32]);
  assert.deepEqual(fig.columns.map((c) => c.title), ['noise in all layers', 'no noise', 'noise in fine layers only (3–5)', 'noise in coarse layers only (0–2)']);
  for (const [r, seed] of [1, 2].entries()) {
    assert.ok(maxDiff(cellOf(fig.grid, 0, r), single(G, seed, { noiseMode: 'random' })) <= 1, `all layers, seed ${seed}`);
    assert.ok(maxDiff(cellOf(fig.grid, 1, r), single(G, seed, { noiseMode: 'none' })) <= 1, `no noise, seed ${seed}`);
    const only = (layers: number[]) => E.tidy(() => E.noGrad(() => {
      const maps = g.seededNoise(G, [seed]);
      const d = E.fromTypedArray(wOf(G, seed), [1, 1, 8]).expand(1, 6, 8);
      return toUint8(G.synthesis.forward(d, { noise: maps.map((m, l) => (layers.includes(l) ? m : null)) })).data;
    }));
    assert.ok(maxDiff(cellOf(fig.grid, 2, r), only([3, 4, 5])) <= 1, `fine only, seed ${seed}`);
    assert.ok(maxDiff(cellOf(fig.grid, 3, r), only([0, 1, 2])) <= 1, `coarse only, seed ${seed}`);
    assert.ok(maxDiff(cellOf(fig.grid, 2, r), cellOf(fig.grid, 3, r)) > 5);
  }
  assert.throws(() => g.noiseComponentsFigure(G, { seeds: [1], split: 6 }), /^Error: noise figure: split must be an integer in 1…5, got 6$/);
  G.dispose();
});

test('truncation figure: rows = seeds, columns = ψ; ψ = 0 is one image in every row', () => {
  const G = tinyStyleGAN();
  assert.deepEqual(g.DEFAULT_PSIS, [1, 0.7, 0.5, 0, -0.5, -1]);
  const fig = g.truncationFigure(G, { seeds: [1, 2, 3], psis: [1, 0, -1], batch: 4 });
  assert.deepEqual([fig.width, fig.height], [48, 48]);
  for (const [r, seed] of [1, 2, 3].entries()) {
    assert.ok(maxDiff(cellOf(fig, 0, r), single(G, seed)) <= 1, `ψ = 1, seed ${seed}`);
    assert.ok(maxDiff(cellOf(fig, 1, r), cellOf(fig, 1, 0)) <= 1, `ψ = 0, seed ${seed}`);
    assert.ok(maxDiff(cellOf(fig, 2, r), single(G, seed, { truncationPsi: -1, truncationCutoff: null })) <= 1, `ψ = −1, seed ${seed}`);
  }
  assert.ok(maxDiff(cellOf(fig, 0, 0), cellOf(fig, 0, 1)) > 5);
  G.dispose();
});

test('interpolation: frame positions, slerp, frame count; the first frame is the first seed, W midpoints are lerps', () => {
  assert.deepEqual(g.interpolationPath(2, 4, true), [{ from: 0, to: 1, t: 0 }, { from: 0, to: 1, t: 0.5 }, { from: 1, to: 0, t: 0 }, { from: 1, to: 0, t: 0.5 }]);
  assert.deepEqual(g.interpolationPath(3, 5, false).map((p) => [p.from, p.to, p.t]), [[0, 1, 0], [0, 1, 0.5], [1, 2, 0], [1, 2, 0.5], [1, 2, 1]]);
  assert.throws(() => g.interpolationPath(1, 5), /^Error: interpolation needs at least 2 seeds, got 1$/);
  assert.deepEqual(Array.from(g.slerp([1, 0], [0, 1], 0.5)).map((v) => v.toFixed(12)), [Math.SQRT1_2.toFixed(12), Math.SQRT1_2.toFixed(12)]);
  assert.deepEqual(Array.from(g.slerp([3, 4], [0, 1], 0)), [3, 4]);
  assert.deepEqual(Array.from(g.slerp([3, 4], [0, 1], 1)), [0, 1]);
  assert.deepEqual(Array.from(g.slerp([1, 0], [2, 0], 0.5)), [1.5, 0], 'parallel vectors: linear');

  const G = tinyStyleGAN();
  const o = { truncationPsi: 0.7, batch: 3 };
  for (const space of ['z', 'w'] as const) {
    const frames = [...g.interpolationFrames(G, { ...o, seeds: [3, 4], space, frames: 5, loop: false })];
    assert.equal(frames.length, 5);
    assert.ok(maxDiff(imageBytes(frames[0]!), single(G, 3, o)) <= 1, `${space}: first frame = seed 3`);
    assert.ok(maxDiff(imageBytes(frames[4]!), single(G, 4, o)) <= 1, `${space}: last frame without loop = seed 4`);
  }
  const looped = [...g.interpolationFrames(G, { ...o, seeds: [3, 4], space: 'w', frames: 4 })];
  assert.equal(looped.length, 4);
  const wOfSeeds = g.generateImages(G, { seeds: [3, 4] }, o).dlatents!.data;
  const mid = wOfSeeds.subarray(0, 48).map((v, i) => v + 0.5 * (wOfSeeds[48 + i]! - v));
  const midImage = imageBytes(g.generateImages(G, { dlatents: { data: mid, shape: [1, 6, 8] } }).images);
  assert.ok(maxDiff(imageBytes(looped[1]!), midImage) <= 1, 'W: frame 1 of 4 is the midpoint of seeds 3 and 4');
  assert.ok(maxDiff(imageBytes(looped[2]!), single(G, 4, o)) <= 1, 'W: frame 2 of 4 is seed 4, then back to 3');
  const C = tinyStyleGAN({ numChannels: 1, labelSize: 3 }, 4);
  const cf = [...g.interpolationFrames(C, { seeds: [3, 4], frames: 2, classes: [2, 1], space: 'z' })];
  assert.ok(maxDiff(imageBytes(cf[0]!), single(C, 3, { classes: 2 })) <= 1, 'conditional: per-seed classes');
  assert.ok(maxDiff(imageBytes(cf[1]!), single(C, 4, { classes: 1 })) <= 1);
  C.dispose();
  G.dispose();
});

/** n frames of w×h×c, frame k filled with 40·k + 10. */
const solidFrames = (n: number, w = 8, h = 8, c = 1): ImageBatch[] =>
  Array.from({ length: n }, (_, k) => ({ data: new Uint8Array(w * h * c).fill(40 * k + 10), count: 1, width: w, height: h, channels: c }));

/** Frames of an animated file: their count, the delays, and the first pixel value of each (decoded by sharp). */
async function readAnimation(file: string): Promise<{ pages: number; delay: number[]; firstPixels: number[]; width: number; height: number }> {
  const meta = await sharp(file, { animated: true }).metadata();
  const { data, info } = await sharp(file, { animated: true }).raw().toBuffer({ resolveWithObject: true });
  const frame = info.width * meta.pageHeight! * info.channels;
  return {
    pages: meta.pages!, delay: meta.delay!, width: info.width, height: meta.pageHeight!,
    firstPixels: Array.from({ length: meta.pages! }, (_, k) => data[k * frame]!),
  };
}

test('videos: animated WebP and GIF with every frame and the fps as delay; MP4 only through ffmpeg; bad input named', async () => {
  const gif = await g.writeVideo(join(dir, 'v.gif'), solidFrames(5), { fps: 10 });
  assert.deepEqual(gif, { path: join(dir, 'v.gif'), format: 'gif', frames: 5, width: 8, height: 8 });
  const a = await readAnimation(join(dir, 'v.gif'));
  assert.deepEqual([a.pages, a.width, a.height, a.delay], [5, 8, 8, [100, 100, 100, 100, 100]]);
  assert.deepEqual(a.firstPixels, [10, 50, 90, 130, 170]);
  // Duplicate frames are kept (a looped video repeats its first image).
  await g.writeVideo(join(dir, 'dup.gif'), [...solidFrames(2), ...solidFrames(1)], { fps: 25 });
  assert.equal((await readAnimation(join(dir, 'dup.gif'))).pages, 3);
  const webp = await g.writeVideo(join(dir, 'v.webp'), solidFrames(4, 8, 8, 3), { fps: 20 });
  assert.equal(webp.frames, 4);
  const b = await readAnimation(join(dir, 'v.webp'));
  assert.deepEqual([b.pages, b.delay], [4, [50, 50, 50, 50]]);
  assert.ok(b.firstPixels.every((v, k) => Math.abs(v - (40 * k + 10)) <= 3), `${b.firstPixels}`);
  await assert.rejects(g.writeVideo(join(dir, 'v.avi'), solidFrames(2)), { message: `${join(dir, 'v.avi')}: unknown video format '.avi'; use .mp4, .webp or .gif` });
  await assert.rejects(g.writeVideo(join(dir, 'x.gif'), [...solidFrames(1), ...solidFrames(1, 4, 4)]), { message: 'video: frame 1 is 1×4×4×1, expected one 8×8×1 image' });
  await assert.rejects(g.writeVideo(join(dir, 'x.gif'), []), { message: 'video: no frames' });
  await assert.rejects(g.writeVideo(join(dir, 'x.gif'), solidFrames(2), { fps: 0 }), { message: 'video: fps must be in (0, 1000], got 0' });
  assert.equal(g.hasFfmpeg('/nonexistent/ffmpeg'), false);
  const noFfmpeg = `${join(dir, 'v.mp4')}: writing MP4 needs ffmpeg, which is not on the PATH (install it, or write .webp or .gif instead)`;
  await assert.rejects(g.writeVideo(join(dir, 'v.mp4'), solidFrames(2), { ffmpeg: '/nonexistent/ffmpeg' }), { message: noFfmpeg });
  assert.equal(existsSync(join(dir, 'v.mp4')), false, 'nothing is left behind when MP4 cannot be written');
});

test('video: MP4 through ffmpeg', { skip: !g.hasFfmpeg() && 'ffmpeg is not on the PATH' }, async () => {
  const mp4 = await g.writeVideo(join(dir, 'v.mp4'), solidFrames(6, 9, 7, 3), { fps: 12 });
  assert.deepEqual([mp4.format, mp4.frames], ['mp4', 6]);
  assert.equal(readFileSync(join(dir, 'v.mp4')).subarray(4, 8).toString('latin1'), 'ftyp');
});

test('timelapse: the fakes*.png grids of a run in kimg order; errors name the directory or file', async () => {
  const run = join(dir, 'run');
  mkdirSync(run);
  const grid = (v: number, w = 24) => ({ data: new Uint8Array(w * 16).fill(v), count: 1, width: w, height: 16, channels: 1 });
  await writePng(join(run, 'fakes000120.png'), grid(170));
  await writePng(join(run, 'fakes_init.png'), grid(10));
  await writePng(join(run, 'fakes000040.png'), grid(90));
  await writePng(join(run, 'reals.png'), grid(250));
  writeFileSync(join(run, 'log.txt'), 'not a grid');
  assert.deepEqual(g.runGrids(run).map((x) => [x.file, x.kimg]), [
    [join(run, 'fakes_init.png'), -1], [join(run, 'fakes000040.png'), 40], [join(run, 'fakes000120.png'), 120],
  ]);
  const info = await g.timelapse(run, join(dir, 't.gif'), { fps: 5, captions: false });
  assert.deepEqual([info.frames, info.width, info.height], [3, 24, 16]);
  const captioned = [];
  for await (const f of g.timelapseFrames(run, { captions: true })) captioned.push(f);
  assert.deepEqual(captioned.map((f) => [f.width, f.height]), [[24, 16 + g.STRIP_HEIGHT], [24, 16 + g.STRIP_HEIGHT], [24, 16 + g.STRIP_HEIGHT]]);
  assert.ok(captioned[2]!.data.subarray(0, 24 * g.STRIP_HEIGHT).some((v) => v > 128), 'the caption strip has white text');
  assert.equal(captioned[2]!.data[24 * g.STRIP_HEIGHT], 170, 'the grid sits below the strip');
  const a = await readAnimation(join(dir, 't.gif'));
  assert.deepEqual([a.pages, a.firstPixels, a.delay], [3, [10, 90, 170], [200, 200, 200]]);
  mkdirSync(join(dir, 'empty'));
  assert.throws(() => g.runGrids(join(dir, 'empty')), { message: `${join(dir, 'empty')}: no fakes*.png grids (is this a training run directory?)` });
  assert.throws(() => g.runGrids(join(dir, 'missing')), { message: `${join(dir, 'missing')}: cannot read the run directory (ENOENT)` });
  // A run resumed across versions may mix RGB and gray grids: gray frames are expanded to RGB.
  await writePng(join(run, 'fakes000160.png'), { data: new Uint8Array(24 * 16 * 3).fill(130), count: 1, width: 24, height: 16, channels: 3 });
  const mixed = [];
  for await (const f of g.timelapseFrames(run)) mixed.push([f.channels, f.data[0], f.data[2]]);
  assert.deepEqual(mixed, [[3, 10, 10], [3, 90, 90], [3, 170, 170], [3, 130, 130]]);
  await writePng(join(run, 'fakes000200.png'), grid(50, 32));
  await assert.rejects(g.timelapse(run, join(dir, 't2.gif')), { message: `${join(run, 'fakes000200.png')}: 32×16×1, but the first grid is 24×16×1` });
});

test('grid helpers: crop, nearest zoom, blank cells, gray to colour, downscaled figure cells', async () => {
  const img = { data: Uint8Array.from([0, 1, 2, 3, 4, 5]), count: 1, width: 3, height: 2, channels: 1 };
  assert.deepEqual(Array.from(g.cropImage(img, { x: 1, y: 0, w: 2, h: 2 }).data), [1, 2, 4, 5]);
  assert.throws(() => g.cropImage(img, { x: 2, y: 0, w: 2, h: 2 }), /^Error: crop 2×2 at \(2, 0\) does not fit a 3×2 image$/);
  assert.deepEqual(Array.from(g.resizeNearest(g.cropImage(img, { x: 0, y: 0, w: 2, h: 1 }), 4, 2).data), [0, 0, 1, 1, 0, 0, 1, 1]);
  assert.deepEqual(Array.from(g.grayTo(g.cropImage(img, { x: 0, y: 1, w: 2, h: 1 }), 3).data), [3, 3, 3, 4, 4, 4]);
  const grid = g.assembleGrid([null, g.cropImage(img, { x: 0, y: 0, w: 1, h: 1 }), g.cropImage(img, { x: 2, y: 1, w: 1, h: 1 }), null], 2);
  assert.deepEqual([grid.width, grid.height, Array.from(grid.data)], [2, 2, [0, 0, 5, 0]]);
  const big = { data: new Uint8Array(32 * 16).fill(200), count: 1, width: 32, height: 16, channels: 1 };
  const small = await g.fitCells(big, 16, 8);
  assert.deepEqual([small.width, small.height, small.channels], [16, 8, 1]);
  assert.ok(small.data.every((v) => Math.abs(v - 200) <= 1));
  assert.equal(await g.fitCells(big, 16, 16), big, 'cells within the limit are left alone');
});

test('openNetwork: a saved checkpoint, a missing file, the default network', async () => {
  const paths = await saveTinyNetworks(join(dir, 'nets'));
  const net = await g.openNetwork(paths.rgb);
  assert.equal(net.config.resolution, 16);
  const G = tinyStyleGAN();
  assert.deepEqual(single(net.G, 5, { noiseMode: 'random' }), single(G, 5, { noiseMode: 'random' }), 'the saved network renders the same');
  G.dispose();
  net.G.dispose();
  await assert.rejects(g.openNetwork(join(dir, 'nope.safetensors')), { message: `${join(dir, 'nope.safetensors')}: no such network file` });
  assert.ok(g.defaultNetworkPath().endsWith(`/${g.DEFAULT_NETWORK}`) && g.defaultNetworkPath().startsWith(ROOT));
});

test('the shipped default model renders its known images (seeds 0–3, classes 0–3, stored noise)', async () => {
  const net = await g.openNetwork(undefined);
  try {
    assert.equal(net.G.cfg.resolution, 32);
    const { images } = g.generateImages(net.G, { seeds: [0, 1, 2, 3] }, { classes: 'cycle', noiseMode: 'const' });
    assert.deepEqual([images.count, images.width, images.height, images.channels], [4, 32, 32, 1]);
    const at = (i: number, x: number, y: number) => images.data[(i * 32 + y) * 32 + x];
    assert.deepEqual([at(0, 16, 16), at(1, 16, 16), at(2, 16, 16), at(3, 16, 16), at(0, 0, 0), at(3, 31, 31), at(1, 8, 20), at(2, 24, 10)], KNOWN_PIXELS);
    assert.equal(createHash('sha256').update(images.data).digest('hex'), KNOWN_SHA256);
  } finally {
    net.G.dispose();
  }
});
