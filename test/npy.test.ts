import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNpy, encodeNpy, readNpyFile, writeNpyFile } from '../src/io/npy.js';
import { ITEM_SIZE, type DType } from '../src/io/array-data.js';
import { recordArray, recordFromArray, type TensorRecord } from '../src/io/tensor-record.js';
import { runPython, skipWithoutNumpy } from './helpers/python.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('npy-test');
const NPY_DTYPES: DType[] = ['float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8', 'uint64', 'uint32', 'uint16', 'uint8', 'bool'];

/** A .npy file assembled by hand: magic, version, length field, header text, data. */
function npyWith(header: string, data: number[], version = 1): Uint8Array {
  const lengthField = version === 1 ? [header.length & 0xff, header.length >> 8] : [header.length & 0xff, header.length >> 8, 0, 0];
  return Uint8Array.from([0x93, ...Buffer.from('NUMPY'), version, 0, ...lengthField, ...Buffer.from(header, 'latin1'), ...data]);
}

test('round trip of every .npy dtype and of scalar, empty and 4-d shapes', () => {
  const shapes = [[2, 3], [], [0, 5], [1, 2, 1, 2], [7]];
  NPY_DTYPES.forEach((dtype, i) => {
    const shape = shapes[i % shapes.length];
    const data = Uint8Array.from({ length: shape.reduce((n, d) => n * d, 1) * ITEM_SIZE[dtype] }, (_, k) =>
      dtype === 'bool' ? k % 2 : (k * 31 + i) & 0xff,
    );
    const bytes = encodeNpy({ dtype, shape, data });
    const back = decodeNpy(bytes);
    assert.deepEqual(back, { dtype, shape, data }, dtype);
    assert.equal(back.data.byteOffset % 64, 0, `${dtype}: data start at a multiple of 64`);
  });
});

test('the encoding matches the format description byte for byte', () => {
  const record = recordFromArray('float32', [2], new Float32Array([1, 2.5]));
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  assert.equal(dict.length, 57); // 10 + 57 + newline > 64: padded to 128 bytes before the data
  const expected = npyWith(dict.padEnd(117, ' ') + '\n', [0, 0, 0x80, 0x3f, 0, 0, 0x20, 0x40]);
  assert.deepEqual(encodeNpy(record), expected);
});

test('hand-written headers: versions 2.0 and 3.0, Python 2 longs, big-endian data, trivial Fortran order', () => {
  const v2 = decodeNpy(npyWith("{'descr':'<i2','fortran_order':False,'shape':(3,)}\n", [1, 0, 2, 0, 0xff, 0xff], 2));
  assert.deepEqual(recordArray(v2), new Int16Array([1, 2, -1]));
  const v3 = decodeNpy(npyWith("{'descr': '|u1', 'shape': (2L, 1L), 'fortran_order': False}", [7, 9], 3));
  assert.deepEqual(v3, { dtype: 'uint8', shape: [2, 1], data: new Uint8Array([7, 9]) });
  const big = decodeNpy(npyWith("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }\n", [0, 0, 1, 2, 0xff, 0xff, 0xff, 0xfe]));
  assert.deepEqual(recordArray(big), new Int32Array([258, -2]));
  const column = decodeNpy(npyWith("{'descr': '<u2', 'fortran_order': True, 'shape': (1, 3), }\n", [1, 0, 2, 0, 3, 0]));
  assert.deepEqual(column.shape, [1, 3]);
  assert.deepEqual(recordArray(column), new Uint16Array([1, 2, 3]));
});

