import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync, zipSync } from 'fflate';
import { assembleBatch, type Batch } from '../src/data/batches.js';
import { createDataset, datasetImageName } from '../src/data/create.js';
import { openDataset } from '../src/data/dataset.js';
import { BatchLoader } from '../src/data/loader.js';
import { ImageOrder } from '../src/data/order.js';
import { copyChw } from '../src/data/pixels.js';
import { downscaleLod } from '../src/data/resample.js';
import { ImageStore } from '../src/data/store.js';
import { decodeWithSharp, encodeWithSharp, noiseImage, rint, toChw, writeImage } from './helpers/images.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('loader-test');
const COUNT = 10;
const RES = 16;
const CHANNELS = 3;
let datasetPath = '';
/** The dataset's images ([C, 16, 16] each) and labels, decoded with sharp from the ZIP. */
let reference: Uint8Array[] = [];
let referenceLabels: number[] = [];

before(async () => {
  const src = join(dir, 'src');
  for (let i = 0; i < COUNT; i++) await writeImage(join(src, `class${i % 3}`, `${i}.png`), noiseImage(RES, RES, CHANNELS, 100 + i));
  datasetPath = join(dir, 'dataset.zip');
  await createDataset({ source: src, dest: datasetPath, labels: 'folders' });
  const entries = unzipSync(readFileSync(datasetPath));
  reference = await Promise.all(Array.from({ length: COUNT }, async (_, i) => toChw(await decodeWithSharp(entries[datasetImageName(i)]))));
  referenceLabels = (JSON.parse(new TextDecoder().decode(entries['dataset.json'])).labels as [string, number][]).map(([, l]) => l);
});

/** The official lower level of detail: 2×2 means repeated in floating point, then rint (half to even). */
function officialLod(chw: Uint8Array, channels: number, size: number, target: number): Uint8Array {
  let level = Float64Array.from(chw);
  for (let s = size; s > target; s /= 2) {
    const half = s / 2;
    const next = new Float64Array(channels * half * half);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < half; y++) {
        for (let x = 0; x < half; x++) {
          const at = (yy: number, xx: number) => level[c * s * s + yy * s + xx];
          next[c * half * half + y * half + x] = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) * 0.25;
        }
      }
    }
    level = next;
  }
  return Uint8Array.from(level, rint);
}

/** Mirror of a [C, S, S] image: out[c][y][x] = in[c][y][S − 1 − x]. */
function mirrored(chw: Uint8Array, size: number): Uint8Array {
  return chw.map((_, i) => chw[i - (i % size) + size - 1 - (i % size)]);
}

/** What a batch must hold, from the reference images. */
function expectBatch(batch: Batch): void {
  const size = batch.resolution;
  const bytes = CHANNELS * size * size;
  assert.equal(batch.images.length, batch.batchSize * bytes);
  for (let k = 0; k < batch.batchSize; k++) {
    let image = officialLod(reference[batch.indices[k]], CHANNELS, RES, size);
    if (batch.flipped[k]) image = mirrored(image, size);
    assert.deepEqual([...batch.images.subarray(k * bytes, (k + 1) * bytes)], [...image], `image ${k} (dataset index ${batch.indices[k]})`);
  }
  assert.deepEqual([...batch.labels!], [...batch.indices].map((i) => referenceLabels[i]));
}

function sameBatch(a: Batch, b: Batch, what: string): void {
  assert.equal(a.position, b.position, `${what}: position`);
  assert.deepEqual([...a.indices], [...b.indices], `${what}: indices`);
  assert.deepEqual([...a.flipped], [...b.flipped], `${what}: flips`);
  assert.deepEqual(a.images, b.images, `${what}: images`);
}

test('lower levels of detail are the repeated 2×2 mean, rounded half to even like the official TFRecords', () => {
  assert.deepEqual([...downscaleLod(Uint8Array.of(1, 2, 3, 4), { planes: 1, size: 2, target: 1 })], [2]); // 2.5 → 2
  assert.deepEqual([...downscaleLod(Uint8Array.of(3, 4, 3, 4), { planes: 1, size: 2, target: 1 })], [4]); // 3.5 → 4
  assert.deepEqual([...downscaleLod(Uint8Array.of(0, 1, 0, 0), { planes: 1, size: 2, target: 1 })], [0]); // 0.25 → 0
  assert.deepEqual([...downscaleLod(Uint8Array.of(255, 255, 254, 255), { planes: 1, size: 2, target: 1 })], [255]); // 254.75 → 255
  const images = noiseImage(32, 32, 2, 9).data; // two [3, 16, 16]-sized planes' worth, read as [2, 1, 32, 32]
  let halves = 0;
  for (let i = 0; i < 2 * 16 * 16; i++) {
    const [y, x] = [Math.floor(i / 16) % 16, i % 16];
    const base = Math.floor(i / 256) * 1024;
    const sum = images[base + 64 * y + 2 * x] + images[base + 64 * y + 2 * x + 1] + images[base + 64 * y + 32 + 2 * x] + images[base + 64 * y + 33 + 2 * x];
    if (sum % 4 === 2) halves++;
  }
  assert.ok(halves > 20, `enough .5 cases (${halves})`);
  for (const target of [16, 8, 4, 2, 1]) {
    const ours = downscaleLod(images, { planes: 2, size: 32, target });
    const expected = [0, 1].flatMap((p) => [...officialLod(images.subarray(p * 1024, (p + 1) * 1024), 1, 32, target)]);
    assert.deepEqual([...ours], expected, `32 → ${target}`);
  }
  assert.throws(() => downscaleLod(images, { planes: 2, size: 32, target: 64 }), { message: 'downscaleLod: cannot downscale 32 to 64' });
});

