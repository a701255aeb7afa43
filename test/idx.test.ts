import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseIdx, readIdx } from '../src/data/idx.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('idx-test');
const FASHION = '/usr/share/datasets/fashion-mnist';

/** An IDX file laid out by hand: 00 00 <type> <ndim>, big-endian uint32 sizes, big-endian values. */
function idxBytes(type: number, shape: number[], values: number[], write: (b: Buffer, v: number, at: number) => number): Buffer {
  const size = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[type]!;
  const out = Buffer.alloc(4 + 4 * shape.length + size * values.length);
  out[2] = type;
  out[3] = shape.length;
  shape.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  values.forEach((v, i) => write(out, v, 4 + 4 * shape.length + size * i));
  return out;
}

test('uint8 IDX file: header, shape and values; gzip is recognised by its magic bytes', async () => {
  const values = Array.from({ length: 24 }, (_, i) => (i * 37) % 256);
  const bytes = idxBytes(0x08, [2, 3, 4], values, (b, v, at) => b.writeUInt8(v, at));
  assert.deepEqual([...bytes.subarray(0, 8)], [0, 0, 8, 3, 0, 0, 0, 2]);
  const plain = join(dir, 'tiny-idx3-ubyte');
  const gz = join(dir, 'tiny-idx3-ubyte.gz');
  writeFileSync(plain, bytes);
  writeFileSync(gz, gzipSync(bytes));
  for (const path of [plain, gz]) {
    const idx = await readIdx(path);
    assert.equal(idx.dtype, 'uint8');
    assert.deepEqual(idx.shape, [2, 3, 4]);
    assert.ok(idx.data instanceof Uint8Array);
    assert.deepEqual([...idx.data], values);
  }
});

test('multi-byte IDX types are big-endian and come back in host order', () => {
  const cases: [number, string, number[], (b: Buffer, v: number, at: number) => number][] = [
    [0x09, 'int8', [-128, -1, 0, 127], (b, v, at) => b.writeInt8(v, at)],
    [0x0b, 'int16', [-32768, -2, 258, 32767], (b, v, at) => b.writeInt16BE(v, at)],
    [0x0c, 'int32', [-2147483648, -3, 16909060, 2147483647], (b, v, at) => b.writeInt32BE(v, at)],
    [0x0d, 'float32', [-1.5, 0.25, 3.4028234663852886e38, 1e-45], (b, v, at) => b.writeFloatBE(v, at)],
    [0x0e, 'float64', [-0.1, Math.PI, 1e300, -5e-324], (b, v, at) => b.writeDoubleBE(v, at)],
  ];
  for (const [type, dtype, values, write] of cases) {
    const idx = parseIdx(idxBytes(type, [2, 2], values, write), `t.${dtype}`);
    assert.equal(idx.dtype, dtype);
    assert.deepEqual(idx.shape, [2, 2]);
    const expected = dtype === 'float32' ? values.map(Math.fround) : values;
    assert.deepEqual([...idx.data], expected, dtype);
  }
});

test('bad IDX files are rejected with the file name and the problem', () => {
  const good = idxBytes(0x08, [2, 2], [1, 2, 3, 4], (b, v, at) => b.writeUInt8(v, at));
  assert.throws(() => parseIdx(Buffer.from('PK\x03\x04rest'), 'a.idx'), {
    message: 'a.idx: not an IDX file (magic bytes 50 4b 03 04; expected 00 00 <type> <ndim>)',
  });
  assert.throws(() => parseIdx(Buffer.from([0, 0, 0x0a, 1, 0, 0, 0, 1, 5]), 'b.idx'), { message: 'b.idx: unknown IDX type byte 0x0a' });
  assert.throws(() => parseIdx(good.subarray(0, 10), 'c.idx'), {
    message: 'c.idx: truncated IDX header (2 dimensions need 12 bytes, file has 10)',
  });
  assert.throws(() => parseIdx(good.subarray(0, 14), 'd.idx'), {
    message: 'd.idx: IDX data truncated: shape [2, 2] of uint8 needs 16 bytes, file has 14',
  });
  assert.throws(() => parseIdx(Buffer.concat([good, Buffer.from([9])]), 'e.idx'), {
    message: 'e.idx: IDX data has trailing bytes: shape [2, 2] of uint8 needs 16 bytes, file has 17',
  });
  assert.throws(() => parseIdx(Buffer.from([0, 0]), 'f.idx'), { message: 'f.idx: not an IDX file (only 2 bytes)' });
  assert.throws(() => parseIdx(Buffer.from([0, 0, 8, 0]), 'g.idx'), { message: 'g.idx: IDX header declares 0 dimensions' });
  const corruptGzip = gzipSync(good).subarray(0, 12);
  assert.throws(() => parseIdx(corruptGzip, 'h.idx.gz'), /^Error: h\.idx\.gz: gzip data is corrupt \(/);
});

test('readIdx names a missing file', async () => {
  const path = join(dir, 'missing-idx1-ubyte');
  await assert.rejects(readIdx(path), { message: `${path}: cannot read IDX file (ENOENT)` });
});

test('Fashion-MNIST test labels read from the installed gzip file', { skip: !existsSync(FASHION) && `${FASHION} is not installed` }, async () => {
  const labels = await readIdx(join(FASHION, 't10k-labels-idx1-ubyte.gz'));
  assert.equal(labels.dtype, 'uint8');
  assert.deepEqual(labels.shape, [10000]);
  // The first ten test labels (ankle boot, pullover, trouser, trouser, shirt, trouser, coat, shirt, sandal, sneaker).
  assert.deepEqual([...labels.data.subarray(0, 10)], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
});
