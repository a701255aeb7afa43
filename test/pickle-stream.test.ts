/**
 * Streaming reads of pickle files (`readPickleFile`): opcodes through a small window, payloads left in the file,
 * and the official import filling the networks from the file. Every result is compared with the in-memory reader
 * (`readPickle` on the whole file), and the import's peak memory is measured in a child process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../src/engine/index.js';
import {
  isRecord, isTuple, readBytes, readPickleBytes, readPickleFile, PickleError,
  type NdArray, type PickleValue, type TorchStorage,
} from '../src/io/pickle.js';
import { importOfficial } from '../src/io/import-official.js';
import { loadCheckpoint, type NetworkRole } from '../src/io/checkpoint.js';
import { fixtureBytes, fixtureFiles, MANIFEST } from './helpers/pickle-fixtures.js';
import { PYTHON, ROOT, skipWithoutNumpy } from './helpers/python.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('pickle-stream');
/** Every opcode read through a 7-byte window, every bytes payload (but empty ones) left in the file. */
const TINY = { windowBytes: 7, lazyBytesMin: 1 };

const base64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** A pickle value as plain JSON-able data, bytes and array data included (read from the file when left there). */
function plain(v: PickleValue | undefined, storages = new Map<TorchStorage, unknown>()): unknown {
  if (v instanceof Uint8Array) return { bytes: base64(v) };
  if (typeof v === 'bigint') return { int: String(v) };
  if (v instanceof Map) return { dict: [...v].map(([k, x]) => [plain(k, storages), plain(x, storages)]) };
  if (v instanceof Set) return { set: [...v].map((x) => plain(x, storages)) };
  if (Array.isArray(v)) return { [isTuple(v) ? 'tuple' : 'list']: v.map((x: PickleValue) => plain(x, storages)) };
  if (!isRecord(v)) return v;
  switch (v.kind) {
    case 'file-bytes': return { bytes: base64(readBytes(v)) };
    case 'ndarray': return { ...v, data: base64(v.data) };
    case 'tensor': return { ...v, storage: plain(v.storage, storages) };
    case 'storage': {
      if (!storages.has(v)) storages.set(v, { ...v, data: base64(v.data) });
      return storages.get(v);
    }
    case 'object': return { ...v, args: plain(v.args as PickleValue[], storages), state: plain(v.state, storages) };
    case 'persistent': return { ...v, state: plain(v.state, storages) };
    default: return { ...v };
  }
}

test('every fixture streamed through a 7-byte window with its payloads left in the file reads as in memory', async () => {
  for (const { path } of fixtureFiles()) {
    const streamed = await readPickleFile(path, TINY);
    assert.deepEqual(plain(streamed), plain(readPickleBytes(fixtureBytes(path))), path);
  }
});

test('a pickle coming through a pipe is read whole', async () => {
  const fixture = fixtureFiles().find((f) => f.fixture === 'stylegan1-32' && f.variant === '4')!.path;
  const fifo = join(dir, 'pipe.pkl');
  execFileSync('mkfifo', [fifo]);
  const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', fixture, fifo], { stdio: 'ignore' });
  const closed = new Promise((done) => writer.on('close', done));
  const value = await readPickleFile(fifo, TINY);
  assert.equal(await closed, 0);
  assert.deepEqual(plain(value), plain(readPickleBytes(fixtureBytes(fixture))));
});

test('payloads are left in the file only from lazyBytesMin bytes on; the default keeps small arrays in memory', async () => {
  const path = fixtureFiles().find((f) => f.fixture === 'stylegan1-32' && f.variant === '4')!.path;
  const payloads = async (opts: { lazyBytesMin?: number }) => {
    const value = await readPickleFile(path, opts);
    const arrays: NdArray[] = [];
    const walk = (v: PickleValue | undefined): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v instanceof Map) [...v.values()].forEach(walk);
      else if (isRecord(v) && v.kind === 'object') walk(v.state);
      else if (isRecord(v) && v.kind === 'ndarray') arrays.push(v);
    };
    walk(value);
    return arrays.filter((a) => a.payload).map((a) => a.payload!.length);
  };
  assert.deepEqual(await payloads({}), []);
  const all = await payloads({ lazyBytesMin: 1 });
  assert.ok(all.length > 50);
  assert.deepEqual(await payloads({ lazyBytesMin: 1024 }), all.filter((n) => n >= 1024));
});

test('a copy of an array record, or one given new data, no longer points into the file', async () => {
  const path = fixtureFiles().find((f) => f.fixture === 'misc' && f.variant === '4')!.path;
  const arrays = ((await readPickleFile(path, { lazyBytesMin: 1 })) as Map<PickleValue, PickleValue>).get('arrays') as Map<PickleValue, PickleValue>;
  const a = arrays.get('f32') as NdArray;
  const b = arrays.get('i32') as NdArray;
  assert.deepEqual([a.payload?.length, b.payload?.length], [24, 8]);
  const copy = { ...a };
  assert.equal(copy.payload, undefined);
  assert.deepEqual(copy.data, a.data);
  b.data = new Uint8Array(8);
  assert.equal(b.payload, undefined);
  assert.deepEqual(b.data, new Uint8Array(8));
});