test('bad files and unsupported arrays give errors naming the file', () => {
  const header = (descr: string, shape = '(2,)', fortran = 'False'): string =>
    `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;
  const cases: [string, Uint8Array, string][] = [
    ['magic', Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x58, 1, 0, 0, 0]), 'not a .npy file (missing the \\x93NUMPY magic)'],
    ['version', npyWith(header('<f4'), [], 4), 'unsupported format version 4.0'],
    ['header length', npyWith(header('<f4'), []).subarray(0, 40), 'header length 58 exceeds the file size of 40 bytes'],
    ['syntax', npyWith("{'descr': '<f4' 'shape': (2,)}", []), `header: expected ',' or '}' at position 16 of "{'descr': '<f4' 'shape': (2,)}"`],
    ['keys', npyWith("{'descr': '<f4', 'shape': (2,), }", []), 'header must have exactly the keys descr, fortran_order, shape; got descr, shape'],
    ['dtype', npyWith(header('<c8'), []), "unsupported dtype '<c8'"],
    ['object', npyWith(header('|O'), []), 'object arrays (pickled Python objects) are not supported'],
    ['structured', npyWith("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }", []), 'structured dtypes are not supported (descr [["x","<f4"]])'],
    ['shape', npyWith(header('<f4', '(2, -1)'), []), 'shape must be a tuple of non-negative integers, got [2,-1]'],
    ['fortran', npyWith(header('<f4', '(2, 3)', 'True'), new Array(24).fill(0)), 'Fortran-ordered array of shape (2, 3) is not supported; save it with np.ascontiguousarray'],
    ['short data', npyWith(header('<f4'), [0, 0, 0, 0]), "shape (2,) of '<f4' needs 8 data bytes, the file has 4"],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(() => decodeNpy(bytes, { path: 'bad.npy' }), { message: `bad.npy: npy: ${message}` }, what);
  }
  assert.throws(() => encodeNpy({ dtype: 'bfloat16', shape: [1], data: new Uint8Array(2) }), {
    message: 'npy (in-memory buffer): dtype bfloat16 has no .npy equivalent',
  });
});

test('files are written atomically and read back; a missing file is named', async () => {
  const path = join(dir, 'w.npy');
  const record = recordFromArray('float64', [3], new Float64Array([Math.PI, -0, 5e-324]));
  await writeNpyFile(path, record);
  assert.deepEqual(await readNpyFile(path), record);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('w.npy')), ['w.npy']);
  await assert.rejects(readNpyFile(join(dir, 'nope.npy')), /^Error: .*nope\.npy: npy: cannot read: ENOENT/);
});

test('numpy reads the files we write', { skip: skipWithoutNumpy() }, async () => {
  const records: Record<string, TensorRecord> = {
    f4: recordFromArray('float32', [2, 3], new Float32Array([0.5, -1, 2.25, 1e-3, 3e38, -0])),
    f8: recordFromArray('float64', [], new Float64Array([Math.E])),
    f2: recordFromArray('float16', [3], new Uint16Array([0x3c00, 0xc000, 0x7bff])),
    i8: recordFromArray('int64', [2, 1], new BigInt64Array([-(2n ** 40n), 5n])),
    i1: recordFromArray('int8', [2], new Int8Array([-128, 127])),
    u2: recordFromArray('uint16', [2], new Uint16Array([65535, 1])),
    b1: recordFromArray('bool', [1, 3], new Uint8Array([1, 0, 1])),
    empty: recordFromArray('float32', [0, 3], new Float32Array(0)),
  };
  for (const [name, record] of Object.entries(records)) await writeNpyFile(join(dir, `${name}.npy`), record);
  const printed = runPython(
    `import json, sys, numpy as np
out = {}
for name in sys.argv[2:]:
    a = np.load(f'{sys.argv[1]}/{name}.npy')
    out[name] = [a.dtype.str, list(a.shape), bool(a.flags.c_contiguous), a.ravel().tolist()]
print(json.dumps(out))`,
    [dir, ...Object.keys(records)],
  );
  assert.deepEqual(JSON.parse(printed), {
    f4: ['<f4', [2, 3], true, [0.5, -1, 2.25, Math.fround(1e-3), Math.fround(3e38), -0]],
    f8: ['<f8', [], true, [Math.E]],
    f2: ['<f2', [3], true, [1, -2, 65504]],
    i8: ['<i8', [2, 1], true, [-(2 ** 40), 5]],
    i1: ['|i1', [2], true, [-128, 127]],
    u2: ['<u2', [2], true, [65535, 1]],
    b1: ['|b1', [1, 3], true, [true, false, true]],
    empty: ['<f4', [0, 3], true, []],
  });
});

test('we read the files numpy writes, including versions 2.0/3.0, big-endian and Fortran order', { skip: skipWithoutNumpy() }, async () => {
  runPython(
    `import sys, numpy as np
from numpy.lib import format as fmt
d = sys.argv[1]
np.save(f'{d}/np_f4.npy', (np.arange(6, dtype='<f4').reshape(2, 3) - 2.5) / 4)
np.save(f'{d}/np_f8.npy', np.array([np.pi, -1e300, 5e-324]))
np.save(f'{d}/np_f2.npy', np.array([0.5, -3, 65504], dtype='<f2'))
np.save(f'{d}/np_i8.npy', np.array([[-(2**40), 7]], dtype='<i8'))
np.save(f'{d}/np_i4.npy', np.array(-7, dtype='<i4'))
np.save(f'{d}/np_u1.npy', np.arange(250, 256, dtype='u1').reshape(3, 2, 1))
np.save(f'{d}/np_b1.npy', np.array([True, False, True]))
np.save(f'{d}/np_be.npy', np.array([1.5, -2.0, 3.25], dtype='>f4'))
np.save(f'{d}/np_fortran.npy', np.asfortranarray(np.arange(6, dtype='<i4').reshape(2, 3)))
for version in (2, 3):
    with open(f'{d}/np_v{version}.npy', 'wb') as f:
        fmt.write_array(f, np.arange(3, dtype='<u4') * 1000000000, version=(version, 0))`,
    [dir],
  );
  const read = async (name: string): Promise<TensorRecord> => readNpyFile(join(dir, `${name}.npy`));
  const values = async (name: string): Promise<unknown> => recordArray(await read(name));
  assert.deepEqual((await read('np_f4')).shape, [2, 3]);
  assert.deepEqual(await values('np_f4'), new Float32Array([-0.625, -0.375, -0.125, 0.125, 0.375, 0.625]));
  assert.deepEqual(await values('np_f8'), new Float64Array([Math.PI, -1e300, 5e-324]));
  assert.deepEqual(await values('np_f2'), new Uint16Array([0x3800, 0xc200, 0x7bff]));
  assert.deepEqual(await values('np_i8'), new BigInt64Array([-(2n ** 40n), 7n]));
  assert.deepEqual(await read('np_i4'), { dtype: 'int32', shape: [], data: new Uint8Array([0xf9, 0xff, 0xff, 0xff]) });
  assert.deepEqual(await read('np_u1'), { dtype: 'uint8', shape: [3, 2, 1], data: new Uint8Array([250, 251, 252, 253, 254, 255]) });
  assert.deepEqual(await read('np_b1'), { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) });
  assert.deepEqual(await values('np_be'), new Float32Array([1.5, -2, 3.25]));
  assert.deepEqual(await values('np_v2'), new Uint32Array([0, 1e9, 2e9]));
  assert.deepEqual(await values('np_v3'), new Uint32Array([0, 1e9, 2e9]));
  await assert.rejects(read('np_fortran'), {
    message: `${join(dir, 'np_fortran.npy')}: npy: Fortran-ordered array of shape (2, 3) is not supported; save it with np.ascontiguousarray`,
  });
});