test('x-flip mirrors every row of every channel', () => {
  const src = noiseImage(5, 5, 3, 4).data.subarray(0, 3 * 4 * 4);
  const dst = new Uint8Array(2 + src.length);
  copyChw(src, dst, { srcOffset: 0, dstOffset: 2, channels: 3, size: 4, flipX: true });
  assert.deepEqual([...dst.subarray(2)], [...mirrored(src, 4)]);
  assert.deepEqual([...dst.subarray(0, 2)], [0, 0]);
  copyChw(src, dst, { srcOffset: 0, dstOffset: 2, channels: 3, size: 4, flipX: false });
  assert.deepEqual([...dst.subarray(2)], [...src]);
});

test('the image order is a seeded permutation per epoch with seeded flips, restartable at any position', () => {
  const n = 7;
  const take = (order: ImageOrder, position: number, count: number) => {
    const indices = new Int32Array(count);
    const flips = new Uint8Array(count);
    order.fill(position, { n: count, indices, flips });
    return { indices: [...indices], flips: [...flips] };
  };
  const options = { seed: 5, shuffle: true, xflip: true };
  const stream = take(new ImageOrder(n, options), 0, 3 * n);
  for (let e = 0; e < 3; e++) assert.deepEqual([...stream.indices.slice(e * n, (e + 1) * n)].sort(), [0, 1, 2, 3, 4, 5, 6], `epoch ${e}`);
  assert.notDeepEqual(stream.indices.slice(0, n), stream.indices.slice(n, 2 * n), 'epochs differ');
  const restarted = take(new ImageOrder(n, options), 10, 5);
  assert.deepEqual(restarted, { indices: stream.indices.slice(10, 15), flips: stream.flips.slice(10, 15) });
  assert.notDeepEqual(take(new ImageOrder(n, { ...options, seed: 6 }), 0, 3 * n).indices, stream.indices);
  assert.deepEqual(take(new ImageOrder(n, { seed: 5, shuffle: false, xflip: false }), 5, 4), { indices: [5, 6, 0, 1], flips: [0, 0, 0, 0] });
  const flips = take(new ImageOrder(1000, options), 0, 1000).flips;
  const share = flips.reduce((a, b) => a + b, 0) / 1000;
  assert.ok(share > 0.45 && share < 0.55, `half of the images are mirrored (${share})`);
  assert.throws(() => new ImageOrder(n, { ...options, seed: -1 }), { message: 'ImageOrder: seed must be an integer 0 … 2^32 - 1, got -1' });
});

test('the image store serves the same pixels cached, per level, and streamed', async () => {
  const dataset = await openDataset(datasetPath);
  const indices = Int32Array.of(3, 0, 9, 3);
  const flips = Uint8Array.of(0, 1, 1, 0);
  const full = CHANNELS * RES * RES * COUNT;
  const stores = {
    cached: new ImageStore(dataset),
    levelOnly: new ImageStore(dataset, { memoryBudget: full / 4 }), // 8×8 fits, 16×16 does not
    streamed: new ImageStore(dataset, { memoryBudget: 0 }),
  };
  for (const resolution of [16, 8, 4, 1]) {
    const expected = [...indices].flatMap((i, k) => {
      const image = officialLod(reference[i], CHANNELS, RES, resolution);
      return [...(flips[k] ? mirrored(image, resolution) : image)];
    });
    for (const [name, store] of Object.entries(stores)) {
      await store.prepare(resolution);
      const out = new Uint8Array(indices.length * CHANNELS * resolution * resolution);
      await store.gather(indices, { flips, resolution, out });
      assert.deepEqual([...out], expected, `${name} at ${resolution}`);
    }
    if (resolution === 8) assert.deepEqual(stores.levelOnly.cachedResolutions(), [8]);
  }
  assert.deepEqual(stores.cached.cachedResolutions(), [16, 1], 'full resolution plus the latest lower level');
  assert.deepEqual(stores.levelOnly.cachedResolutions(), [1]);
  assert.deepEqual(stores.streamed.cachedResolutions(), []);
  await assert.rejects(stores.cached.prepare(32), { message: `${datasetPath}: resolution 32 is not a power of two ≤ the dataset's 16` });
  await dataset.close();
});

