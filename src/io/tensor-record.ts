/**
 * Engine-agnostic tensors as they travel through tensor files (safetensors, .npy): a dtype, a shape and the raw
 * little-endian bytes in C (row-major) order. The engine converts them to and from its own tensors. Element types
 * and sizes are those of the pickle readers (`array-data.ts`), so every reader yields the same dtype names.
 */
import { ITEM_SIZE, elementCount, toTypedArray, type DType, type NumericArray } from './array-data.js';

/** A tensor's dtype, shape and raw bytes (little-endian, C order); `data` may be a view into a larger buffer. */
export interface TensorRecord {
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

export function isDType(name: string): name is DType {
  return Object.prototype.hasOwnProperty.call(ITEM_SIZE, name);
}

/** Why `shape` is not a valid shape (an array of non-negative safe integers), or undefined when it is. */
export function shapeProblem(shape: unknown): string | undefined {
  if (!Array.isArray(shape)) return `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`;
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return `shape must contain non-negative integers, got ${JSON.stringify(shape)}`;
  }
  if (!Number.isSafeInteger(elementCount(shape))) return `shape ${JSON.stringify(shape)} has too many elements`;
  return undefined;
}

/**
 * A tensor to write whose bytes are produced only when the writer reaches it, so that a file of many tensors is never
 * held whole in memory. `bytes()` returns `elementCount(shape) × ITEM_SIZE[dtype]` bytes, which may be overwritten
 * by the next `bytes()` call of any record of the same write.
 */
export interface DeferredRecord {
  dtype: DType;
  shape: number[];
  bytes(): Uint8Array;
}

/** Checks the dtype and shape of a record before it is written; returns its byte length. */
export function assertValidLayout(record: { dtype: DType; shape: number[] }, where: string): number {
  if (!isDType(record.dtype)) throw new Error(`${where}: unknown dtype '${String(record.dtype)}'`);
  const problem = shapeProblem(record.shape);
  if (problem) throw new Error(`${where}: ${problem}`);
  return elementCount(record.shape) * ITEM_SIZE[record.dtype];
}

/** Checks that `data` has the byte length `expected` of a record of this dtype and shape. */
export function assertDataLength(record: { dtype: DType; shape: number[] }, data: Uint8Array, { expected, where }: { expected: number; where: string }): void {
  if (data.byteLength !== expected) {
    const needs = `shape [${record.shape.join(', ')}] of ${record.dtype} needs ${expected}`;
    throw new Error(`${where}: data has ${data.byteLength} bytes but ${needs}`);
  }
}

/** Checks a record before it is written; `where` names the file and tensor in the error. */
export function assertValidRecord(record: TensorRecord, where: string): void {
  const expected = assertValidLayout(record, where);
  if (!(record.data instanceof Uint8Array)) throw new Error(`${where}: data must be a Uint8Array`);
  assertDataLength(record, record.data, { expected, where });
}

/**
 * The record's elements as a typed array (float16/bfloat16 as raw Uint16 bits, bool as 0/1 bytes): a view when
 * the bytes are aligned for the element size, otherwise a copy.
 */
export function recordArray(record: TensorRecord): NumericArray {
  return toTypedArray({ kind: 'ndarray', ...record, fortranOrder: false, isScalar: false });
}

/** A record over the bytes of a typed array (no copy); checks that the sizes agree. */
export function recordFromArray(dtype: DType, shape: number[], array: NumericArray): TensorRecord {
  const record = { dtype, shape, data: new Uint8Array(array.buffer, array.byteOffset, array.byteLength) };
  assertValidRecord(record, `recordFromArray(${dtype}, [${shape.join(', ')}])`);
  return record;
}
