import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/io/atomic.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
  writeSafetensorsFile,
} from '../src/io/safetensors.js';
import { ITEM_SIZE, elementCount, type DType } from '../src/io/array-data.js';
import { recordArray, recordFromArray, type TensorRecord } from '../src/io/tensor-record.js';
import { ROOT, runPython, skipWithoutNumpy } from './helpers/python.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('safetensors-test');
const CHECK_TOOL = `${ROOT}tools/safetensors-check.py`;

/** A record of the given dtype and shape with deterministic bytes (bool as 0/1). */
function patterned(dtype: DType, shape: number[], seed: number): TensorRecord {
  const data = new Uint8Array(elementCount(shape) * ITEM_SIZE[dtype]);
  for (let i = 0; i < data.length; i++) data[i] = dtype === 'bool' ? (i * seed) % 3 === 0 ? 1 : 0 : (i * 97 + seed * 13) & 0xff;
  return { dtype, shape, data };
}

const SHAPES = [[2, 3], [5], [], [0, 4], [1, 2, 1, 3]];

test('round trip of every dtype, with metadata, keeps order, shapes, bytes and aligned zero-copy views', () => {
  const tensors = new Map<string, TensorRecord>();
  (Object.keys(ITEM_SIZE) as DType[]).forEach((dtype, i) => {
    tensors.set(`layer${i}.${dtype}`, patterned(dtype, SHAPES[i % SHAPES.length], i + 1));
  });
  const metadata = { format: 'pt', note: 'ünïcödé ✓', empty: '' };
  const bytes = encodeSafetensors(tensors, metadata);
  const decoded = decodeSafetensors(bytes);
  assert.deepEqual(decoded.metadata, metadata);
  assert.deepEqual([...decoded.tensors.keys()], [...tensors.keys()]);
  for (const [name, record] of tensors) {
    const got = decoded.tensors.get(name);
    assert.ok(got, name);
    assert.equal(got.dtype, record.dtype, name);
    assert.deepEqual(got.shape, record.shape, name);
    assert.deepEqual(got.data, record.data, name);
    assert.equal(got.data.buffer, bytes.buffer, `${name} is a view, not a copy`);
    assert.equal(got.data.byteOffset % ITEM_SIZE[got.dtype], 0, `${name} is aligned`);
  }
  assert.equal((8 + Number(Buffer.from(bytes).readBigUInt64LE(0))) % 8, 0, 'data buffer starts at a multiple of 8');
  // A plain object works as input too, and typed-array helpers give back the values.
  const values = new Float32Array([1.5, -2, 1e-8]);
  const again = decodeSafetensors(encodeSafetensors({ w: recordFromArray('float32', [3], values) }));
  assert.deepEqual(recordArray(again.tensors.get('w') as TensorRecord), values);
  assert.deepEqual(again.metadata, {});
});

