/**
 * numpy in pickles: `numpy.dtype`, ndarrays (`_reconstruct` + BUILD, and protocol 5's `_frombuffer`)
 * and numpy scalars (`multiarray.scalar`). Both the numpy 1.x (`numpy.core`) and the numpy 2.x
 * (`numpy._core`) module names are accepted.
 */
import { byteSwapped, dtypeOfNumpyCode, elementCount, ITEM_SIZE, type NdArray } from './array-data.js';
import {
  describe, isBytes, isRecord, isTuple, PickleError, readBytes,
  type FileBytes, type NumpyDtype, type PickleValue,
} from './pickle-types.js';
import { latin1Encode, type GlobalDef, type GlobalEntry, type VmContext } from './pickle-vm.js';

const BYTE_ORDERS = new Set(['<', '>', '|', '=']);
const EMPTY = new Uint8Array(0);

/** A shape tuple: non-negative safe integers. */
export function shapeOf(v: PickleValue, what: string): number[] {
  if (!Array.isArray(v)) throw new PickleError(`${what} must be a tuple of ints, found ${describe(v)}`);
  return v.map((d: PickleValue) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new PickleError(`${what} must hold non-negative ints, found ${typeof d === 'number' ? d : describe(d)}`);
    }
    return d;
  });
}

/** Raw data given as bytes (maybe left in the file), or as a latin-1 str (Python 2 pickles). */
function rawBytes(v: PickleValue, what: string, ctx: VmContext): Uint8Array | FileBytes {
  if (isBytes(v)) return v;
  if (typeof v === 'string') {
    ctx.charge(v.length);
    return latin1Encode(v);
  }
  if (Array.isArray(v)) throw new PickleError(`${what}: arrays of Python objects are not supported`);
  throw new PickleError(`${what} must be bytes, found ${describe(v)}`);
}

function dtypeOf(v: PickleValue, what: string): NumpyDtype {
  if (!isRecord(v) || v.kind !== 'dtype') {
    throw new PickleError(`${what} must be a numpy dtype, found ${describe(v)}`);
  }
  return v;
}

/**
 * Checks the byte count against shape and dtype and brings the data to little-endian (big-endian data left in the
 * file is read, to be swapped).
 */
function arrayData(raw: Uint8Array | FileBytes, { shape, dtype, ctx, what }: { shape: number[]; dtype: NumpyDtype; ctx: VmContext; what: string }): Uint8Array | FileBytes {
  const size = ITEM_SIZE[dtype.dtype];
  const expected = elementCount(shape) * size;
  if (raw.length !== expected) {
    throw new PickleError(`${what} has ${raw.length} bytes of data, but shape [${shape.join(', ')}] of ${dtype.dtype} needs ${expected}`);
  }
  if (dtype.byteOrder !== '>' || size === 1) return raw;
  ctx.charge(raw.length);
  return byteSwapped(ctx.bytes(raw), size);
}

/**
 * Gives `arr` its data: bytes, or bytes left in the file, which become its `payload` and are read (once) when
 * `data` is first asked for. The payload is not enumerable, so that a copy made by spreading the record (which
 * reads the data) does not carry it; assigning `data` drops it.
 */
function setData(arr: NdArray, data: Uint8Array | FileBytes): NdArray {
  if (data instanceof Uint8Array) {
    arr.data = data;
    return arr;
  }
  let read: Uint8Array | undefined;
  Object.defineProperty(arr, 'payload', { value: data, enumerable: false, configurable: true });
  Object.defineProperty(arr, 'data', {
    enumerable: true, configurable: true,
    get: () => (read ??= readBytes(data)),
    set: (v: Uint8Array) => {
      delete arr.payload;
      Object.defineProperty(arr, 'data', { value: v, writable: true, enumerable: true, configurable: true });
    },
  });
  return arr;
}

