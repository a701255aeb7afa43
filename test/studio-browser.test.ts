/**
 * The studio in a real browser (headless Chromium through playwright-core): every control changes the picture, and
 * the pixels the page shows equal what `stylegan generate` / `mix` / `noise` write for the same settings.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { decodeNpy } from '../src/io/npy.js';
import { cli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { saveTinyNetworks } from './helpers/gen-nets.js';
import { ROOT } from './helpers/python.js';
import { startStudio, launchChromium, waitRendered, imagePixels, fileRgba, skipWithoutChromium, type RunningStudio } from './helpers/studio.js';

const skip = skipWithoutChromium();
const dir = tempDir('sgts-studio-browser');
let nets: Awaited<ReturnType<typeof saveTinyNetworks>>;
let studio: RunningStudio;
let browser: Browser;
let page: Page;
let renders = 0;

before(async () => {
  if (skip) return;
  nets = await saveTinyNetworks(join(dir, 'nets'));
  studio = await startStudio([nets.rgb, nets.cond]);
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(studio.url);
  renders = await waitRendered(page, 0);
});

after(async () => {
  await browser?.close();
  await studio?.close();
});

/** Runs the CLI and returns the path of the PNG it wrote. */
async function reference(args: string[], file: string): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, r.stderr);
  return file;
}

const generated = (seed: number, args: string[]) => {
  const out = join(dir, `gen-${args.join('_').replace(/[^\w.-]/g, '')}-${seed}`);
  return reference(['generate', '--seeds', String(seed), '--outdir', out, ...args], join(out, `seed${String(seed).padStart(4, '0')}.png`));
};

async function rendered(action: () => Promise<unknown>): Promise<void> {
  await action();
  renders = await waitRendered(page, renders);
}

const viewPixels = () => imagePixels(page, 'view');

test('the page loads with labelled controls; seed, truncation ψ and class give the pixels of stylegan generate', { skip }, async () => {
  for (const label of ['Network', 'Seed', 'Truncation ψ', 'Truncation cutoff', 'Style source', 'Next seed']) {
    assert.equal(await page.getByLabel(label, { exact: true }).count(), 1, label);
  }
  assert.equal(await page.getByLabel('Noise', { exact: true }).count(), 1);
  assert.deepEqual(await viewPixels(), await fileRgba(await generated(0, ['--network', nets.rgb])));
  await rendered(() => page.getByLabel('Seed', { exact: true }).fill('7'));
  await rendered(() => page.getByLabel('Truncation ψ').fill('0.5'));
  assert.deepEqual(await viewPixels(), await fileRgba(await generated(7, ['--network', nets.rgb, '--trunc', '0.5'])));
  await rendered(() => page.getByLabel('Next seed').click());
  assert.deepEqual(await viewPixels(), await fileRgba(await generated(8, ['--network', nets.rgb, '--trunc', '0.5'])));
  // The conditional one-channel network: a class control appears.
  await rendered(() => page.getByLabel('Network').selectOption('n1'));
  await rendered(() => page.getByLabel('Class').selectOption('2'));
  await rendered(() => page.getByLabel('Seed', { exact: true }).fill('7'));
  assert.deepEqual(await viewPixels(), await fileRgba(await generated(7, ['--network', nets.cond, '--class', '2', '--trunc', '0.5'])));
  await rendered(() => page.getByLabel('Network').selectOption('n0'));
});

