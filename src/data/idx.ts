/**
 * IDX files, the array format of the MNIST family (LeCun et al.; Fashion-MNIST uses the same files).
 *
 * Layout: two zero bytes, a type byte, the number of dimensions D, then D big-endian uint32 sizes, then the
 * values in C order, big-endian. A gzip-compressed file (`.gz`, recognised by its magic bytes, not its name)
 * is decompressed first.
 *
 *   type byte: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  /** Sizes of the dimensions, outermost first (e.g. [60000, 28, 28] for MNIST images). */
  shape: number[];
  /** The values in C order, in host byte order. */
  data: IdxData;
}

const DTYPES: Record<number, { dtype: IdxDtype; bytes: number }> = {
  0x08: { dtype: 'uint8', bytes: 1 },
  0x09: { dtype: 'int8', bytes: 1 },
  0x0b: { dtype: 'int16', bytes: 2 },
  0x0c: { dtype: 'int32', bytes: 4 },
  0x0d: { dtype: 'float32', bytes: 4 },
  0x0e: { dtype: 'float64', bytes: 8 },
};

/** Whether the bytes start like gzip (1F 8B). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Whether the (decompressed) bytes start like an IDX file: 00 00, a known type byte, 1 … 255 dimensions. */
export function looksLikeIdx(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] in DTYPES && bytes[3] > 0;
}

/** Parses an IDX file already in memory (gzip allowed). `name` is used in error messages. */
export function parseIdx(fileBytes: Uint8Array, name: string): IdxArray {
  let bytes = fileBytes;
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new Error(`${name}: gzip data is corrupt (${(err as Error).message})`);
    }
  }
  if (bytes.length < 4) throw new Error(`${name}: not an IDX file (only ${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${name}: not an IDX file (magic bytes ${magic}; expected 00 00 <type> <ndim>)`);
  }
  const type = DTYPES[bytes[2]];
  if (!type) throw new Error(`${name}: unknown IDX type byte 0x${bytes[2].toString(16).padStart(2, '0')}`);
  const ndim = bytes[3];
  if (ndim === 0) throw new Error(`${name}: IDX header declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new Error(`${name}: truncated IDX header (${ndim} dimensions need ${headerBytes} bytes, file has ${bytes.length})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < ndim; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    shape.push(size);
    count *= size;
  }
  const expected = headerBytes + count * type.bytes;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'has trailing bytes';
    throw new Error(
      `${name}: IDX data ${what}: shape [${shape.join(', ')}] of ${type.dtype} needs ${expected} bytes, file has ${bytes.length}`,
    );
  }
  return { dtype: type.dtype, shape, data: readValues(view, { offset: headerBytes, count, dtype: type.dtype }) };
}

/** Reads `count` big-endian values of `dtype` starting at `offset`. */
function readValues(view: DataView, { offset, count, dtype }: { offset: number; count: number; dtype: IdxDtype }): IdxData {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'int8':
      return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/** Reads an IDX file (optionally gzip-compressed) from disk. */
export async function readIdx(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read IDX file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseIdx(bytes, path);
}
