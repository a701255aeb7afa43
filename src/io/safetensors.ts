/**
 * The safetensors file format (Hugging Face): an 8-byte little-endian unsigned header length N, N bytes of UTF-8
 * JSON, then the data buffer. The JSON maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}`
 * (offsets relative to the data buffer) and may hold `__metadata__`, a string→string map. The tensors must tile
 * the data buffer exactly: no gaps, no overlaps, nothing left over. The header is padded with spaces so that the
 * data buffer starts at a multiple of 8 bytes.
 *
 * The writer lays the data out by decreasing element size (keeping the header in the caller's order), so every
 * tensor starts at a multiple of its element size and can be viewed as a typed array without copying.
 */
import { writeFileAtomic } from './atomic.js';
import { concatArrays } from './concat.js';
import { errorPrefix, readFileBytes } from './file-bytes.js';
import { MAX_NESTING, nestsDeeperThan } from './limits.js';
import { ITEM_SIZE, elementCount, type DType } from './array-data.js';
import {
  assertDataLength, assertValidLayout, assertValidRecord, shapeProblem, type DeferredRecord, type TensorRecord,
} from './tensor-record.js';

/** safetensors dtype codes ↔ our dtype names. */
const FILE_DTYPE: Record<DType, string> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint64: 'U64',
  uint32: 'U32',
  uint16: 'U16',
  uint8: 'U8',
  bool: 'BOOL',
};
const DTYPE_OF_CODE = new Map(Object.entries(FILE_DTYPE).map(([dtype, code]) => [code, dtype as DType]));

const METADATA_KEY = '__metadata__';
/** Largest header accepted when reading (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

export type TensorMap = Map<string, TensorRecord> | Record<string, TensorRecord>;
/** What `writeSafetensorsFile` writes: records, or deferred records whose bytes are produced as they are written. */
export type WritableTensorMap = Map<string, TensorRecord | DeferredRecord> | Record<string, TensorRecord | DeferredRecord>;

export interface SafetensorsContents {
  /** The tensors in header order; their `data` are views into the decoded buffer. */
  tensors: Map<string, TensorRecord>;
  /** The `__metadata__` map, empty when the file has none. */
  metadata: Record<string, string>;
}

function entriesOf(tensors: WritableTensorMap): [string, TensorRecord | DeferredRecord][] {
  return tensors instanceof Map ? [...tensors] : Object.entries(tensors);
}

function isDeferred(r: TensorRecord | DeferredRecord): r is DeferredRecord {
  return typeof (r as Partial<DeferredRecord>).bytes === 'function';
}

/**
 * The file as chunks: header (length + padded JSON), then each tensor's bytes in data order. Everything is checked
 * before the first chunk is made; a deferred record's bytes are produced when its chunk is taken.
 */
function safetensorsChunks(tensors: WritableTensorMap, metadata: Record<string, string> | undefined, where: string): Iterable<Uint8Array> {
  const entries = entriesOf(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new Error(`safetensors ${where}: metadata '${key}' must be a string, got ${typeof value}`);
      }
    }
    header[METADATA_KEY] = metadata;
  }
  const lengths = new Map<string, number>();
  for (const [name, record] of entries) {
    if (name === METADATA_KEY || name === '') throw new Error(`safetensors ${where}: invalid tensor name '${name}'`);
    const what = `safetensors ${where}: tensor '${name}'`;
    if (isDeferred(record)) {
      lengths.set(name, assertValidLayout(record, what));
    } else {
      assertValidRecord(record, what);
      lengths.set(name, record.data.byteLength);
    }
  }
  // Stable sort by decreasing element size: each tensor's offset is then a multiple of its element size.
  const dataOrder = [...entries].sort(([, a], [, b]) => ITEM_SIZE[b.dtype] - ITEM_SIZE[a.dtype]);
  const offsets = new Map<string, [number, number]>();
  let offset = 0;
  for (const [name] of dataOrder) {
    offsets.set(name, [offset, offset + lengths.get(name)!]);
    offset += lengths.get(name)!;
  }
  for (const [name, record] of entries) {
    header[name] = { dtype: FILE_DTYPE[record.dtype], shape: record.shape, data_offsets: offsets.get(name) };
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const paddedLength = Math.ceil(json.byteLength / 8) * 8;
  const head = Buffer.alloc(8 + paddedLength, 0x20);
  head.writeBigUInt64LE(BigInt(paddedLength), 0);
  json.copy(head, 8);
  return (function* chunks() {
    yield head;
    for (const [name, record] of dataOrder) {
      if (!isDeferred(record)) {
        yield record.data;
        continue;
      }
      const data = record.bytes();
      assertDataLength(record, data, { expected: lengths.get(name)!, where: `safetensors ${where}: tensor '${name}'` });
      yield data;
    }
  })();
}