test('BatchLoader: batches hold the right pixels and labels, and repeat exactly for a seed', async () => {
  const options = { resolution: 8, batchSize: 4, seed: 7, xflip: true };
  const first = await BatchLoader.open(datasetPath, options);
  assert.deepEqual(first.info, {
    path: datasetPath, kind: 'zip', count: COUNT, resolution: RES, channels: CHANNELS, labelled: true, numClasses: 3, classCounts: [4, 3, 3],
  });
  const batches: Batch[] = [];
  for (let i = 0; i < 5; i++) batches.push(await first.next());
  assert.deepEqual(batches.map((b) => b.position), [0, 4, 8, 12, 16]);
  assert.equal(first.position, 20);
  batches.forEach(expectBatch);
  const epoch = batches.flatMap((b) => [...b.indices]).slice(0, COUNT).sort((a, b) => a - b);
  assert.deepEqual(epoch, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'the first 10 images are one epoch');
  assert.ok(batches.some((b) => b.flipped.includes(1)) && batches.some((b) => b.flipped.includes(0)));

  const second = await BatchLoader.open(datasetPath, { ...options, memoryBudget: 0 }); // streamed, same stream
  for (let i = 0; i < 5; i++) sameBatch(await second.next(), batches[i], `batch ${i}`);
  const other = await BatchLoader.open(datasetPath, { ...options, seed: 8 });
  const otherBatches = [await other.next(), await other.next()];
  assert.notDeepEqual(otherBatches.flatMap((b) => [...b.indices]), batches.slice(0, 2).flatMap((b) => [...b.indices]));
  await Promise.all([first.close(), second.close(), other.close()]);
});

test('BatchLoader: configure changes resolution and batch size and continues the stream; position resumes it', async () => {
  const loader = await BatchLoader.open(datasetPath, { resolution: 4, batchSize: 4, seed: 3, xflip: true });
  await loader.next();
  await loader.next();
  loader.configure({ resolution: 16, batchSize: 3 });
  const after = await loader.next();
  assert.deepEqual([after.position, after.batchSize, after.resolution], [8, 3, 16]);
  expectBatch(after);
  const dataset = await openDataset(datasetPath);
  const inline = await assembleBatch(new ImageStore(dataset), new ImageOrder(COUNT, { seed: 3, shuffle: true, xflip: true }), { position: 8, batchSize: 3, resolution: 16 });
  sameBatch(after, inline, 'worker vs in-thread');
  await dataset.close();
  const resumed = await BatchLoader.open(datasetPath, { resolution: 16, batchSize: 3, seed: 3, xflip: true, position: 8 });
  sameBatch(await resumed.next(), after, 'resumed at position 8');
  assert.throws(() => loader.configure({ resolution: 32 }), { message: `${datasetPath}: cannot load 32x32 batches from a 16x16 dataset` });
  assert.throws(() => loader.configure({ batchSize: 0 }), { message: 'BatchLoader: batchSize must be a positive integer, got 0' });
  // A request pending when the loader closes is rejected; later calls too.
  loader.configure({ resolution: 8 });
  const pending = assert.rejects(loader.next(), { message: 'BatchLoader was closed' });
  await loader.close();
  await pending;
  await assert.rejects(loader.next(), { message: 'BatchLoader is closed' });
  await loader.close();
  await resumed.close();
});

test('BatchLoader: a bad image or dataset fails with the file name', async () => {
  const good = new Uint8Array(await encodeWithSharp(noiseImage(4, 4, 3, 1)));
  const bad = good.slice();
  bad[Buffer.from(good).indexOf('IDAT') + 6] ^= 0x55;
  const path = join(dir, 'one-bad.zip');
  writeFileSync(path, zipSync({ 'a.png': good, 'b.png': bad, 'c.png': good }));
  for (const memoryBudget of [undefined, 0]) {
    const loader = await BatchLoader.open(path, { resolution: 4, batchSize: 3, memoryBudget });
    await assert.rejects(loader.next(), { message: 'b.png: corrupt PNG: CRC mismatch in IDAT chunk' });
    await loader.close();
  }
  const missing = join(dir, 'missing.zip');
  await assert.rejects(BatchLoader.open(missing, { resolution: 4, batchSize: 1 }), { message: `${missing}: cannot open (ENOENT)` });
  await assert.rejects(BatchLoader.open(datasetPath, { resolution: 32, batchSize: 1 }), {
    message: `${datasetPath}: cannot load 32x32 batches from a 16x16 dataset`,
  });
});

test('a process using a BatchLoader exits on its own, with or without close()', () => {
  const loaderModule = fileURLToPath(new URL('../src/data/loader.js', import.meta.url));
  for (const close of [true, false]) {
    const script = join(dir, `child-${close}.mjs`);
    writeFileSync(
      script,
      `import { BatchLoader } from ${JSON.stringify(loaderModule)};
const loader = await BatchLoader.open(${JSON.stringify(datasetPath)}, { resolution: 8, batchSize: 2 });
const batch = await loader.next();
${close ? 'await loader.close();' : ''}
console.log('done', batch.images.length);
`,
    );
    const started = Date.now();
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20000 });
    assert.equal(child.signal, null, `close=${close}: the process had to be killed (hung)`);
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), `done ${2 * 3 * 8 * 8}`);
    assert.ok(Date.now() - started < 10000, `close=${close}: exited promptly`);
  }
});