test('a truncated file fails with the in-memory reader\'s message, naming the file', async () => {
  for (const { path } of fixtureFiles()) {
    const bytes = fixtureBytes(path);
    for (const keep of [0, 1, 14, 40, Math.floor(bytes.length / 3), Math.floor(bytes.length / 2), bytes.length - 1]) {
      const cut = join(dir, 'cut.pkl');
      writeFileSync(cut, bytes.subarray(0, keep));
      let expected: string | undefined;
      try {
        readPickleBytes(bytes.subarray(0, keep));
      } catch (e) {
        assert.ok(e instanceof PickleError);
        expected = `${cut}: ${e.message}`;
      }
      assert.ok(expected, `${path} cut at ${keep} fails`);
      await assert.rejects(readPickleFile(cut, TINY), { message: expected }, `${path} cut at ${keep}`);
    }
  }
});

test('array data read after the file changed is refused, naming the file', async () => {
  const path = join(dir, 'changing.pkl');
  writeFileSync(path, fixtureBytes(fixtureFiles().find((f) => f.fixture === 'misc' && f.variant === '4')!.path));
  const value = await readPickleFile(path, { lazyBytesMin: 1 }) as Map<PickleValue, PickleValue>;
  const arrays = value.get('arrays') as Map<PickleValue, PickleValue>;
  assert.deepEqual([...new Float32Array((arrays.get('f32') as NdArray).data.slice().buffer)].length, 6);
  const later = new Date(statSync(path).mtimeMs + 5000);
  utimesSync(path, later, later);
  assert.throws(() => (arrays.get('i32') as NdArray).data, { message: `${path}: pickle: the file changed after it was parsed` });
});

test('import from the file: every variable bit-exact against the in-memory import', async () => {
  const sha = (t: Tensor) => {
    const a = t.toTypedArray();
    return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
  };
  for (const { fixture, path } of fixtureFiles().filter((f) => MANIFEST.fixtures[f.fixture].kind === 'tf')) {
    const streamed = importOfficial(await readPickleFile(path, TINY), path);
    const inMemory = importOfficial(readPickleBytes(fixtureBytes(path)), path);
    try {
      for (const role of ['G', 'D', 'Gs'] as NetworkRole[]) {
        const want = inMemory[role]!.stateDict();
        const got = streamed[role]!.stateDict();
        assert.deepEqual([...got.keys()], [...want.keys()], `${fixture} ${role}`);
        for (const [name, t] of want) assert.equal(sha(got.get(name)!), sha(t), `${fixture} ${role} ${name}`);
      }
    } finally {
      streamed.dispose();
      inMemory.dispose();
    }
  }
});

/** Margin for what the import allocates besides the weights: JS objects of the parse, allocator slack, one chunk. */
const MARGIN_BYTES = 16 * 2 ** 20;

test('importing a 54 MB StyleGAN1 pickle, and writing it as a checkpoint, grows peak RSS by less than 2 × the file size + 16 MiB', { skip: skipWithoutNumpy() }, async () => {
  const path = join(dir, 'stylegan1-256.pkl');
  const checkpoint = join(dir, 'stylegan1-256.safetensors');
  execFileSync(PYTHON, [join(ROOT, 'tools', 'make-pickle-fixtures.py'), '--stylegan1', '256', '128', path], { stdio: 'ignore' });
  const child = spawnSync(process.execPath, [join(ROOT, 'dist', 'test', 'helpers', 'import-rss.js'), path, checkpoint], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const m = JSON.parse(child.stdout) as { baselineBytes: number; peakBytes: number; peakAfterSaveBytes: number; parameters: number };
  const fileBytes = statSync(path).size;
  assert.ok(fileBytes > 50e6 && fileBytes < 60e6, `file of ${fileBytes} bytes`);
  // All the networks' weights are loaded (they are most of the file), and the growth stays under the bound.
  assert.ok(m.parameters * 4 > 0.9 * fileBytes, `${m.parameters} parameters`);
  for (const [what, peak] of [['import', m.peakBytes], ['import + checkpoint', m.peakAfterSaveBytes]] as const) {
    const growth = peak - m.baselineBytes;
    assert.ok(growth < 2 * fileBytes + MARGIN_BYTES, `${what}: peak RSS grew by ${growth} bytes for a file of ${fileBytes}`);
  }
  // The checkpoint holds the same weights.
  const streamed = await loadCheckpoint(checkpoint);
  const inMemory = importOfficial(readPickleBytes(fixtureBytes(path)), path);
  try {
    for (const role of ['G', 'D', 'Gs'] as NetworkRole[]) {
      for (const [name, t] of inMemory[role]!.stateDict()) assert.ok(t.equal(streamed[role]!.stateDict().get(name)!), `${role} ${name}`);
    }
  } finally {
    inMemory.dispose();
    for (const role of ['G', 'D', 'Gs'] as NetworkRole[]) streamed[role]?.dispose();
  }
});