test('style mixing: a preset plus a per-layer toggle gives the cell of stylegan mix; the grid view is its figure', { skip }, async () => {
  await rendered(() => page.getByRole('button', { name: 'Coarse', exact: true }).click());
  await rendered(() => page.getByLabel('Style source', { exact: true }).fill('11'));
  await rendered(() => page.getByLabel('Style from source, layer 5 (16²)').check());
  const mix = await reference(['mix', '--rows', '7', '--cols', '11', '--styles', '0-3,5', '--trunc', '0.5', '--network', nets.rgb, '--no-titles', '-o', join(dir, 'mix.png')], join(dir, 'mix.png'));
  assert.deepEqual(await viewPixels(), await fileRgba(mix, { left: 16, top: 16, width: 16, height: 16 }));
  assert.equal(await page.locator('#command').textContent(), `stylegan mix --rows 7 --cols 11 --styles 0-3,5 --no-titles -o mix.png --network ${nets.rgb} --trunc 0.5`);

  await page.getByLabel('Destinations').fill('7,3');
  await page.getByLabel('Sources').fill('11,12');
  const loaded = page.waitForFunction(() => (document.getElementById('grid-view') as HTMLImageElement).naturalWidth > 0);
  await page.getByRole('button', { name: 'Render grid' }).click();
  await loaded;
  const grid = await reference(['mix', '--rows', '7,3', '--cols', '11,12', '--styles', '0-3,5', '--trunc', '0.5', '--network', nets.rgb, '--no-titles', '-o', join(dir, 'grid.png')], join(dir, 'grid.png'));
  assert.deepEqual(await imagePixels(page, 'grid-view'), await fileRgba(grid));
  await rendered(() => page.getByLabel('Copy styles from a source').uncheck());
});

test('noise: modes, per-layer toggles and the noise-detail view give the pixels of stylegan generate / noise', { skip }, async () => {
  await rendered(() => page.getByLabel('Noise', { exact: true }).selectOption('random'));
  assert.deepEqual(await viewPixels(), await fileRgba(await generated(7, ['--network', nets.rgb, '--trunc', '0.5', '--noise-mode', 'random'])));
  // Coarse layers off = the "noise in fine layers only" column of the components figure (same noise seed).
  await rendered(() => page.getByRole('button', { name: 'coarse off' }).click());
  assert.equal(await page.getByLabel('Noise, layer 0 (4²)').isChecked(), false);
  await reference(['noise', '--seeds', '7', '--samples', '4', '--noise-seed', '0', '--trunc', '0.5', '--network', nets.rgb, '--no-titles', '--components', join(dir, 'n-components.png')], '');
  assert.deepEqual(await viewPixels(), await fileRgba(join(dir, 'n-components.png'), { left: 32, top: 0, width: 16, height: 16 }));
  await rendered(() => page.getByRole('button', { name: 'all on' }).click());
  await rendered(() => page.getByLabel('Noise', { exact: true }).selectOption('none'));
  assert.deepEqual(await viewPixels(), await fileRgba(await generated(7, ['--network', nets.rgb, '--trunc', '0.5', '--noise-mode', 'none'])));

  await page.locator('summary', { hasText: 'Noise detail' }).click();
  await page.getByLabel('Samples').fill('4');
  const loaded = page.waitForFunction(() => (document.getElementById('noise-detail-view') as HTMLImageElement).naturalWidth > 0);
  await page.getByRole('button', { name: 'Render', exact: true }).click();
  await loaded;
  await reference(['noise', '--seeds', '7', '--samples', '4', '--noise-seed', '7', '--trunc', '0.5', '--network', nets.rgb, '--no-titles', '--detail', join(dir, 'd-detail.png')], '');
  assert.deepEqual(await imagePixels(page, 'noise-detail-view'), await fileRgba(join(dir, 'd-detail.png')));
  await rendered(() => page.getByLabel('Noise', { exact: true }).selectOption('const'));
});

test('export: the PNG download, the dlatents .npy and the command equal the CLI outputs', { skip }, async () => {
  const png = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download PNG' }).click();
  const pngFile = join(dir, 'download.png');
  await (await png).saveAs(pngFile);
  const ref = await generated(7, ['--network', nets.rgb, '--trunc', '0.5']);
  assert.deepEqual(await fileRgba(pngFile), await fileRgba(ref));
  assert.equal(await page.locator('#command').textContent(), `stylegan generate --seeds 7 --outdir out --network ${nets.rgb} --trunc 0.5`);
  assert.match((await page.locator('#command-note').textContent())!, /^Reproduces this image exactly: writes out\/seed0007\.png$/);

  const npy = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download dlatents (.npy)' }).click();
  const npyFile = join(dir, 'download.npy');
  await (await npy).saveAs(npyFile);
  await reference(['generate', '--seeds', '7', '--trunc', '0.5', '--network', nets.rgb, '--grid', join(dir, 'g.png'), '--save-dlatents', join(dir, 'dl.npy')], '');
  assert.deepEqual(decodeNpy(readFileSync(npyFile)), decodeNpy(readFileSync(join(dir, 'dl.npy'))));
});

