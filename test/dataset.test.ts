import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync, gunzipSync, inflateSync } from 'node:zlib';
import { strToU8, unzipSync, zipSync } from 'fflate';
import sharp from 'sharp';
import { createDataset, datasetImageName } from '../src/data/create.js';
import { datasetInfo, openDataset } from '../src/data/dataset.js';
import { decodeImage } from '../src/data/decode.js';
import { DatasetError } from '../src/data/problems.js';
import { centerCropBox, compositeAlpha, convertChannels, crop } from '../src/data/pixels.js';
import { decodePng, encodePng } from '../src/data/png.js';
import { boxResize, lanczosResize } from '../src/data/resample.js';
import { ZipReader, ZipWriter } from '../src/io/zip.js';
import {
  decodeWithSharp, encodeWithSharp, noiseImage, skipWithoutPil, solidImage, toChw, writeImage, type TestImage,
} from './helpers/images.js';
import { runPython } from './helpers/python.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('dataset-test');
const FASHION = '/usr/share/datasets/fashion-mnist';

/** Reference k×k block mean, rounded half up (exact: k² is a power of two in these tests). */
function blockMean(image: TestImage, k: number): TestImage {
  const width = image.width / k;
  const height = image.height / k;
  const c = image.channels;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) sum += image.data[((y * k + dy) * image.width + x * k + dx) * c + ch];
        data[(y * width + x) * c + ch] = Math.floor(sum / (k * k) + 0.5);
      }
    }
  }
  return { width, height, channels: c, data };
}

function grayToRgb(image: TestImage): TestImage {
  return { ...image, channels: 3, data: Uint8Array.from({ length: image.data.length * 3 }, (_, i) => image.data[Math.floor(i / 3)]) };
}

/** Entries of a ZIP read with fflate (an independent reader). */
function unzip(path: string): Record<string, Uint8Array> {
  return unzipSync(readFileSync(path));
}

test('center crop boxes follow stylegan2-ada-pytorch (start (n - s) // 2, end (n + s) // 2)', () => {
  for (const [w, h] of [[10, 6], [7, 10], [9, 9], [5, 8], [100, 37], [1, 3]]) {
    const s = Math.min(w, h);
    const box = centerCropBox(w, h, 'square');
    assert.deepEqual(
      [box.left, box.left + box.width, box.top, box.top + box.height],
      [(w - s) >> 1, (w + s) >> 1, (h - s) >> 1, (h + s) >> 1],
      `${w}x${h}`,
    );
  }
  assert.deepEqual(centerCropBox(20, 6, 'wide'), { left: 4, top: 0, width: 12, height: 6 });
  assert.deepEqual(centerCropBox(10, 10, 'wide'), { left: 0, top: 2, width: 10, height: 5 });
  assert.deepEqual(centerCropBox(9, 3, 'wide'), { left: 1, top: 0, width: 6, height: 3 });
  // Pixel (x, y) of a 7x5 image holds 16y + x; the 5x5 crop starts at x = 1.
  const image = { width: 7, height: 5, channels: 1, data: Uint8Array.from({ length: 35 }, (_, i) => 16 * Math.floor(i / 7) + (i % 7)) };
  const cropped = crop(image, centerCropBox(7, 5, 'square'));
  assert.equal(cropped.width, 5);
  assert.deepEqual([...cropped.data], Array.from({ length: 25 }, (_, i) => 16 * Math.floor(i / 5) + (i % 5) + 1));
});

test('box filter: integer factors are block means (half up), other ratios the exact area average', () => {
  const image = noiseImage(8, 4, 3, 7);
  const expected = blockMean(image, 2);
  assert.deepEqual([...boxResize(image, 4, 2).data], [...expected.data]);
  const halves = Array.from({ length: 8 }, (_, i) => i).filter((i) => {
    let sum = 0;
    for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) sum += image.data[((2 * Math.floor(i / 4) + dy) * 8 + 2 * (i % 4) + dx) * 3];
    return sum % 4 === 2;
  });
  assert.ok(halves.length > 0, 'the test image has .5 averages');
  // 3 -> 2: outputs cover [0, 1.5) and [1.5, 3): (2a + b) / 3 and (b + 2c) / 3.
  const row = { width: 3, height: 1, channels: 1, data: Uint8Array.of(10, 20, 41) };
  assert.deepEqual([...boxResize(row, 2, 1).data], [Math.round(40 / 3), Math.round(102 / 3)]);
  // 2 -> 3 (up): a, (a + b) / 2 = 15.5 -> 16, b; the same along y.
  const pair = { width: 2, height: 1, channels: 1, data: Uint8Array.of(10, 21) };
  assert.deepEqual([...boxResize(pair, 3, 1).data], [10, 16, 21]);
  assert.deepEqual([...boxResize({ ...pair, width: 1, height: 2 }, 1, 3).data], [10, 16, 21]);
});

