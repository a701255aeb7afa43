import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { readNpyFile } from '../src/io/npy.js';
import { writePng } from '../src/io/images.js';
import { latentsFromSeeds, hasFfmpeg } from '../src/gen/index.js';
import { ROOT } from './helpers/python.js';
import { tempDir } from './helpers/temp-dir.js';
import { cli } from './helpers/cli.js';
import { saveTinyNetworks } from './helpers/gen-nets.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = tempDir('sgts-gen-cli');
let nets: Awaited<ReturnType<typeof saveTinyNetworks>>;

before(async () => {
  nets = await saveTinyNetworks(join(dir, 'nets'));
});

function spawnCli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, '--threads', '1', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const size = async (file: string) => {
  const m = await sharp(file).metadata();
  return [m.width, m.height];
};
const pixels = async (file: string) => new Uint8Array((await sharp(file).raw().toBuffer()));
const pages = async (file: string) => (await sharp(file, { animated: true }).metadata()).pages;

test('stylegan generate (a separate process): PNGs per seed, exit code 0; a bad seed range exits 1 with the reason', () => {
  const out = join(dir, 'spawned');
  const ok = spawnCli(['generate', '--seeds', '0-1', '--outdir', out, '--network', nets.rgb]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, `wrote 2 images in ${out}\n`);
  assert.ok(existsSync(join(out, 'seed0000.png')) && existsSync(join(out, 'seed0001.png')));
  const bad = spawnCli(['generate', '--seeds', '7-0', '--outdir', out, '--network', nets.rgb]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "stylegan: option '--seeds <list>' argument '7-0' is invalid. seeds: range '7-0' goes backwards\n(add --help for usage)\n");
});