test('interpolation: the page animates the frames and exports the animation', { skip }, async () => {
  await page.locator('summary', { hasText: 'Interpolation' }).click();
  await page.getByLabel('Seeds', { exact: true }).fill('7,11');
  await page.getByLabel('Frames').fill('4');
  await page.getByRole('button', { name: 'Play' }).click();
  await page.waitForFunction(() => (document.getElementById('interp-view') as HTMLCanvasElement).width === 16);
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.getByLabel('Export format').selectOption('gif');
  const gif = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export animation' }).click();
  const file = join(dir, 'interp.gif');
  await (await gif).saveAs(file);
  const meta = await sharp(file, { animated: true }).metadata();
  assert.deepEqual([meta.format, meta.pages, meta.width, meta.pageHeight], ['gif', 4, 16, 16]);
});

test('photos: an upload from the page is decoded and prepared for the network; a broken file gets a clear 400', { skip }, async () => {
  const photo = readFileSync(await generated(7, ['--network', nets.rgb, '--trunc', '0.5']));
  const big = await sharp({ create: { width: 64, height: 40, channels: 4, background: { r: 200, g: 10, b: 10, alpha: 1 } } }).jpeg().toBuffer();
  const answers = await page.evaluate(async (files) => {
    const send = async (bytes: number[]) => {
      const res = await fetch('/api/photos?network=n0', { method: 'POST', body: new Uint8Array(bytes) });
      return { status: res.status, body: await res.json() as Record<string, unknown> };
    };
    return Promise.all(files.map(send));
  }, [Array.from(photo), Array.from(big), [1, 2, 3, 4]]);
  assert.equal(answers[0]!.status, 200);
  assert.deepEqual({ ...answers[0]!.body, id: 'x' }, { id: 'x', width: 16, height: 16, resolution: 16, projected: false });
  assert.deepEqual({ ...answers[1]!.body, id: 'x' }, { id: 'x', width: 64, height: 40, resolution: 16, projected: false });
  assert.deepEqual(answers[2], { status: 400, body: { error: 'photo: cannot read image (Input buffer contains unsupported image format)' } });
  // The prepared target of a 16² upload for a 16² network is the upload itself.
  const target = await page.evaluate(async (id) => Array.from(new Uint8Array(await (await fetch(`/api/photos/${id}.png`)).arrayBuffer())), answers[0]!.body.id as string);
  const file = join(dir, 'target.png');
  writeFileSync(file, Uint8Array.from(target));
  assert.deepEqual(await fileRgba(file), await fileRgba(join(dir, `gen-${['--network', nets.rgb, '--trunc', '0.5'].join('_').replace(/[^\w.-]/g, '')}-7`, 'seed0007.png')));
});