test('lanczos keeps a uniform image uniform when shrinking and enlarging', () => {
  const solid = solidImage(7, 5, [200, 17, 0]);
  for (const [w, h] of [[16, 16], [3, 2], [7, 9]]) {
    const out = lanczosResize(solid, w, h);
    assert.equal(out.data.length, w * h * 3);
    for (let i = 0; i < out.data.length; i++) assert.equal(out.data[i], [200, 17, 0][i % 3]);
  }
});

test('alpha is composited over black or white; RGB to gray is BT.601 luma', () => {
  const pixels = [[200, 100, 50, 0], [200, 100, 50, 255], [200, 100, 50, 128], [10, 20, 30, 64], [255, 255, 255, 1]];
  const rgba = { width: 5, height: 1, channels: 4, data: Uint8Array.from(pixels.flat()) };
  for (const [background, bg] of [['black', 0], ['white', 255]] as const) {
    const out = compositeAlpha(rgba, background);
    assert.equal(out.channels, 3);
    const expected = pixels.flatMap(([r, g, b, a]) => [r, g, b].map((c) => Math.round((c * a) / 255 + bg * (1 - a / 255))));
    assert.deepEqual([...out.data], expected, background);
  }
  const gray = compositeAlpha({ width: 2, height: 1, channels: 2, data: Uint8Array.of(100, 51, 7, 255) }, 'white');
  assert.deepEqual([...gray.data], [Math.round(100 * 0.2 + 255 * 0.8), 7]);
  const colour = noiseImage(16, 16, 3, 3);
  const luma = convertChannels(colour, 1);
  for (let p = 0; p < 256; p++) {
    const [r, g, b] = colour.data.subarray(3 * p, 3 * p + 3);
    assert.ok(Math.abs(luma.data[p] - (0.299 * r + 0.587 * g + 0.114 * b)) < 0.51, `pixel ${p}`);
  }
  assert.deepEqual([...convertChannels({ width: 2, height: 1, channels: 1, data: Uint8Array.of(3, 250) }, 3).data], [3, 3, 3, 250, 250, 250]);
});

/** A PNG chunk: length, type, body, CRC-32 of type and body. */
function pngChunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** A PNG built by hand with a given filter per row (cycling through all five), for the decoder. */
function handMadePng(image: TestImage): Uint8Array {
  const { width, height, channels, data } = image;
  const stride = width * channels;
  const rows: number[] = [];
  for (let y = 0; y < height; y++) {
    const filter = y % 5;
    rows.push(filter);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? data[y * stride + x - channels] : 0;
      const b = y > 0 ? data[(y - 1) * stride + x] : 0;
      const c = y > 0 && x >= channels ? data[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, Math.floor((a + b) / 2), paeth][filter];
      rows.push((data[y * stride + x] - predictor + 256) % 256);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = { 1: 0, 2: 4, 3: 2, 4: 6 }[channels]!;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Uint8Array.from(rows))),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