test('stylegan generate: outdir, grid, images .npy, saved z and dlatents; re-rendering them gives the same grid', async () => {
  const out = join(dir, 'gen');
  const r = await cli([
    'generate', '--seeds', '0-3', '--outdir', out, '--grid', join(dir, 'grid.png'), '--cols', '2', '--npy', '--trunc', '0.7',
    '--save-z', join(dir, 'z.npy'), '--save-dlatents', join(dir, 'dl.npy'), '--network', nets.rgb, '--batch', '3',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `wrote 4 images in ${out}, ${join(dir, 'grid.png')} (32×32), ${join(out, 'images.npy')} (uint8 [N, H, W, C]), ${join(dir, 'z.npy')}, ${join(dir, 'dl.npy')}\n`);
  assert.deepEqual(await size(join(dir, 'grid.png')), [32, 32]);
  const images = await readNpyFile(join(out, 'images.npy'));
  assert.deepEqual([images.dtype, images.shape], ['uint8', [4, 16, 16, 3]]);
  for (let i = 0; i < 4; i++) {
    assert.deepEqual(await pixels(join(out, `seed000${i}.png`)), images.data.subarray(i * 768, (i + 1) * 768), `seed ${i}`);
  }
  const z = await readNpyFile(join(dir, 'z.npy'));
  assert.deepEqual([z.dtype, z.shape], ['float32', [4, 8]]);
  assert.deepEqual(new Float32Array(z.data.slice().buffer), latentsFromSeeds([0, 1, 2, 3], 8));
  assert.deepEqual((await readNpyFile(join(dir, 'dl.npy'))).shape, [4, 6, 8]);
  const grid = await pixels(join(dir, 'grid.png'));
  const fromDl = await cli(['generate', '--dlatents', join(dir, 'dl.npy'), '--grid', join(dir, 'grid-dl.png'), '--cols', '2', '--network', nets.rgb, '--batch', '3']);
  assert.equal(fromDl.code, 0, fromDl.stderr);
  assert.deepEqual(await pixels(join(dir, 'grid-dl.png')), grid, 'saved dlatents → the same images');
  const fromZ = await cli(['generate', '--z', join(dir, 'z.npy'), '--trunc', '0.7', '--grid', join(dir, 'grid-z.png'), '--cols', '2', '--network', nets.rgb, '--batch', '3']);
  assert.equal(fromZ.code, 0, fromZ.stderr);
  assert.deepEqual(await pixels(join(dir, 'grid-z.png')), grid, 'saved z → the same images');
  // ψ = 0 on every layer: every seed gives the average image.
  const avg = await cli(['generate', '--seeds', '5,6', '--trunc', '0', '--trunc-cutoff', 'all', '--noise-mode', 'none', '--outdir', join(dir, 'avg'), '--network', nets.rgb]);
  assert.equal(avg.code, 0, avg.stderr);
  assert.deepEqual(await pixels(join(dir, 'avg', 'seed0005.png')), await pixels(join(dir, 'avg', 'seed0006.png')));
  const cond = await cli(['generate', '--seeds', '1', '--class', '2', '--grid', join(dir, 'cond.png'), '--network', nets.cond]);
  assert.equal(cond.code, 0, cond.stderr);
  // One-channel network: a gray image (src/io/images.ts writes gray as R = G = B).
  const { data, info } = await sharp(join(dir, 'cond.png')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [16, 16]);
  for (let p = 0; p < 256; p++) for (let c = 1; c < info.channels; c++) assert.equal(data[p * info.channels + c], data[p * info.channels]);
  // --zoom: every pixel an n×n block, in the grid and in each image; a .jpg grid is JPEG.
  const z4 = await cli(['generate', '--seeds', '0-3', '--trunc', '0.7', '--cols', '2', '--zoom', '4', '--grid', join(dir, 'grid4.jpg'), '--outdir', join(dir, 'gen4'), '--network', nets.rgb, '--batch', '3']);
  assert.equal(z4.code, 0, z4.stderr);
  assert.deepEqual([(await sharp(join(dir, 'grid4.jpg')).metadata()).format, ...await size(join(dir, 'grid4.jpg'))], ['jpeg', 128, 128]);
  const big = await pixels(join(dir, 'gen4', 'seed0001.png'));
  const one = await pixels(join(out, 'seed0001.png'));
  assert.equal(big.length, 16 * one.length);
  for (const [x, y] of [[0, 0], [5, 9], [15, 15]] as const) {
    for (let c = 0; c < 3; c++) assert.equal(big[((y * 4 + 3) * 64 + x * 4 + 2) * 3 + c], one[(y * 16 + x) * 3 + c]);
  }
});

test('stylegan generate: clear errors for bad arguments and networks', async () => {
  const grid = ['--grid', join(dir, 'never.png')];
  const cases: [string[], string][] = [
    [['generate', '--seeds', '1', ...grid, '--network', join(dir, 'missing.safetensors')], `${join(dir, 'missing.safetensors')}: no such network file`],
    [['generate', ...grid, '--network', nets.rgb], 'generate: give exactly one of --seeds, --z or --dlatents'],
    [['generate', '--seeds', '1', '--z', join(dir, 'z.npy'), ...grid, '--network', nets.rgb], 'generate: give exactly one of --seeds, --z or --dlatents (got --seeds and --z)'],
    [['generate', '--seeds', '1', '--network', nets.rgb], 'generate: give --outdir DIR (one PNG per image) and/or --grid FILE.png'],
    [['generate', '--seeds', '1', ...grid, '--network', nets.cond], `stylegan-ts checkpoint ${nets.cond} (Gs): this network is conditional (3 classes): pass --class 0…2`],
    [['generate', '--seeds', '1', '--class', '1', ...grid, '--network', nets.rgb], `--class 1: stylegan-ts checkpoint ${nets.rgb} (Gs) is unconditional`],
    [['generate', '--seeds', '1', '--class', '5', ...grid, '--network', nets.cond], 'class 5 is out of range: this network has classes 0…2'],
    [['generate', '--dlatents', join(dir, 'dl.npy'), '--class', '1', ...grid, '--network', nets.cond], '--class: saved dlatents already carry their class (it enters through the mapping network)'],
    [['generate', '--seeds', '1', '--trunc', '0.5', ...grid, '--network', nets.progan], 'the truncation trick needs a StyleGAN generator; this network is a Progressive GAN (16²)'],
    [['generate', '--z', join(dir, 'dl.npy'), ...grid, '--network', nets.rgb], `${join(dir, 'dl.npy')}: z must have shape [N, 8] (or [8]), got [4, 6, 8]`],
    [['generate', '--seeds', '1', '--grid', join(dir, 'never.bmp'), '--network', nets.rgb], `${join(dir, 'never.bmp')}: unknown image format '.bmp'; use .png, .jpg or .jpeg`],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: exit code`);
    assert.equal(r.stderr, `stylegan: ${message}\n`, args.join(' '));
  }
  assert.equal(existsSync(join(dir, 'never.png')), false);
});

test('stylegan mix, noise and truncation write figures of the right size', async () => {
  const mix = await cli(['mix', '--rows', '1-2', '--cols', '3-5', '--styles', 'coarse/0-1,4', '--no-titles', '-o', join(dir, 'mix.png'), '--network', nets.rgb]);
  assert.equal(mix.code, 0, mix.stderr);
  assert.equal(mix.stdout, `wrote ${join(dir, 'mix.png')} (64×48); row 1: layers 0,1,2,3; row 2: layers 0,1,4\n`);
  assert.deepEqual(await size(join(dir, 'mix.png')), [64, 48]);
  const titled = await cli(['mix', '--rows', '1-2', '--cols', '3-5', '--styles', 'coarse/0-1,4', '--zoom', '2', '-o', join(dir, 'mix-t.png'), '--network', nets.rgb]);
  assert.equal(titled.code, 0, titled.stderr);
  const [tw, th] = await size(join(dir, 'mix-t.png'));
  assert.ok(th === 96 + 16 && tw! > 128, `titles above (16 px) and on the left of the zoomed 128×96 grid: ${tw}×${th}`);
  const noise = await cli(['noise', '--seeds', '1', '--samples', '3', '--detail', join(dir, 'new', 'detail.png'), '--components', join(dir, 'new', 'c.png'), '--no-titles', '--network', nets.rgb]);
  assert.equal(noise.code, 0, noise.stderr);
  assert.deepEqual(await size(join(dir, 'new', 'detail.png')), [48, 16], 'missing folders are created');
  assert.deepEqual(await size(join(dir, 'new', 'c.png')), [64, 16]);
  const zoomed = await cli(['noise', '--seeds', '1', '--samples', '3', '--components', join(dir, 'c3.jpg'), '--zoom', '3', '--no-titles', '--network', nets.rgb]);
  assert.equal(zoomed.code, 0, zoomed.stderr);
  assert.match(zoomed.stdout, new RegExp(`^wrote ${join(dir, 'c3.jpg')} \\(192×48, zoom 3\\); columns: `));
  assert.deepEqual([(await sharp(join(dir, 'c3.jpg')).metadata()).format, ...await size(join(dir, 'c3.jpg'))], ['jpeg', 192, 48]);
  assert.equal((await cli(['noise', '--network', nets.rgb])).stderr, 'stylegan: noise: give --detail FILE.png and/or --components FILE.png\n');
  assert.match(noise.stdout, /columns: noise in all layers \| no noise \| noise in fine layers only \(3–5\) \| noise in coarse layers only \(0–2\)\n$/);
  const trunc = await cli(['truncation', '--seeds', '1,2', '--psi', '1,0,-1', '--no-titles', '-o', join(dir, 'trunc.png'), '--network', nets.rgb]);
  assert.equal(trunc.code, 0, trunc.stderr);
  assert.equal(trunc.stdout, `wrote ${join(dir, 'trunc.png')} (48×32); columns ψ = 1, 0, -1\n`);
  const p = await cli(['mix', '--rows', '1', '--cols', '2', '-o', join(dir, 'pmix.png'), '--network', nets.progan]);
  assert.equal(p.stderr, 'stylegan: style mixing needs a StyleGAN generator; this network is a Progressive GAN (16²)\n');
});

test('stylegan video and timelapse: animated files with every frame; MP4 without ffmpeg is refused up front', async () => {
  const v = await cli(['video', '--seeds', '0-2', '--space', 'w', '--frames', '6', '--fps', '12', '-o', join(dir, 'v.gif'), '--network', nets.cond, '--class', '1']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout, `wrote ${join(dir, 'v.gif')} (gif, 6 frames of 256×256, 12 fps)\n`, '16² frames zoomed to a watchable 256²');
  assert.equal(await pages(join(dir, 'v.gif')), 6);
  const small = await cli(['video', '--seeds', '0-1', '--frames', '2', '--zoom', '1', '-o', join(dir, 'v1.webp'), '--network', nets.rgb]);
  assert.equal(small.stdout, `wrote ${join(dir, 'v1.webp')} (webp, 2 frames of 16×16, 30 fps)\n`);
  const run = join(dir, 'run');
  mkdirSync(run, { recursive: true });
  for (const [name, v] of [['fakes_init.png', 0], ['fakes000010.png', 100], ['fakes000020.png', 200]] as const) {
    await writePng(join(run, name), { data: new Uint8Array(32 * 16 * 3).fill(v), count: 1, width: 32, height: 16, channels: 3 });
  }
  const t = await cli(['timelapse', run, '--fps', '4', '-o', join(dir, 't.webp')]);
  assert.equal(t.code, 0, t.stderr);
  assert.equal(t.stdout, `wrote ${join(dir, 't.webp')} (webp, 3 frames of 256×256, 4 fps)\n`, '32×16 grids + a 16 px kimg caption, zoomed ×8');
  assert.equal(await pages(join(dir, 't.webp')), 3);
  const empty = await cli(['timelapse', join(dir, 'nets'), '-o', join(dir, 't2.webp')]);
  assert.equal(empty.stderr, `stylegan: ${join(dir, 'nets')}: no fakes*.png grids (is this a training run directory?)\n`);
});

test('stylegan video: MP4 without ffmpeg is refused before the network is opened', { skip: hasFfmpeg() && 'ffmpeg is on the PATH' }, async () => {
  const mp4 = await cli(['video', '--seeds', '0-2', '-o', join(dir, 'v.mp4'), '--network', join(dir, 'missing.safetensors')]);
  assert.equal(mp4.stderr, `stylegan: ${join(dir, 'v.mp4')}: writing MP4 needs ffmpeg, which is not on the PATH (install it, or write .webp or .gif instead)\n`);
});

test('stylegan figures: every figure of a conditional network, each file small', async () => {
  const out = join(dir, 'figures');
  const r = await cli(['figures', '--network', nets.cond, '--outdir', out, '--samples', '3', '--frames', '4', '--run', join(dir, 'run'), '--no-titles']);
  assert.equal(r.code, 0, r.stderr);
  const names = ['uncurated.png', 'style-mixing.png', 'noise-detail.png', 'noise-components.png', 'truncation.png', 'interpolation-z.webp', 'interpolation-w.webp', 'timelapse.webp'];
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.split('  ')[0]), names.map((n) => join(out, n)));
  for (const n of names) assert.ok(statSync(join(out, n)).size < 200 * 1024, n);
  assert.deepEqual(await size(join(out, 'uncurated.png')), [48, 64], 'one column per class (3), 4 rows');
  // 6 layers: the coarse and middle rows of Figure 3 (no fine layers at 16²) × the 5 official column seeds, + headers.
  assert.deepEqual(await size(join(out, 'style-mixing.png')), [96, 96]);
  assert.deepEqual(await size(join(out, 'truncation.png')), [96, 32]);
  assert.equal(await pages(join(out, 'interpolation-w.webp')), 4);
  assert.equal(await pages(join(out, 'timelapse.webp')), 3);
  const zoomed = await cli(['figures', '--network', nets.rgb, '--outdir', join(dir, 'zoomed'), '--samples', '2', '--frames', '2', '--zoom', '2', '--max-cell', '8']);
  assert.equal(zoomed.code, 0, zoomed.stderr);
  assert.deepEqual(await size(join(dir, 'zoomed', 'uncurated.png')), [128, 64], '8 × 4 cells of 16 px, halved to 8, zoomed ×2');
  assert.deepEqual(await size(join(dir, 'zoomed', 'truncation.png')), [96, 32 + 16], 'ψ titles above');
});