test('photos: an upload is projected with live progress (5 steps, MSE), then mixes in as a style source and as the destination exactly as stylegan mix with its .npy', { skip }, async () => {
  await page.locator('summary', { hasText: 'Photos' }).click();
  assert.equal(await page.locator('#project-loss').textContent(), 'Distance: pixel MSE — start the studio with --detector-dir (vgg16.pt) for LPIPS');
  await page.getByLabel('Upload photo').setInputFiles(await generated(3, ['--network', nets.rgb]));
  await page.waitForFunction(() => !(document.getElementById('project-go') as HTMLButtonElement).disabled);
  // Every status line the page shows while projecting.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { statuses: string[] }).statuses = seen;
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) seen.push(n.textContent ?? '');
    }).observe(document.getElementById('photo-status')!, { childList: true });
  });
  await page.getByLabel('Steps').fill('5');
  await page.getByRole('button', { name: 'Project', exact: true }).click();
  await page.waitForFunction(() => document.body.dataset.projected !== undefined, undefined, { timeout: 120_000 });
  const statuses = await page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
  assert.deepEqual(statuses.slice(0, 5).map((l) => l.replace(/loss \d+\.\d{4}$/, 'loss L')), [1, 2, 3, 4, 5].map((k) => `step ${k}/5 · loss L`));
  assert.match(statuses[5]!, /^projected: loss \d+\.\d{4} — now a style source$/);
  assert.equal(statuses.length, 6);
  assert.equal(await page.getByLabel('Projection progress').evaluate((p) => (p as HTMLProgressElement).value), 1);
  assert.match((await page.locator('#project-view').getAttribute('src'))!, /^data:image\/png;base64,/);
  assert.equal(await page.getByLabel('Style source kind').inputValue(), 'photo');

  const npy = page.waitForEvent('download');
  await page.getByText('Download projected dlatents (.npy)').click();
  const file = join(dir, 'projected.npy');
  await (await npy).saveAs(file);
  assert.deepEqual(decodeNpy(readFileSync(file)).shape, [1, 6, 8]);
  await rendered(() => page.getByRole('button', { name: 'Coarse', exact: true }).click());
  const mix = await reference(['mix', '--rows', '7', '--cols', file, '--styles', '0-3', '--trunc', '0.5', '--network', nets.rgb, '--no-titles', '-o', join(dir, 'photo-mix.png')], join(dir, 'photo-mix.png'));
  assert.deepEqual(await viewPixels(), await fileRgba(mix, { left: 16, top: 16, width: 16, height: 16 }));
  // The projection as the destination, the coarse styles from seed 12.
  await rendered(() => page.getByLabel('Style source kind').selectOption('seed'));
  await rendered(() => page.getByLabel('Style source', { exact: true }).fill('12'));
  await rendered(() => page.getByLabel('Destination', { exact: true }).selectOption('photo'));
  const dst = await reference(['mix', '--rows', file, '--cols', '12', '--styles', '0-3', '--trunc', '0.5', '--network', nets.rgb, '--no-titles', '-o', join(dir, 'photo-dst.png')], join(dir, 'photo-dst.png'));
  assert.deepEqual(await viewPixels(), await fileRgba(dst, { left: 16, top: 16, width: 16, height: 16 }));
  assert.equal(await page.locator('#command').textContent(), `stylegan generate --dlatents dlatents.npy --outdir out --network ${nets.rgb}`);
  await rendered(() => page.getByLabel('Destination', { exact: true }).selectOption('seed'));
  await rendered(() => page.getByLabel('Copy styles from a source').uncheck());
});

test('the studio screenshot of the README (the default network): STYLEGAN_UPDATE_FIGURES=1 writes docs/figures/studio.png', { skip }, async () => {
  const s = await startStudio([]);
  const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await p.goto(s.url);
    await waitRendered(p, 0);
    await p.getByLabel('Class').selectOption('0');
    await p.getByLabel('Seed', { exact: true }).fill('3');
    await p.getByRole('button', { name: 'Coarse', exact: true }).click();
    await p.getByLabel('Style source', { exact: true }).fill('11');
    await p.getByLabel('Truncation ψ').fill('0.7');
    await p.getByLabel('Destinations').fill('3,5,8');
    await p.getByLabel('Sources').fill('11,12,13,14');
    await p.getByRole('button', { name: 'Render grid' }).click();
    await p.waitForFunction(() => (document.getElementById('grid-view') as HTMLImageElement).naturalWidth > 0);
    await p.waitForFunction(() => document.getElementById('view')!.dataset.state === 'idle' && document.querySelectorAll('.thumb').length === 8);
    const out = process.env.STYLEGAN_UPDATE_FIGURES === '1' ? join(ROOT, 'docs', 'figures', 'studio.png') : join(dir, 'studio.png');
    mkdirSync(join(out, '..'), { recursive: true });
    await p.screenshot({ path: out });
    assert.deepEqual([(await sharp(out).metadata()).width, (await sharp(out).metadata()).height], [1400, 900]);
  } finally {
    await p.close();
    await s.close();
  }
});