test('PNG codec: all five row filters decode like sharp; our PNGs decode in sharp; odd PNGs fall back to sharp', async () => {
  for (const channels of [1, 2, 3, 4]) {
    const image = noiseImage(7, 10, channels, 11 + channels);
    const png = handMadePng(image);
    assert.deepEqual([...(await decodeWithSharp(png)).data], [...image.data], `sharp reads the hand-made PNG (${channels})`);
    assert.deepEqual([...decodePng(png, 'h.png')!.data], [...image.data], `filters, ${channels} channel(s)`);
    const ours = encodePng(image);
    const back = await decodeWithSharp(ours);
    assert.equal(back.channels, channels);
    assert.deepEqual([...back.data], [...image.data], `sharp reads our PNG (${channels})`);
  }
  // Our encoder picks a filter per row: ramps in rows 0-7, then rows 8-15 that copy row 7.
  const gradient = {
    width: 16,
    height: 16,
    channels: 3,
    data: Uint8Array.from({ length: 768 }, (_, i) => {
      const [y, x, c] = [Math.min(7, Math.floor(i / 48)), Math.floor(i / 3) % 16, i % 3];
      return (x * 9 + c * 40 + y * 30) % 256;
    }),
  };
  const idat = encodePng(gradient);
  const raw = inflateSync(idat.subarray(41, idat.length - 16));
  const filters = Array.from({ length: 16 }, (_, y) => raw[y * 49]);
  assert.deepEqual([...new Set(filters)].sort(), [1, 2, 4], `filters per row: ${filters}`);
  assert.deepEqual(filters.slice(8), [2, 2, 2, 2, 2, 2, 2, 2], 'rows equal to the one above use Up');
  assert.deepEqual([...decodePng(idat, 'g.png')!.data], [...gradient.data]);

  const good = handMadePng(noiseImage(4, 4, 3, 1));
  assert.throws(() => decodePng(good.subarray(0, good.length - 12), 'cut.png'), { message: 'cut.png: truncated PNG (no IEND chunk)' });
  const badFilter = handMadePng(noiseImage(4, 1, 1, 2));
  const badRows = inflateSync(badFilter.subarray(41, badFilter.length - 16));
  badRows[0] = 9;
  const rebuilt = Buffer.concat([badFilter.subarray(0, 33), pngChunk('IDAT', deflateSync(badRows)), badFilter.subarray(badFilter.length - 12)]);
  assert.throws(() => decodePng(rebuilt, 'f.png'), { message: 'f.png: corrupt PNG: unknown filter type 9 in row 0' });
  const garbage = Buffer.concat([badFilter.subarray(0, 33), pngChunk('IDAT', Uint8Array.of(1, 2, 3, 4)), badFilter.subarray(badFilter.length - 12)]);
  assert.throws(() => decodePng(garbage, 'z.png'), /^Error: z\.png: corrupt PNG image data \(/);
  // 16-bit and palette PNGs go through sharp.
  const rgb = noiseImage(5, 4, 3, 5);
  const sixteen = await sharp(rgb.data, { raw: { width: 5, height: 4, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
  assert.equal(sixteen[24], 16);
  assert.equal(decodePng(sixteen, 's.png'), null);
  assert.deepEqual([...(await decodeImage(sixteen, 's.png')).data], [...rgb.data]);
  const palette = await sharp(solidImage(3, 3, [250, 10, 40]).data, { raw: { width: 3, height: 3, channels: 3 } }).png({ palette: true }).toBuffer();
  assert.equal(palette[25], 3);
  const decoded = await decodeImage(palette, 'p.png');
  assert.equal(decoded.channels, 3);
  assert.deepEqual([...decoded.data.subarray(0, 3)], [250, 10, 40]);
});

test('ZIP: our archives read in fflate; deflated, ZIP64 and corrupt archives read or fail clearly', async () => {
  const path = join(dir, 'writer.zip');
  const writer = await ZipWriter.create(path);
  await writer.add('00000/a.bin', Uint8Array.of(1, 2, 3));
  await writer.add('é.txt', strToU8('unicode name'));
  await writer.close();
  const entries = unzip(path);
  assert.deepEqual(Object.keys(entries), ['00000/a.bin', 'é.txt']);
  assert.deepEqual([...entries['00000/a.bin']], [1, 2, 3]);

  const fflatePath = join(dir, 'fflate.zip');
  writeFileSync(fflatePath, zipSync({ 'dir/': {}, 'dir/x.txt': [strToU8('x'.repeat(500)), { level: 9 }], 'y.bin': [Uint8Array.of(9, 8), { level: 0 }] }));
  const reader = await ZipReader.open(fflatePath);
  assert.deepEqual(reader.names(), ['dir/x.txt', 'y.bin']);
  assert.equal(reader.entries.get('dir/x.txt')!.method, 8);
  assert.equal(new TextDecoder().decode(await reader.read('dir/x.txt')), 'x'.repeat(500));
  assert.deepEqual([...(await reader.read('y.bin'))], [9, 8]);
  await reader.close();

  // A ZIP64 archive laid out by hand: the central directory holds 0xFFFFFFFF and the real values sit in the
  // ZIP64 extra field; the entry count comes from the ZIP64 end record.
  const data = strToU8('hello');
  const name = strToU8('a.txt');
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(45, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(5, 18);
  local.writeUInt32LE(5, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(45, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(0xffffffff, 20);
  central.writeUInt32LE(0xffffffff, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt16LE(28, 30);
  central.writeUInt32LE(0xffffffff, 42);
  const extra = Buffer.alloc(28);
  extra.writeUInt16LE(1, 0);
  extra.writeUInt16LE(24, 2);
  extra.writeBigUInt64LE(5n, 4); // uncompressed
  extra.writeBigUInt64LE(5n, 12); // compressed
  extra.writeBigUInt64LE(0n, 20); // local header offset
  const cdOffset = 30 + name.length + data.length;
  const cdSize = 46 + name.length + 28;
  const zip64End = Buffer.alloc(56);
  zip64End.writeUInt32LE(0x06064b50, 0);
  zip64End.writeBigUInt64LE(44n, 4);
  zip64End.writeBigUInt64LE(1n, 24);
  zip64End.writeBigUInt64LE(1n, 32);
  zip64End.writeBigUInt64LE(BigInt(cdSize), 40);
  zip64End.writeBigUInt64LE(BigInt(cdOffset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  const zip64Path = join(dir, 'zip64.zip');
  writeFileSync(zip64Path, Buffer.concat([local, name, data, central, name, extra, zip64End, locator, end]));
  const zip64 = await ZipReader.open(zip64Path);
  assert.deepEqual(zip64.names(), ['a.txt']);
  assert.equal(new TextDecoder().decode(await zip64.read('a.txt')), 'hello');
  await zip64.close();

  const damaged = readFileSync(path);
  damaged[30 + '00000/a.bin'.length] ^= 0xff;
  const damagedPath = join(dir, 'damaged.zip');
  writeFileSync(damagedPath, damaged);
  const broken = await ZipReader.open(damagedPath);
  await assert.rejects(broken.read('00000/a.bin'), { message: `${damagedPath}: entry 00000/a.bin: CRC-32 mismatch (corrupt archive)` });
  await broken.close();
  const notZip = join(dir, 'not.zip');
  writeFileSync(notZip, 'PK\x03\x04 but nothing else');
  await assert.rejects(ZipReader.open(notZip), { message: `${notZip}: not a ZIP archive (no end-of-central-directory record)` });
});

test('create → info → read: a folder of PNG / WebP images (box filter) becomes a stylegan2-ada-style ZIP or folder', async () => {
  const src = join(dir, 'plain');
  const a = noiseImage(8, 8, 3, 1);
  const b = noiseImage(16, 16, 3, 2);
  const c = noiseImage(8, 8, 3, 3);
  const d = noiseImage(8, 8, 1, 4);
  await writeImage(join(src, 'a.png'), a);
  await writeImage(join(src, 'b.png'), b);
  await writeImage(join(src, 'c.webp'), c, 'webp');
  await writeImage(join(src, 'sub/d.png'), d);
  await writeImage(join(src, 'sub/e.JPG'), noiseImage(8, 8, 3, 5), 'jpeg');
  writeFileSync(join(src, 'notes.txt'), 'not an image');
  const e = await decodeWithSharp(readFileSync(join(src, 'sub/e.JPG')));
  const expected = [a, blockMean(b, 2), c, grayToRgb(d), e];

  const progress: string[] = [];
  const dest = join(dir, 'plain.zip');
  const result = await createDataset({
    source: src, dest, resolution: 8, resizeFilter: 'box',
    onProgress: (p) => progress.push(`${p.done}/${p.total} ${p.written} ${p.name}`),
  });
  assert.deepEqual(result, {
    dest, kind: 'zip', count: 5, resolution: 8, channels: 3, labelled: false, classNames: null, skipped: [],
  });
  assert.deepEqual(progress, ['1/5 1 a.png', '2/5 2 b.png', '3/5 3 c.webp', '4/5 4 sub/d.png', '5/5 5 sub/e.JPG']);
  const entries = unzip(dest);
  assert.deepEqual(Object.keys(entries), [0, 1, 2, 3, 4].map(datasetImageName).concat('dataset.json'));
  assert.equal(new TextDecoder().decode(entries['dataset.json']), '{"labels": null}');
  for (let i = 0; i < 5; i++) {
    const png = await decodeWithSharp(entries[datasetImageName(i)]);
    assert.deepEqual([png.width, png.height, png.channels], [8, 8, 3]);
    assert.deepEqual([...png.data], [...expected[i].data], `image ${i}`);
  }

  const info = await datasetInfo(dest);
  assert.deepEqual(info, { path: dest, kind: 'zip', count: 5, resolution: 8, channels: 3, labelled: false, numClasses: 0, classCounts: [] });
  const folderDest = join(dir, 'plain-folder');
  await createDataset({ source: src, dest: folderDest, resolution: 8, resizeFilter: 'box' });
  assert.ok(existsSync(join(folderDest, '00000', 'img00000004.png')));
  for (const path of [dest, folderDest]) {
    const dataset = await openDataset(path);
    assert.equal(dataset.info.kind, path === dest ? 'zip' : 'folder');
    assert.equal(dataset.labels, null);
    for (let i = 0; i < 5; i++) assert.deepEqual([...(await dataset.readImage(i))], [...toChw(expected[i])], `${path} image ${i}`);
    await dataset.close();
  }
  assert.equal(datasetImageName(123456), '00123/img00123456.png');
  await assert.rejects(createDataset({ source: src, dest, resolution: 8 }), { message: `createDataset: ${dest} already exists` });
});

test('labels from sub-folder names and from an existing dataset.json', async () => {
  const src = join(dir, 'classes');
  const images = ['cat/1.png', 'cat/2.png', 'dog/1.png', 'emu/x/1.png', 'stray.png'];
  for (const [i, name] of images.entries()) await writeImage(join(src, name), noiseImage(4, 4, 3, 20 + i));
  const dest = join(dir, 'classes.zip');
  await assert.rejects(createDataset({ source: src, dest, labels: 'folders' }), (err: unknown) => {
    assert.ok(err instanceof DatasetError);
    assert.equal(
      err.message,
      `${src}: 1 of 5 images cannot be used (nothing was written; pass onError: 'skip' to leave them out):\n` +
        '  stray.png: is not inside a class sub-folder (labels from folder names)',
    );
    assert.deepEqual(err.problems, [{ name: 'stray.png', reason: 'is not inside a class sub-folder (labels from folder names)' }]);
    return true;
  });
  assert.equal(existsSync(dest), false, 'a failed run leaves no output');

  const result = await createDataset({ source: src, dest, labels: 'folders', onError: 'skip' });
  assert.equal(result.count, 4);
  assert.deepEqual(result.classNames, ['cat', 'dog', 'emu']);
  assert.deepEqual(result.skipped.map((p) => p.name), ['stray.png']);
  assert.equal(
    new TextDecoder().decode(unzip(dest)['dataset.json']),
    '{"labels": [["00000/img00000000.png", 0], ["00000/img00000001.png", 0], ["00000/img00000002.png", 1], ["00000/img00000003.png", 2]]}',
  );
  const dataset = await openDataset(dest);
  assert.deepEqual([...dataset.labels!], [0, 0, 1, 2]);
  assert.deepEqual(dataset.info.classCounts, [2, 1, 1]);
  assert.equal(dataset.info.numClasses, 3);
  await dataset.close();

  // The dataset just made is itself a source with a dataset.json: labels are carried over ('auto').
  const again = join(dir, 'classes-again');
  const copy = await createDataset({ source: dest, dest: again });
  assert.equal(copy.labelled, true);
  const reopened = await openDataset(again);
  assert.deepEqual([...reopened.labels!], [0, 0, 1, 2]);
  await reopened.close();
});

test('RGBA is composited; channels follow the first image unless given; gray datasets reject colour images by name', async () => {
  const src = join(dir, 'rgba');
  const rgba = noiseImage(4, 4, 4, 30);
  await writeImage(join(src, 'a.png'), rgba);
  await writeImage(join(src, 'b.png'), noiseImage(4, 4, 3, 31));
  for (const background of ['black', 'white'] as const) {
    const dest = join(dir, `rgba-${background}.zip`);
    const result = await createDataset({ source: src, dest, background });
    assert.equal(result.channels, 3);
    const out = await decodeWithSharp(unzip(dest)[datasetImageName(0)]);
    const bg = background === 'white' ? 255 : 0;
    const expected = Array.from({ length: 48 }, (_, i) => {
      const p = Math.floor(i / 3);
      const a = rgba.data[4 * p + 3];
      return Math.round((rgba.data[4 * p + (i % 3)] * a) / 255 + bg * (1 - a / 255));
    });
    assert.deepEqual([...out.data], expected, background);
  }

  const gray = join(dir, 'gray');
  const first = noiseImage(4, 4, 1, 40);
  const colour = noiseImage(4, 4, 3, 42);
  await writeImage(join(gray, 'a.png'), first);
  await writeImage(join(gray, 'b.png'), grayToRgb(noiseImage(4, 4, 1, 41)));
  await writeImage(join(gray, 'c.png'), colour);
  await assert.rejects(createDataset({ source: gray, dest: join(dir, 'gray.zip') }), {
    message:
      `${gray}: 1 of 3 images cannot be used (nothing was written; pass onError: 'skip' to leave them out):\n` +
      '  c.png: is a colour image, but the dataset is grayscale like its first image a.png ' +
      '(pass channels: 3 to make an RGB dataset, or channels: 1 to convert every image to gray)',
  });
  const dest = join(dir, 'gray1.zip');
  assert.equal((await createDataset({ source: gray, dest, channels: 1 })).channels, 1);
  const entries = unzip(dest);
  const out = await decodeWithSharp(entries[datasetImageName(2)]);
  assert.equal(out.channels, 1);
  assert.deepEqual([...out.data], [...convertChannels(colour, 1).data]);
  assert.deepEqual([...(await decodeWithSharp(entries[datasetImageName(0)])).data], [...first.data]);
  assert.equal((await datasetInfo(dest)).channels, 1);
});

test('bad images are reported by file name; skip mode leaves them out', async () => {
  const src = join(dir, 'bad');
  await writeImage(join(src, 'good.png'), noiseImage(8, 8, 3, 50));
  writeFileSync(join(src, 'corrupt.png'), 'this is not an image at all');
  const real = await encodeWithSharp(noiseImage(8, 8, 3, 51));
  writeFileSync(join(src, 'truncated.png'), real.subarray(0, 60));
  await writeImage(join(src, 'wide.png'), noiseImage(12, 8, 3, 52));
  const dest = join(dir, 'bad.zip');
  await assert.rejects(createDataset({ source: src, dest, resolution: 8 }), (err: unknown) => {
    assert.ok(err instanceof DatasetError);
    const lines = err.message.split('\n');
    assert.equal(lines[0], `${src}: 3 of 4 images cannot be used (nothing was written; pass onError: 'skip' to leave them out):`);
    assert.match(lines[1], /^ {2}corrupt\.png: cannot decode image \(.+\)$/);
    assert.equal(lines[2], '  truncated.png: truncated PNG (no IEND chunk)');
    assert.equal(lines[3], "  wide.png: is 12x8, not square (use transform 'center-crop' or transform 'center-crop-wide')");
    assert.equal(lines.length, 4);
    return true;
  });
  assert.equal(existsSync(dest), false);
  const skipped = await createDataset({ source: src, dest, resolution: 8, onError: 'skip' });
  assert.equal(skipped.count, 1);
  assert.deepEqual(skipped.skipped.map((p) => p.name), ['corrupt.png', 'truncated.png', 'wide.png']);

  const many = join(dir, 'many-bad');
  mkdirSync(many);
  for (let i = 0; i < 7; i++) writeFileSync(join(many, `junk${i}.png`), 'junk');
  await assert.rejects(createDataset({ source: many, dest: join(dir, 'many.zip'), resolution: 4, onError: 'skip' }), {
    message: new RegExp(`^${many}: none of the 7 images can be used:\n  junk0\\.png: `),
  });
  await assert.rejects(createDataset({ source: many, dest: join(dir, 'many.zip'), resolution: 4 }), (err: unknown) => {
    const lines = (err as Error).message.split('\n');
    assert.equal(lines[0], `${many}: 7 of 7 images cannot be used (nothing was written; pass onError: 'skip' to leave them out):`);
    assert.deepEqual(lines.slice(1, 6).map((l) => l.split(':')[0]), [0, 1, 2, 3, 4].map((i) => `  junk${i}.png`));
    assert.equal(lines[6], '  … and 2 more');
    return true;
  });

  const nonSquare = join(dir, 'nonsquare');
  const wide = noiseImage(12, 8, 3, 53);
  await writeImage(join(nonSquare, 'a.png'), wide);
  await assert.rejects(createDataset({ source: nonSquare, dest: join(dir, 'ns.zip') }), {
    message:
      "createDataset: cannot infer the resolution from the first image a.png: it is 12x8, not square (use transform 'center-crop' " +
      "or transform 'center-crop-wide'); or pass resolution",
  });
  // With a center crop the 8x8 middle is used and the resolution is inferred.
  const cropped = join(dir, 'ns-crop.zip');
  assert.equal((await createDataset({ source: nonSquare, dest: cropped, transform: 'center-crop' })).resolution, 8);
  const middle = crop(wide, { left: 2, top: 0, width: 8, height: 8 });
  assert.deepEqual([...(await decodeWithSharp(unzip(cropped)[datasetImageName(0)])).data], [...middle.data]);
  const odd = join(dir, 'odd');
  await writeImage(join(odd, 'a.png'), noiseImage(12, 12, 3, 54));
  await assert.rejects(createDataset({ source: odd, dest: join(dir, 'odd.zip') }), {
    message: 'createDataset: cannot infer the resolution from the first image a.png: its size 12x12 is not a power of two ≥ 4; pass resolution (e.g. 16)',
  });
  await assert.rejects(createDataset({ source: odd, dest: join(dir, 'odd.zip'), resolution: 12 }), {
    message: 'createDataset: resolution must be a power of two from 4 to 8192, got 12',
  });
});

test('center-crop-wide letterboxes a 2:1 crop on a square canvas', async () => {
  const src = join(dir, 'wide');
  const image = noiseImage(16, 6, 3, 60);
  await writeImage(join(src, 'a.png'), image);
  const dest = join(dir, 'wide.zip');
  await createDataset({ source: src, dest, transform: 'center-crop-wide', resolution: 8, resizeFilter: 'box', background: 'white' });
  const out = await decodeWithSharp(unzip(dest)[datasetImageName(0)]);
  // The 12x6 middle is box-shrunk to 8x4 and placed at rows 2 … 5 of a white 8x8 canvas.
  const middle = boxResize(crop(image, { left: 2, top: 0, width: 12, height: 6 }), 8, 4);
  const expected = new Uint8Array(8 * 8 * 3).fill(255);
  expected.set(middle.data, 2 * 8 * 3);
  assert.deepEqual([...out.data], [...expected]);
});

test('openDataset names files that do not fit: sizes, channels, alpha, non-power-of-two, missing labels', async () => {
  const png = async (image: TestImage) => new Uint8Array(await encodeWithSharp(image));
  const path = join(dir, 'mixed.zip');
  writeFileSync(path, zipSync({
    'a.png': await png(noiseImage(8, 8, 3, 1)),
    'b.png': await png(noiseImage(16, 16, 3, 2)),
    'c.png': await png(noiseImage(8, 8, 4, 3)),
    'd.png': await png(noiseImage(8, 8, 1, 4)),
    'e.png': await png(noiseImage(6, 6, 3, 5)),
    'f.png': await png(noiseImage(8, 8, 3, 6)),
  }));
  await assert.rejects(openDataset(path), {
    message:
      `${path}: 4 of 6 images are not valid:\n` +
      '  b.png: is 16x16 with 3 channel(s), but a.png is 8x8 with 3; all images must match\n' +
      '  c.png: has an alpha channel; dataset images must be gray or RGB (createDataset composites alpha over a background)\n' +
      '  d.png: is 8x8 with 1 channel(s), but a.png is 8x8 with 3; all images must match\n' +
      '  e.png: is 6x6; the size must be a power of two ≥ 4',
  });
  const labelled = join(dir, 'partly-labelled');
  await writeImage(join(labelled, 'a.png'), noiseImage(4, 4, 3, 7));
  await writeImage(join(labelled, 'b.png'), noiseImage(4, 4, 3, 8));
  writeFileSync(join(labelled, 'dataset.json'), '{"labels": [["a.png", 1]]}');
  await assert.rejects(openDataset(labelled), { message: `${labelled}: 1 of 2 images are not valid:\n  b.png: has no label in dataset.json` });
  writeFileSync(join(labelled, 'dataset.json'), '{"labels": [["a.png", [0.5, 1]], ["b.png", [1, 0]]]}');
  await assert.rejects(openDataset(labelled), {
    message: `${labelled}/dataset.json: label of a.png is a vector; only integer class labels are supported`,
  });
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(openDataset(empty), { message: `${empty}: contains no images (PNG, JPEG or WebP)` });
  // A PNG whose header is fine but whose pixel data is damaged fails when read, with its name.
  const intact = await png(noiseImage(4, 4, 3, 9));
  const damaged = Buffer.from(intact);
  damaged[Buffer.from(intact).indexOf('IDAT') + 6] ^= 0x55;
  const lying = join(dir, 'lying.zip');
  writeFileSync(lying, zipSync({ 'x.png': intact, 'y.png': damaged }));
  const dataset = await openDataset(lying);
  assert.equal(dataset.count, 2);
  await assert.rejects(dataset.readImage(1), { message: 'y.png: corrupt PNG: CRC mismatch in IDAT chunk' });
  await dataset.close();
});

test('datasets written like stylegan2-ada-pytorch (Python zipfile + PIL PNGs) open, and our filters match PIL', { skip: skipWithoutPil() }, async () => {
  const out = join(dir, 'python');
  mkdirSync(out);
  const ourZip64 = join(dir, 'ours64.zip');
  const writer = await ZipWriter.create(ourZip64, { forceZip64: true });
  await writer.add('x/y.bin', Uint8Array.of(5, 6, 7));
  await writer.close();
  const noise = noiseImage(37, 23, 3, 70);
  writeFileSync(join(out, 'noise.bin'), noise.data);
  runPython(
    `
import io, json, sys, zipfile
import numpy as np
from PIL import Image
out = sys.argv[1]
rng = np.random.RandomState(0)
for mode, shape in (('RGB', (8, 8, 3)), ('L', (8, 8))):
    images = rng.randint(0, 256, size=(3,) + shape).astype(np.uint8)
    images.tofile(f'{out}/{mode}.bin')
    with zipfile.ZipFile(f'{out}/{mode}.zip', mode='w', compression=zipfile.ZIP_STORED) as z:
        labels = []
        for idx, img in enumerate(images):
            s = f'{idx:08d}'
            name = f'{s[:5]}/img{s}.png'
            buf = io.BytesIO()
            Image.fromarray(img, mode).save(buf, format='png', compress_level=0, optimize=False)
            z.writestr(name, buf.getvalue())
            labels.append([name, idx * 2])
        z.writestr('dataset.json', json.dumps({'labels': labels}))
noise = np.fromfile(f'{out}/noise.bin', np.uint8).reshape(23, 37, 3)
for w, h in ((16, 16), (64, 40), (5, 9)):
    np.array(Image.fromarray(noise).resize((w, h), Image.LANCZOS)).tofile(f'{out}/lanczos{w}x{h}.bin')
np.array(Image.fromarray(noise).convert('L')).tofile(f'{out}/luma.bin')
z = zipfile.ZipFile(sys.argv[2])
assert z.testzip() is None and z.read('x/y.bin') == bytes([5, 6, 7]), 'zip64 archive unreadable'
`,
    [out, ourZip64],
  );
  for (const [mode, channels] of [['RGB', 3], ['L', 1]] as const) {
    const path = join(out, `${mode}.zip`);
    const dataset = await openDataset(path);
    assert.deepEqual(dataset.info, { path, kind: 'zip', count: 3, resolution: 8, channels, labelled: true, numClasses: 5, classCounts: [1, 0, 1, 0, 1] });
    const pixels = readFileSync(join(out, `${mode}.bin`));
    const size = 8 * 8 * channels;
    for (let i = 0; i < 3; i++) {
      const hwc = { width: 8, height: 8, channels, data: new Uint8Array(pixels.subarray(i * size, (i + 1) * size)) };
      assert.deepEqual([...(await dataset.readImage(i))], [...toChw(hwc)], `${mode} image ${i}`);
    }
    await dataset.close();
  }
  for (const [w, h] of [[16, 16], [64, 40], [5, 9]]) {
    assert.deepEqual([...lanczosResize(noise, w, h).data], [...readFileSync(join(out, `lanczos${w}x${h}.bin`))], `lanczos ${w}x${h}`);
  }
  assert.deepEqual([...convertChannels(noise, 1).data], [...readFileSync(join(out, 'luma.bin'))]);
});

test('IDX sources: labels from a given label file, checked against the image count', async () => {
  const idx = (type: number, shape: number[], values: number[]) => {
    const out = Buffer.alloc(4 + 4 * shape.length + values.length);
    out[2] = type;
    out[3] = shape.length;
    shape.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
    Buffer.from(values).copy(out, 4 + 4 * shape.length);
    return out;
  };
  const images = noiseImage(4, 12, 1, 80).data; // three 4x4 images
  const imagesPath = join(dir, 'tiny-images.idx');
  writeFileSync(imagesPath, idx(0x08, [3, 4, 4], [...images]));
  const short = join(dir, 'short-labels.idx');
  writeFileSync(short, idx(0x08, [2], [1, 0]));
  await assert.rejects(createDataset({ source: imagesPath, dest: join(dir, 'tiny.zip'), idxLabels: short }), {
    message: `${short}: has 2 labels but ${imagesPath} has 3 images`,
  });
  const labelsPath = join(dir, 'tiny-labels.idx');
  writeFileSync(labelsPath, idx(0x08, [3], [4, 0, 4]));
  const dest = join(dir, 'tiny.zip');
  const result = await createDataset({ source: imagesPath, dest, idxLabels: labelsPath });
  assert.deepEqual([result.count, result.resolution, result.channels, result.labelled], [3, 4, 1, true]);
  const entries = unzip(dest);
  assert.equal(
    new TextDecoder().decode(entries['dataset.json']),
    '{"labels": [["00000/img00000000.png", 4], ["00000/img00000001.png", 0], ["00000/img00000002.png", 4]]}',
  );
  assert.deepEqual([...(await decodeWithSharp(entries[datasetImageName(2)])).data], [...images.subarray(32, 48)]);
  await assert.rejects(createDataset({ source: imagesPath, dest: join(dir, 'tiny2.zip'), labels: 'folders' }), {
    message: `${imagesPath}: labels from folder names need a folder or ZIP source`,
  });
});

test('Fashion-MNIST: 200 images from the gzip IDX files, resized 28 → 32 with Lanczos, labels from the IDX label file', { skip: !existsSync(FASHION) && `${FASHION} is not installed` }, async () => {
  const source = join(FASHION, 't10k-images-idx3-ubyte.gz');
  const dest = join(dir, 'fashion.zip');
  const result = await createDataset({ source, dest, resolution: 32, maxImages: 200 });
  assert.equal(result.count, 200);
  assert.equal(result.channels, 1);
  assert.equal(result.labelled, true);
  const entries = unzip(dest);
  assert.equal(Object.keys(entries).length, 201);
  const labels = JSON.parse(new TextDecoder().decode(entries['dataset.json'])).labels as [string, number][];
  const labelFile = gunzipSync(readFileSync(join(FASHION, 't10k-labels-idx1-ubyte.gz')));
  assert.deepEqual(labels.map(([, l]) => l), [...labelFile.subarray(8, 208)]);
  const imageFile = gunzipSync(readFileSync(source));
  const first = { width: 28, height: 28, channels: 1, data: new Uint8Array(imageFile.subarray(16, 16 + 784)) };
  const png = await decodeWithSharp(entries[datasetImageName(0)]);
  assert.deepEqual([png.width, png.height, png.channels], [32, 32, 1]);
  assert.deepEqual([...png.data], [...lanczosResize(first, 32, 32).data]);
  const info = await datasetInfo(dest);
  assert.equal(info.numClasses, 10);
  assert.equal(info.classCounts.reduce((a, b) => a + b), 200);
});
