import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import ts from 'typescript';
import * as E from '../src/engine/index.js';
import * as g from '../src/gen/index.js';
import { writePng, zoomImages } from '../src/io/images.js';
import { tempDir } from './helpers/temp-dir.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = tempDir('sgts-library');

test("the README's library example runs as written on the packaged model", async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /## The library\n\n```ts\n([\s\S]*?)\n```/.exec(readme)![1]!;
  const js = ts.transpileModule(block, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
    .replace("from 'stylegan-ts'", `from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/index.js')).href)}`);
  writeFileSync(join(dir, 'example.mjs'), js);
  const r = spawnSync(process.execPath, [join(dir, 'example.mjs')], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual([(await sharp(join(dir, 'seeds.png')).metadata()).width, (await sharp(join(dir, 'mixed.png')).metadata()).width], [64, 32]);
});

test('scopeAsync frees what was created across awaits, except the result; out-of-order closing is refused', async () => {
  const before = E.memoryStats().liveTensors;
  const kept = await E.scopeAsync(async () => {
    const a = E.ones([3]);
    await new Promise((r) => setImmediate(r));
    const b = a.add(1);
    await new Promise((r) => setImmediate(r));
    return { b, n: a.add(b).sum().item() };
  });
  assert.equal(kept.n, 9);
  assert.equal(E.memoryStats().liveTensors, before + 1, 'only the returned tensor lives on');
  kept.b.dispose();
  await assert.rejects(Promise.all([
    E.scopeAsync(async () => { await new Promise((r) => setTimeout(r, 1)); }),
    E.scopeAsync(async () => { await new Promise((r) => setTimeout(r, 20)); }),
  ]), { message: 'scopeAsync: scopes closed out of order (two scopeAsync calls ran concurrently, or a scope spanned an await)' });
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(E.scopeDepth(), 0, 'both scopes are closed even so');
});

test('leak debugging names where the tensors left alive were created', () => {
  E.debugLeaks(true);
  try {
    const leak = () => E.zeros([2]);
    const kept = [leak(), leak()];
    E.tidy(() => {
      E.ones([4]).mul(2);
    });
    const report = E.leakReport();
    assert.equal(report.live, 2);
    assert.equal(report.sites[0]!.count, 2);
    assert.match(report.sites[0]!.site, /^leak \(.*library\.test\.js:\d+:\d+\)/);
    for (const t of kept) t.dispose();
    assert.equal(E.leakReport().live, 0);
  } finally {
    E.debugLeaks(false);
  }
});

test('generateImagesAsync: the same images as generateImages, and the event loop runs between batches', async () => {
  const { G } = await g.openNetwork(undefined);
  try {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const o = { classes: 'cycle' as const, noiseMode: 'const' as const, batch: 2 };
    const a = await g.generateImagesAsync(G, { seeds: [0, 1, 2, 3, 4, 5] }, o);
    clearInterval(timer);
    assert.deepEqual(a.images, g.generateImages(G, { seeds: [0, 1, 2, 3, 4, 5] }, o).images);
    assert.ok(ticks >= 2, `timers ran ${ticks} times`);
  } finally {
    G.dispose();
  }
});

test('writePng refuses a batch of several images; zoomImages enlarges each image', async () => {
  const b = { data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), count: 2, width: 2, height: 2, channels: 1 };
  await assert.rejects(writePng(join(dir, 'b.png'), b), { message: `${join(dir, 'b.png')}: a batch of 2 images; write a grid (makeGrid) or each image (pick)` });
  const z = zoomImages(b, 2);
  assert.deepEqual([z.count, z.width, z.height], [2, 4, 4]);
  assert.deepEqual(Array.from(z.data.subarray(16, 24)), [5, 5, 6, 6, 5, 5, 6, 6]);
});

test('class names: from metadata, Fashion-MNIST by its dataset line; --class by index, name or unique prefix', async () => {
  const { classNamesOf, classIndexOf, FASHION_MNIST_CLASSES } = await import('../src/io/class-names.js');
  assert.deepEqual(classNamesOf({ class_names: '["cat","dog"]' }, 2), ['cat', 'dog']);
  assert.deepEqual(classNamesOf({ dataset: 'stylegan dataset create --source fashion-mnist/train-images-idx3-ubyte.gz' }, 10), FASHION_MNIST_CLASSES);
  assert.equal(classNamesOf({ dataset: 'cifar' }, 10), null);
  assert.equal(classNamesOf({ class_names: '["cat"]' }, 2), null, 'a list of the wrong length is ignored');
  const names = [...FASHION_MNIST_CLASSES];
  assert.deepEqual([classIndexOf('7', 10, names), classIndexOf('sneaker', 10, names), classIndexOf('Ankle', 10, names), classIndexOf(3, 10, null)], [7, 7, 9, 3]);
  assert.throws(() => classIndexOf('s', 10, names), /^Error: class 's' is ambiguous; this network's classes: 0 T-shirt\/top, 1 Trouser, /);
  assert.throws(() => classIndexOf('cat', 2, null), { message: "class 'cat': this network's class names are not known; use an index 0…1" });
  assert.throws(() => classIndexOf('12', 10, null), { message: 'class 12 is out of range: this network has classes 0…9' });
  const net = await g.openNetwork(undefined);
  assert.deepEqual(net.classNames, names, 'the packaged model names its classes');
  net.G.dispose();
});