/** `numpy.dtype(descr, align, copy)`, completed by BUILD `(version, byteorder, subarray, names, fields, …)`. */
const dtypeDef: GlobalDef = {
  call(args, ctx) {
    const descr = args[0];
    if (typeof descr !== 'string') throw new PickleError(`numpy.dtype needs a type string, found ${describe(descr)}`);
    const dtype = dtypeOfNumpyCode(descr);
    if (!dtype) throw new PickleError(`numpy dtype '${descr.slice(0, 20)}' is not supported`);
    const rec: NumpyDtype = { kind: 'dtype', dtype, byteOrder: '=' };
    ctx.onBuild(rec, (state) => {
      if (!isTuple(state) || state.length < 5) throw new PickleError(`numpy dtype state must be a tuple of at least 5 items, found ${describe(state)}`);
      const order = state[1];
      if (typeof order !== 'string' || !BYTE_ORDERS.has(order)) throw new PickleError('numpy dtype has an invalid byte order');
      if (state[2] !== null || state[3] !== null || state[4] !== null) {
        throw new PickleError('structured and sub-array numpy dtypes are not supported');
      }
      rec.byteOrder = order;
    });
    return rec;
  },
};

/** `_reconstruct(numpy.ndarray, (0,), b'b')`: an empty array, filled by BUILD `(1, shape, dtype, fortran, raw)`. */
const reconstructDef: GlobalDef = {
  call(args, ctx) {
    const cls = args[0];
    if (!isRecord(cls) || cls.kind !== 'global' || cls.module !== 'numpy' || cls.name !== 'ndarray') {
      throw new PickleError(`numpy _reconstruct can only rebuild numpy.ndarray, found ${describe(cls)}`);
    }
    const arr: NdArray = { kind: 'ndarray', dtype: 'int8', shape: [0], data: EMPTY, fortranOrder: false, isScalar: false };
    ctx.onBuild(arr, (state) => {
      if (!Array.isArray(state) || (state.length !== 5 && state.length !== 4)) {
        throw new PickleError(`numpy array state must be a tuple of 4 or 5 items, found ${describe(state)}`);
      }
      const [shapeV, dtypeV, fortranV, rawV] = state.length === 5 ? state.slice(1) : state;
      const shape = shapeOf(shapeV, 'numpy array shape');
      const dtype = dtypeOf(dtypeV, 'numpy array dtype');
      if (typeof fortranV !== 'boolean' && fortranV !== 0 && fortranV !== 1) {
        throw new PickleError(`numpy array order flag must be a bool, found ${describe(fortranV)}`);
      }
      setData(arr, arrayData(rawBytes(rawV, 'numpy array data', ctx), { shape, dtype, ctx, what: 'numpy array' }));
      arr.dtype = dtype.dtype;
      arr.shape = shape;
      arr.fortranOrder = Boolean(fortranV) && shape.length > 1;
    });
    return arr;
  },
};

/** `scalar(dtype, raw)`: a numpy scalar such as `np.float32(0.5)`. */
const scalarDef: GlobalDef = {
  call(args, ctx) {
    const dtype = dtypeOf(args[0], 'numpy scalar dtype');
    const data = arrayData(rawBytes(args[1], 'numpy scalar data', ctx), { shape: [], dtype, ctx, what: 'numpy scalar' });
    return setData({ kind: 'ndarray', dtype: dtype.dtype, shape: [], data: EMPTY, fortranOrder: false, isScalar: true }, data);
  },
};

/** Protocol 5: `_frombuffer(buffer, dtype, shape, order)` with the buffer in-band. */
const frombufferDef: GlobalDef = {
  call(args, ctx) {
    const [bufV, dtypeV, shapeV, orderV] = args;
    if (!isBytes(bufV)) throw new PickleError(`numpy _frombuffer needs bytes, found ${describe(bufV)}`);
    const dtype = dtypeOf(dtypeV, 'numpy array dtype');
    const shape = shapeOf(shapeV, 'numpy array shape');
    if (orderV !== 'C' && orderV !== 'F') throw new PickleError('numpy _frombuffer order must be C or F');
    const data = arrayData(bufV, { shape, dtype, ctx, what: 'numpy array' });
    return setData({ kind: 'ndarray', dtype: dtype.dtype, shape, data: EMPTY, fortranOrder: orderV === 'F' && shape.length > 1, isScalar: false }, data);
  },
};

/** The numpy part of the allow-list. */
export function numpyGlobals(): GlobalEntry[] {
  const entries: GlobalEntry[] = [['numpy', 'dtype', dtypeDef], ['numpy', 'ndarray', {}]];
  for (const core of ['numpy.core', 'numpy._core']) {
    entries.push(
      [`${core}.multiarray`, '_reconstruct', reconstructDef],
      [`${core}.multiarray`, 'scalar', scalarDef],
      [`${core}.numeric`, '_frombuffer', frombufferDef],
    );
  }
  return entries;
}
