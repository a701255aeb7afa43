import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  allowedGlobals, contiguousBytes, halfToFloat, isRecord, isTuple, pickleOps, PickleError, readPickle, readPickleBytes,
  readPickleFile, readTorchLegacy, readTorchZip, scalarValue, toFloat32Array, toTypedArray,
  type ArrayRecord, type NdArray, type PersistentObject, type PickleDict, type PickleObject, type PickleValue,
} from '../src/io/pickle.js';
import {
  fixtureBytes, FIXTURE_DIR, MANIFEST, REVIEWED_GLOBALS, type ManifestArray, type ManifestFixture,
} from './helpers/pickle-fixtures.js';

// ---------------------------------------------------------------------------------------------------
// Helpers

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Bytes from parts: numbers are single bytes, strings are ASCII text, arrays are raw bytes. */
function bytes(...parts: (number | string | Uint8Array | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
const u64 = (n: bigint): number[] => Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n));
/** SHORT_BINUNICODE of an ASCII string. */
const sbu = (s: string): (number | string)[] => [0x8c, s.length, s];
/** Protocol-4 STACK_GLOBAL of module.name. */
const stackGlobal = (module: string, name: string): (number | string)[] => [...sbu(module), ...sbu(name), 0x93];

/** Runs `f` and returns the PickleError it throws. */
function pickleError(f: () => unknown): PickleError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof PickleError, `expected a PickleError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a PickleError');
}

function asMap(v: PickleValue | undefined, what: string): PickleDict {
  assert.ok(v instanceof Map, `${what} should be a dict`);
  return v;
}

/** Maps and arrays as plain JSON-like data, for comparison with the manifest. */
function toJson(v: PickleValue | undefined): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJson(x)]));
  if (Array.isArray(v)) return v.map((x: PickleValue) => toJson(x));
  return v;
}

/** Element values as the manifest writes them: floats, ints (big ones as strings), booleans. */
function valuesOf(a: ArrayRecord): (number | string | boolean)[] {
  if (a.dtype === 'float16' || a.dtype === 'bfloat16') return [...toFloat32Array(a)];
  const typed = toTypedArray(a);
  if (a.dtype === 'bool') return [...typed].map((x) => x !== 0);
  return [...typed].map((x) => (typeof x === 'bigint' ? (BigInt.asIntN(54, x) === x ? Number(x) : String(x)) : x));
}

/** Every expected array is found, bit-exact, with the right dtype, shape and flags, and nothing else. */
function checkArrays(found: Map<string, ArrayRecord>, expected: ManifestArray[]): void {
  assert.deepEqual([...found.keys()].sort(), expected.map((a) => a.name).sort());
  for (const e of expected) {
    const a = found.get(e.name);
    assert.ok(a, e.name);
    assert.equal(a.dtype, e.dtype, e.name);
    assert.deepEqual(a.shape, e.shape, e.name);
    assert.equal(sha256(contiguousBytes(a)), e.sha256, `${e.name} checksum`);
    if (e.scalar !== undefined) assert.equal(a.kind === 'ndarray' && a.isScalar, e.scalar, `${e.name} scalar`);
    if (e.parameter !== undefined) assert.equal(a.kind === 'tensor' && a.isParameter, e.parameter, `${e.name} parameter`);
    if (e.stride !== undefined) {
      assert.ok(a.kind === 'tensor');
      assert.deepEqual(a.stride, e.stride, `${e.name} stride`);
      assert.equal(a.storageOffset, e.storage_offset, `${e.name} storage offset`);
    }
    if (e.values !== undefined) assert.deepEqual(valuesOf(a), e.values, `${e.name} values`);
  }
}

function fixture(name: string): ManifestFixture {
  const f = MANIFEST.fixtures[name];
  assert.ok(f, `fixture ${name} in manifest`);
  return f;
}

// ---------------------------------------------------------------------------------------------------
// StyleGAN1 and ProGAN TF pickles

const TF_KEYS_V3 = ['version', 'name', 'static_kwargs', 'components', 'build_module_src', 'build_func_name', 'variables'];
const TF_KEYS_V2 = ['version', 'name', 'static_kwargs', 'build_module_src', 'build_func_name', 'variables'];

/** Networks by path ('G', 'G/synthesis', …) and their variables as '<path>/<local name>'. */
function walkTfNetwork(v: PickleValue, path: string, nets: Map<string, PickleObject>, arrays: Map<string, ArrayRecord>): void {
  assert.ok(isRecord(v) && v.kind === 'object', `${path} should be a Network object`);
  nets.set(path, v);
  const state = asMap(v.state, `${path} state`);
  const variables = state.get('variables');
  assert.ok(Array.isArray(variables) && !Object.isFrozen(variables), `${path} variables should be a list`);
  for (const pair of variables) {
    assert.ok(isTuple(pair) && pair.length === 2, `${path} variables hold (name, value) tuples`);
    const [name, value] = pair;
    assert.ok(typeof name === 'string' && isRecord(value) && value.kind === 'ndarray');
    arrays.set(`${path}/${name}`, value);
  }
  const components = state.get('components');
  if (components !== undefined) {
    for (const [key, comp] of asMap(components, `${path} components`)) walkTfNetwork(comp, `${path}/${String(key)}`, nets, arrays);
  }
}

for (const name of ['stylegan1-32', 'progan-32']) {
  const fx = fixture(name);
  describe(`${name} TF pickle`, () => {
    for (const [protocol, file] of Object.entries(fx.files)) {
      test(`protocol ${protocol}: structure and every array bit-exact`, async () => {
        const top = await readPickleFile(`${FIXTURE_DIR}${file}`);
        assert.ok(isTuple(top) && top.length === 3, 'top level is tuple(G, D, Gs)');
        const nets = new Map<string, PickleObject>();
        const arrays = new Map<string, ArrayRecord>();
        top.forEach((net, i) => walkTfNetwork(net, (fx.top ?? [])[i], nets, arrays));
        assert.deepEqual([...nets.keys()], (fx.networks ?? []).map((n) => n.path));
        for (const expected of fx.networks ?? []) {
          const net = nets.get(expected.path);
          assert.ok(net);
          assert.equal(`${net.module}.${net.name}`, `${expected.module}.Network`);
          const state = asMap(net.state, 'state');
          assert.deepEqual([...state.keys()], expected.version === 3 ? TF_KEYS_V3 : TF_KEYS_V2);
          assert.equal(state.get('version'), expected.version);
          assert.equal(state.get('name'), expected.name);
          assert.equal(state.get('build_func_name'), expected.build_func_name);
          assert.deepEqual(toJson(state.get('static_kwargs')), expected.static_kwargs);
          assert.deepEqual([...(state.get('components') as PickleDict | undefined)?.keys() ?? []], expected.components);
          const variables = state.get('variables') as PickleValue[];
          assert.deepEqual(variables.map((p) => (p as PickleValue[])[0]), expected.variables, 'variables in creation order');
          assert.ok(String(state.get('build_module_src')).startsWith('# stand-in for training/networks_stylegan.py — never executed'));
        }
        checkArrays(arrays, fx.arrays);
      });
    }
  });
}

test('StyleGAN1: G and Gs have distinct components; lod is a numpy scalar or a 0-d array', () => {
  const top = readPickle(fixtureBytes(`${FIXTURE_DIR}${fixture('stylegan1-32').files['4']}`)) as PickleValue[];
  const components = (net: PickleValue): PickleDict => asMap((net as PickleObject).state, 'state').get('components') as PickleDict;
  assert.notEqual(components(top[0]).get('synthesis'), components(top[2]).get('synthesis'));
  const lod = (net: PickleValue): NdArray => ((asMap((net as PickleObject).state, 'state').get('variables') as PickleValue[])[0] as PickleValue[])[1] as NdArray;
  assert.equal(lod(top[0]).isScalar, true);
  assert.equal(lod(top[1]).isScalar, false);
  assert.deepEqual(lod(top[1]).shape, []);
  assert.equal(typeof scalarValue(lod(top[0])), 'number');
});

test('protocol 4 arrays are zero-copy views into the input; protocol 2 arrays are copies', () => {
  for (const [protocol, shared] of [['4', true], ['2', false]] as const) {
    const buf = fixtureBytes(`${FIXTURE_DIR}${fixture('progan-32').files[protocol]}`);
    const g = (readPickle(buf) as PickleValue[])[0] as PickleObject;
    const [, weight] = (asMap(g.state, 'state').get('variables') as PickleValue[])[1] as [string, NdArray];
    assert.equal(weight.data.buffer === buf.buffer, shared, `protocol ${protocol}`);
  }
});

test('the globals a StyleGAN1 pickle resolves are exactly the expected ones', () => {
  const seen = new Set<string>();
  readPickle(fixtureBytes(`${FIXTURE_DIR}${fixture('stylegan1-32').files['4']}`), { onGlobal: (m, n) => seen.add(`${m}.${n}`) });
  assert.deepEqual([...seen].sort(), ['dnnlib.tflib.network.Network', 'numpy.core.multiarray._reconstruct',
    'numpy.core.multiarray.scalar', 'numpy.dtype', 'numpy.ndarray']);
});

// ---------------------------------------------------------------------------------------------------
// stylegan2-ada container

function asPersistent(v: PickleValue | undefined, what: string): PersistentObject {
  assert.ok(isRecord(v) && v.kind === 'persistent', `${what} should be a persistent object`);
  return v;
}

/** Modules by path ('G', 'G/mapping', 'G/mapping.fc0', …) and tensors / numpy attributes by state_dict name. */
function walkModule(obj: PersistentObject, top: string, prefix: string, path: string,
  modules: Map<string, PersistentObject>, arrays: Map<string, ArrayRecord>): void {
  modules.set(path, obj);
  const dot = prefix ? `${prefix}.` : '';
  for (const key of ['_parameters', '_buffers']) {
    for (const [n, t] of asMap(obj.state.get(key), `${path} ${key}`)) {
      if (t === null) continue;
      assert.ok(isRecord(t) && t.kind === 'tensor', `${path}.${String(n)} should be a tensor`);
      arrays.set(`${top}/${dot}${String(n)}`, t);
    }
  }
  for (const [k, v] of obj.state) if (isRecord(v) && v.kind === 'ndarray') arrays.set(`${top}/${dot}${String(k)}`, v);
  for (const [n, child] of asMap(obj.state.get('_modules'), `${path} _modules`)) {
    walkModule(asPersistent(child, `${path}.${String(n)}`), top, `${dot}${String(n)}`,
      prefix ? `${path}.${String(n)}` : `${path}/${String(n)}`, modules, arrays);
  }
}

describe('stylegan2-ada container', () => {
  const fx = fixture('stylegan2ada-8');
  for (const [protocol, file] of Object.entries(fx.files)) {
    test(`protocol ${protocol}: module tree, attributes and every tensor bit-exact`, async () => {
      const top = asMap(await readPickleFile(`${FIXTURE_DIR}${file}`), 'top level');
      assert.deepEqual([...top.keys()], fx.top);
      assert.deepEqual(toJson(top.get('training_set_kwargs')), fx.training_set_kwargs);
      assert.equal(top.get('augment_pipe'), null);
      const modules = new Map<string, PersistentObject>();
      const arrays = new Map<string, ArrayRecord>();
      for (const key of ['G', 'D', 'G_ema']) walkModule(asPersistent(top.get(key), key), key, '', key, modules, arrays);
      assert.deepEqual([...modules.keys()], (fx.modules ?? []).map((m) => m.path));
      for (const expected of fx.modules ?? []) {
        const m = modules.get(expected.path);
        assert.ok(m);
        assert.equal(m.className, expected.class_name);
        assert.equal(m.version, 6);
        assert.equal(m.state.get('training'), false);
        assert.ok(m.state.get('_non_persistent_buffers_set') instanceof Set);
        const params = [...asMap(m.state.get('_parameters'), 'params')].filter(([, p]) => p !== null).map(([n]) => n);
        assert.deepEqual(params, expected.parameters, `${expected.path} parameters`);
        assert.deepEqual([...asMap(m.state.get('_buffers'), 'buffers').keys()], expected.buffers, `${expected.path} buffers`);
        assert.deepEqual([...asMap(m.state.get('_modules'), 'modules').keys()], expected.modules, `${expected.path} modules`);
        for (const [attr, value] of Object.entries(expected.attrs)) {
          assert.deepEqual(toJson(m.state.get(attr)), value, `${expected.path}.${attr}`);
        }
        assert.ok(isTuple(m.state.get('_init_args')));
        asMap(m.state.get('_init_kwargs'), '_init_kwargs');
      }
      for (const a of arrays.values()) if (a.kind === 'tensor') assert.equal(a.requiresGrad, false);
      checkArrays(arrays, fx.arrays);
      const g = asPersistent(top.get('G'), 'G');
      assert.ok(g.moduleSrc.startsWith('# stand-in for training/networks.py (stylegan2-ada-pytorch) — never executed'));
      assert.deepEqual(toJson(asMap(g.state.get('_init_kwargs'), 'kwargs').get('mapping_kwargs')), { num_layers: 2 });
    });
  }

  test('protocol 4: tensor storages are views into the input', () => {
    const buf = fixtureBytes(`${FIXTURE_DIR}${fx.files['4']}`);
    const g = asPersistent(asMap(readPickle(buf), 'top').get('G'), 'G');
    const mapping = asPersistent(asMap(g.state.get('_modules'), 'modules').get('mapping'), 'mapping');
    const wAvg = asMap(mapping.state.get('_buffers'), 'buffers').get('w_avg');
    assert.ok(isRecord(wAvg) && wAvg.kind === 'tensor');
    assert.equal(wAvg.storage.data.buffer, buf.buffer);
  });
});

// ---------------------------------------------------------------------------------------------------
// torch.save files

describe('torch.save files', () => {
  const fx = fixture('torch-save');
  for (const [variant, file] of Object.entries(fx.files)) {
    test(`${variant}: every tensor bit-exact with its strides, offsets and shared storages`, async () => {
      const top = asMap(await readPickleFile(`${FIXTURE_DIR}${file}`), 'top level');
      const arrays = new Map<string, ArrayRecord>();
      for (const [k, v] of top) if (isRecord(v) && v.kind === 'tensor') arrays.set(String(k), v);
      checkArrays(arrays, fx.arrays);
      for (const group of fx.shared_storage ?? []) {
        const storages = group.map((n) => (arrays.get(n) as { storage: unknown }).storage);
        assert.ok(storages.every((s) => s === storages[0]), `${group.join(', ')} share one storage`);
      }
      assert.deepEqual(toJson(top.get('meta')), { step: 7, names: ['a', 'b'] });
    });
  }

  test('zip: stored entries are zero-copy; readers refuse the other format', () => {
    const zip = fixtureBytes(`${FIXTURE_DIR}${fx.files.zip}`);
    const weight = asMap(readTorchZip(zip), 'top').get('weight');
    assert.ok(isRecord(weight) && weight.kind === 'tensor');
    assert.equal(weight.storage.data.buffer, zip.buffer);
    const legacy = fixtureBytes(`${FIXTURE_DIR}${fx.files.legacy}`);
    assert.equal(pickleError(() => readTorchZip(legacy)).message, 'pickle: torch zip: end of central directory not found (not a zip file?)');
    assert.equal(pickleError(() => readTorchLegacy(bytes(0x80, 2, 'K', 1, '.'))).message, 'pickle: torch legacy stream: bad magic number');
  });
});

// ---------------------------------------------------------------------------------------------------
// Everything else: Python values, numpy dtypes and layouts, protocols 2–5

describe('misc values', () => {
  const fx = fixture('misc');
  for (const [protocol, file] of Object.entries(fx.files)) {
    test(`protocol ${protocol}: values, containers, numpy arrays and scalars`, () => {
      const v = asMap(readPickleBytes(fixtureBytes(`${FIXTURE_DIR}${file}`)), 'top');
      assert.equal(v.get('none'), null);
      assert.equal(v.get('true'), true);
      assert.equal(v.get('false'), false);
      assert.deepEqual(v.get('ints'), [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31 - 1, 2 ** 31,
        Number.MAX_SAFE_INTEGER, 2n ** 53n, -(2n ** 63n), 2n ** 64n + 1n, -(2n ** 100n)]);
      assert.deepEqual(v.get('floats'), [0.5, -1e300, Infinity]);
      assert.deepEqual(v.get('strs'), ['', 'ascii', 'ünïcödé ✓', 'x'.repeat(300)]);
      const pattern = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
      assert.deepEqual(v.get('bytes'), [new Uint8Array(0), Uint8Array.from([0, 0x80, 0xff]), pattern]);
      assert.deepEqual(v.get('bytearray'), Uint8Array.from([1, 2, 0x80]));
      const tuples = v.get('tuples') as PickleValue[];
      assert.ok(isTuple(tuples) && tuples.slice(1).every((t) => isTuple(t)));
      assert.deepEqual(tuples, [1, [2, 3], [4, 5, 6], [7, 8, 9, 10], []]);
      assert.ok(!isTuple(v.get('ints')));
      assert.deepEqual(v.get('set'), new Set([1, 2, 3]));
      assert.deepEqual(v.get('frozenset'), new Set(['a']));
      assert.deepEqual([...asMap(v.get('ordered'), 'ordered')], [['b', 1], ['a', 2]]);
      assert.deepEqual(v.get('easydict'), new Map([['x', 1]]));
      const shared = v.get('shared') as PickleValue[];
      assert.equal(shared[0], shared[1], 'memoized object is shared');
      assert.deepEqual(shared[0], ['shared']);
      const keys = [...asMap(v.get('keys'), 'keys')];
      assert.deepEqual(keys, [[1, 'one'], [[2, 3], 'pair']]);
      const arrays = new Map<string, ArrayRecord>();
      for (const group of ['arrays', 'scalars']) {
        for (const [k, a] of asMap(v.get(group), group)) arrays.set(`${group}/${String(k)}`, a as ArrayRecord);
      }
      checkArrays(arrays, fx.arrays);
      assert.equal((arrays.get('arrays/fortran') as NdArray).fortranOrder, true);
      assert.equal(scalarValue(arrays.get('scalars/f64') as NdArray), Math.SQRT2);
      assert.equal(scalarValue(arrays.get('scalars/i64') as NdArray), -7n);
      assert.equal(scalarValue(arrays.get('scalars/bool') as NdArray), true);
      assert.equal(scalarValue(arrays.get('scalars/f16') as NdArray), 1.5);
    });
  }
});

test('the fixtures exercise the opcodes a loader needs', () => {
  const used = new Set<string>();
  for (const entry of Object.values(MANIFEST.fixtures)) {
    for (const file of Object.values(entry.files)) {
      const buf = fixtureBytes(`${FIXTURE_DIR}${file}`);
      if (file.endsWith('.pkl')) for (const op of pickleOps(buf)) used.add(op.name);
    }
  }
  // The five streams of a legacy torch file; the fourth holds the persistent ids.
  const legacy = fixtureBytes(`${FIXTURE_DIR}${fixture('torch-save').files.legacy}`);
  for (let start = 0, i = 0; i < 5; i++) {
    const ops = pickleOps(legacy, start);
    for (const op of ops) used.add(op.name);
    start = ops[ops.length - 1].end;
  }
  const needed = ['PROTO', 'FRAME', 'STOP', 'MARK', 'BINPUT', 'LONG_BINPUT', 'MEMOIZE', 'BINGET', 'LONG_BINGET',
    'NONE', 'NEWTRUE', 'NEWFALSE', 'BININT1', 'BININT2', 'BININT', 'LONG1', 'BINFLOAT', 'BINUNICODE',
    'SHORT_BINUNICODE', 'BINBYTES', 'SHORT_BINBYTES', 'BYTEARRAY8', 'EMPTY_TUPLE', 'TUPLE1', 'TUPLE2', 'TUPLE3',
    'TUPLE', 'EMPTY_LIST', 'APPEND', 'APPENDS', 'EMPTY_DICT', 'SETITEM', 'SETITEMS', 'EMPTY_SET', 'ADDITEMS',
    'FROZENSET', 'GLOBAL', 'STACK_GLOBAL', 'REDUCE', 'NEWOBJ', 'BUILD', 'BINPERSID'];
  assert.deepEqual(needed.filter((n) => !used.has(n)), []);
});

// ---------------------------------------------------------------------------------------------------
// Hand-built streams: the remaining opcodes and every kind of refusal

test('opcodes not produced by the fixtures', () => {
  assert.deepEqual(readPickle(bytes('(', 'K', 1, 'K', 2, 'd', '.')), new Map([[1, 2]]));
  const list = readPickle(bytes('(', 'K', 1, 'K', 2, 'l', '.'));
  assert.deepEqual(list, [1, 2]);
  assert.ok(!isTuple(list));
  assert.deepEqual(readPickle(bytes(']', 'p7\n', '0', 'g7\n', '.')), [], 'PUT / POP / GET');
  const self = readPickle(bytes(']', '2', 'a', '.')) as PickleValue[];
  assert.equal(self[0], self, 'DUP + APPEND makes a list that contains itself');
  assert.equal(readPickle(bytes('K', 5, '(', 'K', 1, 'K', 2, '1', '.')), 5, 'POP_MARK');
  assert.equal(readPickle(bytes('K', 5, '(', '0', '.')), 5, 'POP of a MARK');
  assert.deepEqual(readPickle(bytes(0x80, 4, ...stackGlobal('collections', 'OrderedDict'), ')', '}', 0x92, '.')), new Map(), 'NEWOBJ_EX');
  assert.equal(readPickle(bytes(0x8d, u64(3n), 'abc', '.')), 'abc', 'BINUNICODE8');
  assert.deepEqual(readPickle(bytes(0x8e, u64(2n), [1, 2], '.')), Uint8Array.from([1, 2]), 'BINBYTES8');
  const input = bytes(0x96, u64(2n), [1, 2], '.');
  const bytearray = readPickle(input) as Uint8Array;
  assert.deepEqual(bytearray, Uint8Array.from([1, 2]));
  assert.notEqual(bytearray.buffer, input.buffer, 'BYTEARRAY8 is a copy');
  assert.equal(readPickle(bytes(0x8b, u32(9), [1, 0, 0, 0, 0, 0, 0, 0, 0x80], '.')), 1n - (1n << 71n), 'LONG4');
  assert.equal(readPickle(bytes(0x8a, 0, '.')), 0);
  assert.equal(readPickle(bytes(0x8a, 1, 0xff, '.')), -1);
  assert.equal(readPickle(bytes(0x8a, 2, 0xff, 0x7f, '.')), 32767);
  assert.equal(readPickle(bytes('G', [0x3f, 0xf8, 0, 0, 0, 0, 0, 0], '.')), 1.5, 'BINFLOAT is big-endian');
  assert.equal(readPickle(bytes('U', 2, 0xe9, 0x41, '.')), 'éA', 'SHORT_BINSTRING is latin-1');
  assert.equal(readPickle(bytes('J', u32(-2 >>> 0), '.')), -2, 'BININT is signed');
  assert.equal(readPickle(bytes('N', '.', 'trailing garbage')), null, 'bytes after STOP are ignored');
  assert.deepEqual(readPickle(bytes(0x80, 4, 0x95, u64(2n), 'N', '.')), null, 'FRAME');
});

test('numpy arrays: byte order, dtype and size checks', () => {
  const f32 = (...v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);
  const array = (descr: string, order: string, shape: number[], raw: Uint8Array): Uint8Array => bytes(0x80, 4,
    ...stackGlobal('numpy.core.multiarray', '_reconstruct'), ...stackGlobal('numpy', 'ndarray'),
    'K', 0, 0x85, 'C', 1, 'b', 0x87, 'R',
    '(', 'K', 1, '(', ...shape.flatMap((d) => ['K', d]), 't',
    ...stackGlobal('numpy', 'dtype'), ...sbu(descr), 0x89, 0x88, 0x87, 'R',
    '(', 'K', 3, ...sbu(order), 'N', 'N', 'N', 'J', u32(0xffffffff), 'J', u32(0xffffffff), 'K', 0, 't', 'b',
    0x89, 'B', u32(raw.length), raw, 't', 'b', '.');
  const a = readPickle(array('f4', '<', [2], f32(1.5, -2))) as NdArray;
  assert.deepEqual([...toTypedArray(a)], [1.5, -2]);
  const big = readPickle(array('f4', '>', [2], f32(1.5, -2).reverse())) as NdArray;
  assert.deepEqual([...toTypedArray(big)], [-2, 1.5], 'big-endian data is byte-swapped');
  assert.match(pickleError(() => readPickle(array('f4', '<', [2], f32(1, 2).subarray(1)))).message,
    /^pickle: numpy array has 7 bytes of data, but shape \[2\] of float32 needs 8 \(at byte \d+\)$/);
  assert.match(pickleError(() => readPickle(array('U8', '<', [1], f32(0)))).message,
    /^pickle: numpy dtype 'U8' is not supported \(at byte \d+\)$/);
});

test('typed arrays: aligned data is shared, misaligned data is copied; half floats decode', () => {
  const raw = new Uint8Array(16);
  new DataView(raw.buffer).setFloat32(4, 2.5, true);
  new DataView(raw.buffer).setFloat32(9, -3, true);
  const record = (data: Uint8Array): NdArray => ({ kind: 'ndarray', dtype: 'float32', shape: [1], data, fortranOrder: false, isScalar: false });
  const aligned = toTypedArray(record(raw.subarray(4, 8)));
  assert.equal(aligned.buffer, raw.buffer);
  assert.deepEqual([...aligned], [2.5]);
  const misaligned = toTypedArray(record(raw.subarray(9, 13)));
  assert.notEqual(misaligned.buffer, raw.buffer);
  assert.deepEqual([...misaligned], [-3]);
  assert.deepEqual([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00].map(halfToFloat), [1, -2, 65504, 2 ** -24, Infinity]);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  assert.throws(() => scalarValue({ ...record(raw.subarray(0, 8)), shape: [2] }),
    { message: 'array data: expected one element, got shape [2]' });
});

test('the allow-list is exactly the reviewed list', () => {
  assert.deepEqual(allowedGlobals().sort(), [...REVIEWED_GLOBALS].sort());
  assert.deepEqual(allowedGlobals({ extraClasses: ['a.B'] }).filter((n) => !REVIEWED_GLOBALS.has(n)), ['a.B']);
});

test('globals outside the allow-list are refused by name', () => {
  assert.equal(pickleError(() => readPickle(bytes(0x80, 2, 'c', 'os\nsystem\n', 'X', u32(2), 'ls', 0x85, 'R', '.'))).message,
    "pickle: global 'os.system' is not allowed (at byte 2)");
  assert.equal(pickleError(() => readPickle(bytes("cos\nsystem\n(S'ls'\ntR."))).message,
    "pickle: global 'os.system' is not allowed (at byte 0)");
  assert.equal(pickleError(() => readPickle(bytes(0x80, 4, ...stackGlobal('builtins', 'eval'), '.'))).message,
    "pickle: global 'builtins.eval' is not allowed (at byte 18)");
  for (const name of ['posix.system', 'subprocess.Popen', 'builtins.getattr', 'builtins.__import__', 'torch.load',
    'numpy.load', 'pickle.loads', 'copyreg._reconstructor', 'dnnlib.tflib.network.Network2', 'numpy.core.multiarray.zeros']) {
    const dot = name.lastIndexOf('.');
    const stream = bytes(0x80, 4, ...stackGlobal(name.slice(0, dot), name.slice(dot + 1)), ')', 'R', '.');
    assert.match(pickleError(() => readPickle(stream)).message, new RegExp(`^pickle: global '${name.replace(/\./g, '\\.')}' is not allowed \\(at byte \\d+\\)$`));
  }
  assert.equal(pickleError(() => readPickle(bytes('c', 'a\x00b\nc\n', '.'))).message, "pickle: global 'a\\x00b.c' is not allowed (at byte 0)");
  assert.equal(pickleError(() => readPickle(bytes('i', 'os\nsystem\n', '.'))).message,
    'pickle: opcode INST creates objects the protocol-0 way, which is not supported (at byte 0)');
});

test('allowed names cannot be misused', () => {
  assert.equal(pickleError(() => readPickle(bytes('N', ')', 'R', '.'))).message, 'pickle: REDUCE needs an allowed global, found None (at byte 2)');
  assert.equal(pickleError(() => readPickle(bytes(0x80, 4, ...stackGlobal('numpy', 'ndarray'), ')', 'R', '.'))).message,
    "pickle: global 'numpy.ndarray' cannot be called (at byte 20)");
  assert.equal(pickleError(() => readPickle(bytes(']', '}', 'b', '.'))).message, 'pickle: BUILD is not supported for list (at byte 2)');
  assert.equal(pickleError(() => readPickle(bytes('N', 'Q', '.'))).message,
    'pickle: persistent id found, but this stream has no persistent storage (at byte 1)');
  const thing = bytes(0x80, 4, ...stackGlobal('mymodule', 'Thing'), ')', 0x81, '}', ...sbu('x'), 'K', 1, 's', 'b', '.');
  assert.equal(pickleError(() => readPickle(thing)).message, "pickle: global 'mymodule.Thing' is not allowed (at byte 19)");
  const obj = readPickle(thing, { extraClasses: ['mymodule.Thing'] });
  assert.deepEqual(obj, { kind: 'object', module: 'mymodule', name: 'Thing', args: [], state: new Map([['x', 1]]) });
});

test('malformed streams fail with exact messages', () => {
  const cases: [Uint8Array, string][] = [
    [bytes(0x80, 2, 'X', u32(1000), 'abc'), 'pickle: truncated input: BINUNICODE needs 1000 bytes, 3 left (at byte 2)'],
    [bytes(0x8e, u64(1n << 40n)), 'pickle: truncated input: BINBYTES8 needs 1099511627776 bytes, 0 left (at byte 0)'],
    [bytes(0x80, 4, 0x95, u64(100n), 'N', '.'), 'pickle: truncated input: FRAME needs 100 bytes, 2 left (at byte 2)'],
    [bytes('N'), 'pickle: truncated input: STOP is missing (at byte 1)'],
    [bytes(0xff), 'pickle: unknown opcode 0xff (at byte 0)'],
    [bytes('R'), 'pickle: stack underflow (at byte 0)'],
    [bytes('t', '.'), 'pickle: MARK expected on the stack (at byte 0)'],
    [bytes('(', 'N', '.'), 'pickle: STOP inside an unclosed MARK (at byte 2)'],
    [bytes('h', 5, '.'), 'pickle: memo key 5 is not defined (at byte 0)'],
    [bytes(0x80, 6, 'N', '.'), 'pickle: unsupported protocol 6 (at byte 0)'],
    [bytes('I', '1\n', '.'), 'pickle: opcode INT is a protocol-0 text opcode, which is not supported (at byte 0)'],
    [bytes(0x97, '.'), 'pickle: opcode NEXT_BUFFER needs out-of-band buffers (protocol 5), which are not supported (at byte 0)'],
    [bytes(0x8c, 2, 0xc3, 0x28, '.'), 'pickle: SHORT_BINUNICODE is not valid UTF-8 (at byte 0)'],
    [bytes('(', 'K', 1, 'd', '.'), 'pickle: DICT needs key/value pairs, found an odd number of items (at byte 3)'],
    [bytes(')', 'K', 1, 'a', '.'), 'pickle: APPEND needs a list, found tuple (at byte 3)'],
    [bytes(new Array(10_001).fill(0x28), '.'), 'pickle: MARK nesting deeper than 10000 (at byte 10000)'],
  ];
  for (const [stream, message] of cases) assert.equal(pickleError(() => readPickle(stream)).message, message);
});

test('repeating expensive work exhausts the budget instead of running long', () => {
  const text = 'a'.repeat(100_000);
  const stream = bytes(0x80, 2, 'c', '_codecs\nencode\n', 'q', 0, 'X', u32(text.length), text, 'q', 1,
    ...new Array(100).fill(['h', 0, 'h', 1, 0x85, 'R', '0']).flat(), 'N', '.');
  assert.match(pickleError(() => readPickle(stream)).message,
    /^pickle: work budget exceeded \(the input repeats expensive operations\) \(at byte \d+\)$/);
});

test('readPickleFile names the file in its errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pickle-test-'));
  const path = join(dir, 'evil.pkl');
  writeFileSync(path, bytes(0x80, 2, 'c', 'os\nsystem\n', '.'));
  await assert.rejects(readPickleFile(path), { message: `${path}: pickle: global 'os.system' is not allowed (at byte 2)` });
  await assert.rejects(readPickleFile(join(dir, 'missing.pkl')), (e: Error) => e.message.startsWith(`${join(dir, 'missing.pkl')}: pickle: cannot read the file (ENOENT`));
});
