/**
 * NumPy's `.npy` format (versions 1.0, 2.0, 3.0): the magic `\x93NUMPY`, a major and minor version byte, the header
 * length (2 bytes little-endian in 1.0, 4 bytes in 2.0/3.0), then a Python dict literal such as
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and ended by a newline so that
 * the data start at a multiple of 64 bytes, then the raw elements.
 *
 * Supported: the numeric and boolean dtypes (`<f8 <f4 <f2 <i8 <i4 <i2 |i1 <u8 <u4 <u2 |u1 |b1`) in C order.
 * Big-endian data are byte-swapped on reading; Fortran-ordered arrays are accepted only when their memory layout
 * equals the C layout (at most one dimension longer than 1). The writer emits version 1.0 (2.0 for huge headers).
 */
import { writeFileAtomic } from './atomic.js';
import { errorPrefix, readFileBytes } from './file-bytes.js';
import { ITEM_SIZE, elementCount, type DType } from './array-data.js';
import { assertValidRecord, type TensorRecord } from './tensor-record.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGNMENT = 64;

/** The .npy type codes (kind + size) of our dtypes; bfloat16 has none. */
const TYPE_CODE: Partial<Record<DType, string>> = {
  float64: 'f8',
  float32: 'f4',
  float16: 'f2',
  int64: 'i8',
  int32: 'i4',
  int16: 'i2',
  int8: 'i1',
  uint64: 'u8',
  uint32: 'u4',
  uint16: 'u2',
  uint8: 'u1',
  bool: 'b1',
};
const DTYPE_OF_CODE = new Map(Object.entries(TYPE_CODE).map(([dtype, code]) => [code, dtype as DType]));

/** The subset of Python literals that .npy headers use. */
type PyLiteral = string | number | boolean | null | PyLiteral[] | { [key: string]: PyLiteral };

/** Parses a Python literal made of dicts, tuples, lists, strings, integers, True, False and None. */
function parsePyLiteral(text: string, fail: (message: string) => never): PyLiteral {
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const expect = (c: string): void => {
    skipSpace();
    if (text[i] !== c) fail(`header: expected '${c}' at position ${i} of ${JSON.stringify(text)}`);
    i++;
  };
  /** Items up to `close`, separated by commas, with an optional trailing comma. */
  const sequence = <T>(close: string, item: () => T): T[] => {
    const items: T[] = [];
    for (;;) {
      skipSpace();
      if (text[i] === close) break;
      items.push(item());
      skipSpace();
      if (text[i] === ',') i++;
      else if (text[i] !== close) fail(`header: expected ',' or '${close}' at position ${i} of ${JSON.stringify(text)}`);
    }
    i++;
    return items;
  };
  const value = (): PyLiteral => {
    skipSpace();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries = sequence('}', (): [string, PyLiteral] => {
        const key = value();
        if (typeof key !== 'string') fail(`header: dict keys must be strings, got ${JSON.stringify(key)}`);
        expect(':');
        return [key as string, value()];
      });
      return Object.fromEntries(entries);
    }
    if (c === '(' || c === '[') {
      i++;
      return sequence(c === '(' ? ')' : ']', value);
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0 || text.slice(i + 1, end).includes('\\')) fail(`header: unsupported string literal at position ${i}`);
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const word = /^(-?\d+)L?|^(True|False|None)/.exec(text.slice(i));
    if (!word) fail(`header: unexpected ${JSON.stringify(text.slice(i, i + 10))} at position ${i}`);
    const [token, digits, keyword] = word as RegExpExecArray;
    i += token.length;
    if (digits !== undefined) return Number(digits);
    return keyword === 'True' ? true : keyword === 'False' ? false : null;
  };
  const result = value();
  skipSpace();
  if (i !== text.length) fail(`header: unexpected text after the dict: ${JSON.stringify(text.slice(i, i + 20))}`);
  return result;
}

/** Reverses the bytes of every item (big-endian → little-endian), into a new array. */
function byteSwapped(data: Uint8Array, itemsize: number): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  for (let start = 0; start < data.byteLength; start += itemsize) {
    for (let k = 0; k < itemsize; k++) out[start + k] = data[start + itemsize - 1 - k];
  }
  return out;
}

function describeShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** Decodes a .npy file held in memory; little-endian data are a zero-copy view into `input`. */
export function decodeNpy(input: Uint8Array, options: { path?: string } = {}): TensorRecord {
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const prefix = errorPrefix('npy', options.path);
  const fail = (message: string): never => {
    throw new Error(`${prefix}: ${message}`);
  };
  if (bytes.byteLength < 10 || MAGIC.some((b, k) => bytes[k] !== b)) fail('not a .npy file (missing the \\x93NUMPY magic)');
  const [major, minor] = [bytes[6], bytes[7]];
  if (![1, 2, 3].includes(major) || minor !== 0) fail(`unsupported format version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthSize = major === 1 ? 2 : 4;
  if (bytes.byteLength < 8 + lengthSize) fail(`file is ${bytes.byteLength} bytes, too short for its header length`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthSize + headerLength;
  if (dataStart > bytes.byteLength) fail(`header length ${headerLength} exceeds the file size of ${bytes.byteLength} bytes`);
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthSize, dataStart));
  const header = parsePyLiteral(headerText, fail);
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a dict');
  const { descr, fortran_order: fortranOrder, shape } = header as Record<string, PyLiteral>;
  const keys = Object.keys(header as object).sort().join(', ');
  if (keys !== 'descr, fortran_order, shape') {
    fail(`header must have exactly the keys descr, fortran_order, shape; got ${keys}`);
  }

  if (typeof descr !== 'string') fail(`structured dtypes are not supported (descr ${JSON.stringify(descr)})`);
  const parsed = /^([<>|=]?)([a-zA-Z?])(\d*)$/.exec(descr as string);
  const [order, kind, size] = parsed ? parsed.slice(1) : ['', '', ''];
  const dtype = DTYPE_OF_CODE.get(kind + size);
  if (!dtype) {
    fail(kind === 'O' ? 'object arrays (pickled Python objects) are not supported' : `unsupported dtype '${descr}'`);
  }
  const itemsize = ITEM_SIZE[dtype as DType];

  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(`shape must be a tuple of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const dims = shape as number[];
  if (typeof fortranOrder !== 'boolean') fail(`fortran_order must be True or False, got ${JSON.stringify(fortranOrder)}`);
  if (fortranOrder && dims.filter((d) => d !== 1).length > 1 && elementCount(dims) > 0) {
    fail(`Fortran-ordered array of shape ${describeShape(dims)} is not supported; save it with np.ascontiguousarray`);
  }
  const expected = elementCount(dims) * itemsize;
  const available = bytes.byteLength - dataStart;
  if (available !== expected) {
    fail(`shape ${describeShape(dims)} of '${descr}' needs ${expected} data bytes, the file has ${available}`);
  }
  const data = bytes.subarray(dataStart);
  return { dtype: dtype as DType, shape: dims, data: order === '>' && itemsize > 1 ? byteSwapped(data, itemsize) : data };
}

/** The .npy header (magic, version, length, padded dict) for a record. */
function npyHeader(record: TensorRecord, where: string): Uint8Array {
  assertValidRecord(record, `npy ${where}`);
  const code = TYPE_CODE[record.dtype];
  if (!code) throw new Error(`npy ${where}: dtype ${record.dtype} has no .npy equivalent`);
  const descr = (ITEM_SIZE[record.dtype] === 1 ? '|' : '<') + code;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${describeShape(record.shape)}, }`;
  // The padded header (ending in a newline) makes magic + version + length field + header a multiple of 64.
  const paddedLength = (preamble: number): number =>
    Math.ceil((preamble + dict.length + 1) / ALIGNMENT) * ALIGNMENT - preamble;
  const version = paddedLength(10) <= 0xffff ? 1 : 2;
  const preamble = version === 1 ? 10 : 12;
  const padded = dict.padEnd(paddedLength(preamble) - 1, ' ') + '\n';
  const out = new Uint8Array(preamble + padded.length);
  out.set(MAGIC);
  out.set([version, 0], 6);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  out.set(new TextEncoder().encode(padded), preamble);
  return out;
}

/** Encodes a record as a .npy file in memory (C order, little-endian). */
export function encodeNpy(record: TensorRecord): Uint8Array {
  const header = npyHeader(record, '(in-memory buffer)');
  const out = new Uint8Array(header.byteLength + record.data.byteLength);
  out.set(header);
  out.set(record.data, header.byteLength);
  return out;
}

/** Writes a .npy file atomically. */
export async function writeNpyFile(path: string, record: TensorRecord): Promise<void> {
  await writeFileAtomic(path, [npyHeader(record, path), record.data]);
}

/** Reads and validates a .npy file. */
export async function readNpyFile(path: string): Promise<TensorRecord> {
  return decodeNpy(await readFileBytes(path, 'npy'), { path });
}