/** Encodes tensors (and optional string metadata) as a safetensors file in memory. */
export function encodeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array {
  return concatArrays([...safetensorsChunks(tensors, metadata, '(in-memory buffer)')]);
}

/**
 * Writes a safetensors file atomically (a crash leaves the previous file intact). Deferred records are asked for
 * their bytes one at a time, as the writer reaches them.
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: WritableTensorMap,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, safetensorsChunks(tensors, metadata, path));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Placed {
  name: string;
  begin: number;
  end: number;
}

/** Checks that the tensors tile [0, dataLength) exactly; `fail` throws. */
function checkTiling(placed: Placed[], dataLength: number, fail: (message: string) => never): void {
  const sorted = [...placed].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: Placed | undefined;
  for (const p of sorted) {
    if (p.begin < covered && previous) {
      const other = `tensor '${previous.name}' [${previous.begin}, ${previous.end}]`;
      fail(`tensor '${p.name}': data_offsets [${p.begin}, ${p.end}] overlap ${other}`);
    }
    if (p.begin > covered) {
      fail(`tensor '${p.name}': data_offsets [${p.begin}, ${p.end}] leave a gap of ${p.begin - covered} bytes before them`);
    }
    covered = p.end;
    if (p.end > p.begin || !previous) previous = p;
  }
  if (covered !== dataLength) fail(`${dataLength - covered} bytes at the end of the data buffer belong to no tensor`);
}

/**
 * Decodes a safetensors file held in memory. Tensor data are zero-copy Uint8Array views into `input`. Every
 * inconsistency throws an Error naming the file (`options.path`) and, where it applies, the tensor.
 */
export function decodeSafetensors(input: Uint8Array, options: { path?: string } = {}): SafetensorsContents {
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength); // plain views even for a Buffer
  const prefix = errorPrefix('safetensors', options.path);
  const fail = (message: string): never => {
    throw new Error(`${prefix}: ${message}`);
  };
  if (bytes.byteLength < 8) fail(`file is ${bytes.byteLength} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.byteLength - 8)) {
    fail(`header length ${headerLength} exceeds the ${bytes.byteLength - 8} bytes after the length field`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${headerLength} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    fail(`header is not valid JSON: ${(error as Error).message}`);
  }
  if (nestsDeeperThan(header, MAX_NESTING)) fail(`header nests more than ${MAX_NESTING} levels deep`);
  if (!isPlainObject(header)) fail(`header must be a JSON object`);
  const entries = Object.entries(header as Record<string, unknown>);

  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorRecord>();
  const placed: Placed[] = [];
  const dataLength = bytes.byteLength - dataStart;
  for (const [name, info] of entries) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(info)) fail(`${METADATA_KEY} must be an object mapping strings to strings`);
      for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`${METADATA_KEY} entry '${key}' must be a string, got ${JSON.stringify(value)}`);
        metadata[key] = value as string;
      }
      continue;
    }
    const tensorFail = (message: string): never => fail(`tensor '${name}': ${message}`);
    if (!isPlainObject(info)) tensorFail(`entry must be an object with dtype, shape and data_offsets`);
    const { dtype: code, shape, data_offsets: offsets } = info as Record<string, unknown>;
    const dtype = typeof code === 'string' ? DTYPE_OF_CODE.get(code) : undefined;
    if (!dtype) tensorFail(`unknown dtype ${JSON.stringify(code)}`);
    const problem = shapeProblem(shape);
    if (problem) tensorFail(problem);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      tensorFail(`data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) tensorFail(`data_offsets [${begin}, ${end}] exceed the ${dataLength}-byte data buffer`);
    const expected = elementCount(shape as number[]) * ITEM_SIZE[dtype as DType];
    if (end - begin !== expected) {
      const needs = `shape ${JSON.stringify(shape)} of ${code} needs ${expected}`;
      tensorFail(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${needs}`);
    }
    placed.push({ name, begin, end });
    tensors.set(name, {
      dtype: dtype as DType,
      shape: [...(shape as number[])],
      data: bytes.subarray(dataStart + begin, dataStart + end),
    });
  }
  checkTiling(placed, dataLength, fail);
  return { tensors, metadata };
}

/** Reads and validates a safetensors file. */
export async function readSafetensorsFile(path: string): Promise<SafetensorsContents> {
  return decodeSafetensors(await readFileBytes(path, 'safetensors'), { path });
}
