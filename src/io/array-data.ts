/**
 * Raw n-dimensional array data as it comes out of pickles: numpy ndarrays (and numpy scalars) and torch
 * tensors, plus the helpers that turn them into typed arrays.
 *
 * Both records keep the bytes exactly as stored in the file, little-endian, usually as a zero-copy view
 * into the file buffer. Such a view may sit at any byte offset, so a typed array over it is only made
 * directly when the offset is a multiple of the element size; otherwise the helpers copy.
 */

import type { FileBytes } from './pickle-types.js';

/** Element types found in numpy / torch pickles. */
export type DType =
  | 'float16' | 'bfloat16' | 'float32' | 'float64'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'bool';

/** Bytes per element. */
export const ITEM_SIZE: Readonly<Record<DType, number>> = {
  float16: 2, bfloat16: 2, float32: 4, float64: 8,
  int8: 1, int16: 2, int32: 4, int64: 8,
  uint8: 1, uint16: 2, uint32: 4, uint64: 8,
  bool: 1,
};

/** numpy's type codes of our dtypes (kind + item size, as in `dtype.str` without the byte order); bfloat16 has none. */
export const NUMPY_TYPE_CODE: Readonly<Partial<Record<DType, string>>> = {
  float16: 'f2', float32: 'f4', float64: 'f8',
  int8: 'i1', int16: 'i2', int32: 'i4', int64: 'i8',
  uint8: 'u1', uint16: 'u2', uint32: 'u4', uint64: 'u8',
  bool: 'b1',
};

const DTYPE_OF_NUMPY_CODE = new Map(Object.entries(NUMPY_TYPE_CODE).map(([dtype, code]) => [code, dtype as DType]));

/** The dtype of a numpy type code such as 'f4' (no byte-order character), or undefined when unsupported. */
export function dtypeOfNumpyCode(code: string): DType | undefined {
  return DTYPE_OF_NUMPY_CODE.get(code);
}

/** Reverses the bytes of every element (big-endian data to little-endian or back); returns a copy. */
export function byteSwapped(data: Uint8Array, itemSize: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i + itemSize <= data.length; i += itemSize) {
    for (let b = 0; b < itemSize; b++) out[i + b] = data[i + itemSize - 1 - b];
  }
  return out;
}

/** A numpy ndarray (or numpy scalar, which has `shape: []` and `isScalar: true`). */
export interface NdArray {
  kind: 'ndarray';
  dtype: DType;
  shape: number[];
  /**
   * Exactly `prod(shape) * ITEM_SIZE[dtype]` little-endian bytes, in C order, or in Fortran order when
   * `fortranOrder` is set. A view into the input buffer when the pickle allowed it (big-endian arrays
   * and protocol-2 `_codecs.encode` bytes are copies). Not necessarily aligned.
   */
  data: Uint8Array;
  /**
   * Set when the data was left in the file (`readPickleFile`): where it lies. `data` then reads it on first use;
   * the official importer copies it from the file straight into the network's tensors instead. Not enumerable
   * (a spread copy reads `data` and has no payload); assigning `data` removes it.
   */
  payload?: FileBytes;
  fortranOrder: boolean;
  /** True for numpy scalars such as `np.float32(0)`; false for ndarrays, including 0-d ones. */
  isScalar: boolean;
}

/** A torch storage: a flat run of `numel` elements. */
export interface TorchStorage {
  kind: 'storage';
  dtype: DType;
  numel: number;
  /** Storage key inside its file (a decimal pointer in legacy streams, an index in zip archives). */
  key: string;
  /** Device the storage was saved from, e.g. 'cpu' or 'cuda:0'. */
  location: string;
  /** `numel * ITEM_SIZE[dtype]` little-endian bytes; a view into the input when possible. */
  data: Uint8Array;
}

/** A torch tensor or nn.Parameter: a strided window onto a storage (offsets and strides in elements). */
export interface TorchTensor {
  kind: 'tensor';
  dtype: DType;
  shape: number[];
  stride: number[];
  storageOffset: number;
  storage: TorchStorage;
  requiresGrad: boolean;
  /** True when the tensor was pickled as a `torch.nn.Parameter`. */
  isParameter: boolean;
}

/** Anything the helpers below accept. */
export type ArrayRecord = NdArray | TorchTensor;

/** Typed array returned for each dtype. float16 / bfloat16 come back as their raw bits (Uint16Array). */
export type NumericArray =
  | Float32Array | Float64Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

type NumericArrayCtor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray };

const TYPED_ARRAY: Readonly<Record<DType, NumericArrayCtor>> = {
  float16: Uint16Array, bfloat16: Uint16Array, float32: Float32Array, float64: Float64Array,
  int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
  bool: Uint8Array,
};

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Number of elements of an array of this shape (1 for shape []). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Strides (in elements) of a C-contiguous array of this shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = s;
    s *= shape[d];
  }
  return stride;
}

/** Where the elements of an array record live: bytes, first element and strides, all in elements. */
interface Layout {
  dtype: DType;
  shape: readonly number[];
  stride: readonly number[];
  offset: number;
  bytes: Uint8Array;
}

function layoutOf(a: ArrayRecord): Layout {
  if (a.kind === 'tensor') {
    return { dtype: a.dtype, shape: a.shape, stride: a.stride, offset: a.storageOffset, bytes: a.storage.data };
  }
  const stride = a.fortranOrder
    ? contiguousStrides([...a.shape].reverse()).reverse()
    : contiguousStrides(a.shape);
  return { dtype: a.dtype, shape: a.shape, stride, offset: 0, bytes: a.data };
}

function isCContiguous(l: Layout): boolean {
  const c = contiguousStrides(l.shape);
  return l.shape.every((d, i) => d <= 1 || l.stride[i] === c[i]);
}

/** Largest strided array `gather` copies (strides of 0 can make tiny storages look huge). */
const MAX_COPY_BYTES = 2 ** 32;

/** Copies a strided array into C order, element by element. */
function gather(l: Layout): Uint8Array {
  const size = ITEM_SIZE[l.dtype];
  const n = elementCount(l.shape);
  if (n * size > MAX_COPY_BYTES) throw new Error(`array data: ${n} elements of ${l.dtype} are too many to copy`);
  const out = new Uint8Array(n * size);
  const nd = l.shape.length;
  const index = new Array<number>(nd).fill(0);
  let src = l.offset;
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < size; b++) out[i * size + b] = l.bytes[src * size + b];
    for (let d = nd - 1; d >= 0; d--) {
      index[d]++;
      src += l.stride[d];
      if (index[d] < l.shape[d]) break;
      src -= l.stride[d] * l.shape[d];
      index[d] = 0;
    }
  }
  return out;
}

/**
 * The elements in C order as little-endian bytes: a view (no copy) when the record is already
 * C-contiguous, else a gathered copy. Use this for checksums or to hand data to native code.
 */
export function contiguousBytes(a: ArrayRecord): Uint8Array {
  const l = layoutOf(a);
  const size = ITEM_SIZE[l.dtype];
  if (isCContiguous(l)) {
    const start = l.offset * size;
    return l.bytes.subarray(start, start + elementCount(l.shape) * size);
  }
  return gather(l);
}

/**
 * The elements in C order as a typed array of the record's dtype (see `NumericArray`). Shares memory
 * with the input buffer when the data is contiguous and aligned; copies otherwise.
 */
export function toTypedArray(a: ArrayRecord): NumericArray {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('array data: typed-array views need a little-endian host');
  let bytes = contiguousBytes(a);
  const size = ITEM_SIZE[a.dtype];
  if (bytes.byteOffset % size !== 0) bytes = bytes.slice();
  return new TYPED_ARRAY[a.dtype](bytes.buffer, bytes.byteOffset, bytes.length / size);
}

/** IEEE half-precision bits to a number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * The elements in C order converted to float32 (half, bfloat16, double and integer types are converted;
 * float32 data is shared with the input when contiguous and aligned).
 */
export function toFloat32Array(a: ArrayRecord): Float32Array {
  const values = toTypedArray(a);
  if (a.dtype === 'float32') return values as Float32Array;
  const out = new Float32Array(values.length);
  if (a.dtype === 'float16') {
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(values[i] as number);
  } else if (a.dtype === 'bfloat16') {
    const wide = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) wide[i] = (values[i] as number) << 16;
  } else {
    for (let i = 0; i < out.length; i++) out[i] = Number(values[i]);
  }
  return out;
}

/** The single value of a 0-d (or one-element) array record: a number, a bigint for 64-bit ints, or a boolean. */
export function scalarValue(a: ArrayRecord): number | bigint | boolean {
  if (elementCount(a.shape) !== 1) {
    throw new Error(`array data: expected one element, got shape [${a.shape.join(', ')}]`);
  }
  const value = toTypedArray(a)[0];
  if (a.dtype === 'bool') return value !== 0;
  if (a.dtype === 'float16') return halfToFloat(value as number);
  if (a.dtype === 'bfloat16') return new Float32Array(new Uint32Array([(value as number) << 16]).buffer)[0];
  return value;
}