test('the encoding matches a file assembled byte by byte from the specification', () => {
  const json = '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"step":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}';
  assert.equal(json.length, 141); // padded with 3 spaces to 144
  const expected = Buffer.concat([
    Buffer.from([144, 0, 0, 0, 0, 0, 0, 0]),
    Buffer.from(json + ' '.repeat(3), 'ascii'),
    Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // int64 -2: 8-byte items come first
    Buffer.from([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0x40]), // float32 1.0, 2.5
  ]);
  const ours = encodeSafetensors(
    {
      w: { dtype: 'float32', shape: [2], data: new Uint8Array([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0x40]) },
      step: { dtype: 'int64', shape: [], data: new Uint8Array([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) },
    },
    { format: 'pt' },
  );
  assert.deepEqual(Buffer.from(ours), expected);
  const decoded = decodeSafetensors(expected);
  assert.deepEqual(recordArray(decoded.tensors.get('w') as TensorRecord), new Float32Array([1, 2.5]));
  assert.deepEqual(recordArray(decoded.tensors.get('step') as TensorRecord), new BigInt64Array([-2n]));
});

/** A file with the given header (object or raw text) and `dataLength` data bytes. */
function fileWith(header: unknown, dataLength: number): Uint8Array {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([length, text, Buffer.alloc(dataLength)]);
}

const f32 = (shape: number[], offsets: number[]): unknown => ({ dtype: 'F32', shape, data_offsets: offsets });

test('every kind of corruption is reported with the file and tensor named', () => {
  const cases: [string, Uint8Array, string][] = [
    ['truncated length', new Uint8Array(5), 'file is 5 bytes, too short for the 8-byte header length'],
    ['header past end', fileWith({ a: f32([2], [0, 8]) }, 8).subarray(0, 30), 'header length 54 exceeds the 22 bytes after the length field'],
    ['bad JSON', fileWith('{"a": {"dtype": "F32",', 0), 'header is not valid JSON: '],
    ['not an object', fileWith('[1, 2]', 0), 'header must be a JSON object'],
    ['unknown dtype', fileWith({ a: { dtype: 'F12', shape: [1], data_offsets: [0, 4] } }, 4), `tensor 'a': unknown dtype "F12"`],
    ['bad shape', fileWith({ a: f32([2, -1], [0, 8]) }, 8), `tensor 'a': shape must contain non-negative integers, got [2,-1]`],
    ['reversed offsets', fileWith({ a: f32([0], [8, 0]) }, 8), `tensor 'a': data_offsets must be [begin, end] with 0 <= begin <= end, got [8,0]`],
    ['offsets out of range', fileWith({ a: f32([4], [0, 16]) }, 8), `tensor 'a': data_offsets [0, 16] exceed the 8-byte data buffer`],
    ['wrong size', fileWith({ a: f32([3], [0, 8]) }, 8), `tensor 'a': data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12`],
    ['overlap', fileWith({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, 12), `tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]`],
    ['gap', fileWith({ a: f32([2], [0, 8]), b: f32([2], [12, 20]) }, 20), `tensor 'b': data_offsets [12, 20] leave a gap of 4 bytes before them`],
    ['trailing bytes', fileWith({ a: f32([2], [0, 8]) }, 12), '4 bytes at the end of the data buffer belong to no tensor'],
    ['bad metadata', fileWith({ __metadata__: { n: 3 } }, 0), `__metadata__ entry 'n' must be a string, got 3`],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(
      () => decodeSafetensors(bytes, { path: 'bad.safetensors' }),
      (error: Error) => error.message.startsWith(`bad.safetensors: safetensors: ${message}`),
      what,
    );
  }
  // The same checks accept a valid file built the same way, so the cases above fail for their stated reason.
  assert.equal(decodeSafetensors(fileWith({ b: f32([1], [8, 12]), a: f32([2], [0, 8]) }, 12)).tensors.size, 2);
});

test('reading a corrupt or missing file names the path', async () => {
  const path = join(dir, 'corrupt.safetensors');
  writeFileSync(path, fileWith({ a: f32([3], [0, 8]) }, 8));
  await assert.rejects(readSafetensorsFile(path), {
    message: `${path}: safetensors: tensor 'a': data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12`,
  });
  await assert.rejects(readSafetensorsFile(join(dir, 'missing.safetensors')), /missing\.safetensors: safetensors: cannot read: ENOENT/);
});

test('the writer rejects inconsistent records before touching the file', async () => {
  const path = join(dir, 'reject.safetensors');
  const bad = { dtype: 'float32', shape: [3], data: new Uint8Array(8) } as TensorRecord;
  await assert.rejects(writeSafetensorsFile(path, { w: bad }), {
    message: `safetensors ${path}: tensor 'w': data has 8 bytes but shape [3] of float32 needs 12`,
  });
  assert.throws(() => encodeSafetensors({ w: { ...bad, dtype: 'complex64' as DType } }), /tensor 'w': unknown dtype 'complex64'/);
  assert.throws(() => encodeSafetensors({ __metadata__: patterned('uint8', [1], 1) }), /invalid tensor name '__metadata__'/);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('reject')), []);
});

test('deferred records are produced one at a time, in data order, through a reused buffer, and checked', async () => {
  const path = join(dir, 'deferred.safetensors');
  const records = { a: patterned('float32', [4, 4], 1), b: patterned('float16', [3], 2), c: patterned('int64', [2], 3) };
  const shared = new Uint8Array(64);
  const asked: string[] = [];
  const deferred = Object.fromEntries(Object.entries(records).map(([name, r]) => [name, {
    dtype: r.dtype, shape: r.shape,
    bytes: () => {
      asked.push(name);
      shared.set(r.data);
      return shared.subarray(0, r.data.length);
    },
  }]));
  await writeSafetensorsFile(path, deferred, { step: '3' });
  assert.deepEqual(asked, ['c', 'a', 'b']);
  assert.deepEqual(new Uint8Array(readFileSync(path)), encodeSafetensors(records, { step: '3' }));
  const short = { w: { dtype: 'float32' as DType, shape: [3], bytes: () => new Uint8Array(8) } };
  await assert.rejects(writeSafetensorsFile(join(dir, 'short.safetensors'), short), {
    message: `${join(dir, 'short.safetensors')}: cannot write: safetensors ${join(dir, 'short.safetensors')}: tensor 'w': data has 8 bytes but shape [3] of float32 needs 12`,
  });
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('short')), []);
});

test('files round-trip through disk and are replaced atomically, keeping the mode', async () => {
  const path = join(dir, 'model.safetensors');
  const first = { a: patterned('float32', [4, 4], 1) };
  const second = { b: patterned('float16', [3], 2), c: patterned('int64', [2], 3) };
  await writeSafetensorsFile(path, first, { step: '1' });
  chmodSync(path, 0o640);
  await writeSafetensorsFile(path, second, { step: '2' });
  const read = await readSafetensorsFile(path);
  assert.deepEqual(read.metadata, { step: '2' });
  assert.deepEqual([...read.tensors.keys()], ['b', 'c']);
  assert.deepEqual(read.tensors.get('c')?.data, second.c.data);
  assert.equal(statSync(path).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('model')), ['model.safetensors']);
});

test('a write that fails midway leaves the old file intact and no temporary file', async () => {
  const path = join(dir, 'snapshot.json');
  await writeFileAtomic(path, '{"old": true}');
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield new Uint8Array(64 * 1024).fill(0x41);
    throw new Error('disk on fire');
  }
  await assert.rejects(writeFileAtomic(path, failing()), { message: `${path}: cannot write: disk on fire` });
  assert.equal(readFileSync(path, 'utf8'), '{"old": true}');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('snapshot')), ['snapshot.json']);
});

test('a process killed with SIGKILL in the middle of a write leaves the old file intact', async () => {
  const path = join(dir, 'killed.safetensors');
  await writeSafetensorsFile(path, { a: patterned('uint8', [10], 1) });
  const before = readFileSync(path);
  const moduleUrl = new URL('../src/io/atomic.js', import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { writeFileAtomic } from ${JSON.stringify(moduleUrl)};
       async function* chunks() {
         yield new Uint8Array(1 << 20).fill(1);
         process.stdout.write('partial\\n');
         await new Promise(() => setInterval(() => {}, 1000));
       }
       await writeFileAtomic(process.env.TARGET, chunks());`,
    ],
    { env: { ...process.env, TARGET: path }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('partial') && resolve());
    child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.deepEqual(readFileSync(path), before);
  assert.equal((await readSafetensorsFile(path)).tensors.get('a')?.data.length, 10);
  // The half-written temporary file exists beside the target (proving the kill hit mid-write); the target is whole.
  const leftovers = readdirSync(dir).filter((f) => f.startsWith(`killed.safetensors.tmp-${child.pid}-`));
  assert.equal(leftovers.length, 1);
  assert.equal(statSync(join(dir, leftovers[0])).size, 1 << 20);
});

test('Python (numpy + json) reads our files, and we read its files', { skip: skipWithoutNumpy() }, async () => {
  const ours = join(dir, 'ours.safetensors');
  await writeSafetensorsFile(
    ours,
    {
      weight: recordFromArray('float32', [2, 2], new Float32Array([0.5, -1, 3.25, 1e-3])),
      half: recordFromArray('float16', [3], new Uint16Array([0x3c00, 0xc000, 0x7bff])), // 1, -2, 65504
      brain: recordFromArray('bfloat16', [2], new Uint16Array([0x3fc0, 0xc000])), // 1.5, -2
      step: recordFromArray('int64', [], new BigInt64Array([-(2n ** 40n)])),
      mask: recordFromArray('bool', [3], new Uint8Array([1, 0, 1])),
      none: recordFromArray('float64', [0, 3], new Float64Array(0)),
    },
    { written_by: 'stylegan-ts' },
  );
  assert.deepEqual(JSON.parse(runPython(CHECK_TOOL, ['read', ours], true)), {
    metadata: { written_by: 'stylegan-ts' },
    tensors: {
      weight: { dtype: 'F32', shape: [2, 2], values: [0.5, -1, 3.25, Math.fround(1e-3)] },
      half: { dtype: 'F16', shape: [3], values: [1, -2, 65504] },
      brain: { dtype: 'BF16', shape: [2], values: [1.5, -2] },
      step: { dtype: 'I64', shape: [], values: [-(2 ** 40)] },
      mask: { dtype: 'BOOL', shape: [3], values: [true, false, true] },
      none: { dtype: 'F64', shape: [0, 3], values: [] },
    },
  });

  const theirs = join(dir, 'theirs.safetensors');
  runPython(CHECK_TOOL, ['write', theirs], true);
  const read = await readSafetensorsFile(theirs);
  assert.deepEqual(read.metadata, { written_by: 'numpy' });
  const values = (name: string): unknown => recordArray(read.tensors.get(name) as TensorRecord);
  assert.deepEqual(read.tensors.get('weight')?.shape, [2, 3]);
  assert.deepEqual(values('weight'), new Float32Array([0, 0.25, 0.5, 0.75, 1, 1.25]));
  assert.deepEqual(values('bias'), new Float64Array([-1.5, 2.25]));
  assert.deepEqual(values('steps'), new BigInt64Array([1n, -2n, 3n, 2n ** 40n]));
  assert.deepEqual(values('half'), new Uint16Array([0x3800, 0xc200, 0x7bff])); // 0.5, -3, 65504
  assert.deepEqual(values('mask'), new Uint8Array([1, 0, 1]));
  assert.equal(read.tensors.get('scalar')?.dtype, 'int32');
  assert.deepEqual(read.tensors.get('scalar')?.shape, []);
  assert.deepEqual(values('scalar'), new Int32Array([7]));
  assert.deepEqual(read.tensors.get('empty')?.shape, [0, 4]);
});
