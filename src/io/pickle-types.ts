/**
 * The values a pickle turns into (the object model is described in full in `pickle.ts`), and the error
 * every pickle failure is reported with.
 */
import type { DType, NdArray, TorchStorage, TorchTensor } from './array-data.js';

/** A Python dict (also OrderedDict and dict subclasses such as dnnlib's EasyDict), in insertion order. */
export type PickleDict = Map<PickleValue, PickleValue>;

/** A reference to an allowed Python class or function that was not called (e.g. `torch.FloatStorage`). */
export interface PickleGlobal {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
}

/**
 * An instance of an allowed plain class, e.g. `dnnlib.tflib.network.Network`: the class name, the
 * constructor arguments (usually none) and the state given to `__setstate__` by BUILD (a dict for the
 * TF networks), or undefined when the stream never built it.
 */
export interface PickleObject {
  readonly kind: 'object';
  readonly module: string;
  readonly name: string;
  readonly args: readonly PickleValue[];
  state: PickleValue | undefined;
}

/**
 * A stylegan2-ada / stylegan3 `torch_utils.persistence` object: the `meta` dict of
 * `_reconstruct_persistent_obj`. `state` is the module's `__dict__` (`_parameters`, `_buffers`,
 * `_modules`, plain attributes, `_init_args`, `_init_kwargs`).
 */
export interface PersistentObject {
  readonly kind: 'persistent';
  readonly className: string;
  readonly version: number;
  /** Source of the Python module that defined the class; kept as text, never run. */
  readonly moduleSrc: string;
  readonly state: PickleDict;
}

/** A `numpy.dtype` object. `byteOrder` is '<', '>', '|' or '='. */
export interface NumpyDtype {
  readonly kind: 'dtype';
  readonly dtype: DType;
  byteOrder: string;
}

/**
 * Reads byte ranges of the file a pickle was streamed from (`readPickleFile`): the file is opened again for each
 * use and must not have changed since it was parsed.
 */
export interface PayloadSource {
  /** The file, for error messages. */
  readonly path: string;
  /**
   * Calls `use` with `readAt`, which fills `into` with the file's bytes from `offset` on; the file stays open
   * until `use` returns. Fails with a `PickleError` naming the file when it cannot be read or has changed.
   */
  reading<T>(use: (readAt: (offset: number, into: Uint8Array) => void) => T): T;
}

/**
 * A bytes object left in the file: `readPickleFile` keeps large `bytes` payloads (numpy array data above all) where
 * they are and records where they lie; `readBytes` reads one.
 */
export interface FileBytes {
  readonly kind: 'file-bytes';
  readonly source: PayloadSource;
  /** Offset of the first byte in the file. */
  readonly offset: number;
  readonly length: number;
}

/** The bytes of a `FileBytes` (read from its file now), or `bytes` itself. */
export function readBytes(bytes: Uint8Array | FileBytes): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  return bytes.source.reading((readAt) => {
    const out = new Uint8Array(bytes.length);
    readAt(bytes.offset, out);
    return out;
  });
}

/** A bytes value: read (Uint8Array) or left in the file (FileBytes). */
export function isBytes(v: PickleValue | undefined): v is Uint8Array | FileBytes {
  return v instanceof Uint8Array || (isRecord(v) && v.kind === 'file-bytes');
}

/** Everything `readPickle` can return. Tuples are frozen arrays (see `isTuple`); lists are plain arrays. */
export type PickleValue =
  | null | boolean | number | bigint | string
  | Uint8Array | FileBytes
  | PickleValue[]
  | readonly PickleValue[]
  | PickleDict
  | Set<PickleValue>
  | PickleGlobal | PickleObject | PersistentObject | NumpyDtype
  | NdArray | TorchTensor | TorchStorage;

/** A Python tuple (frozen array) as opposed to a list. */
export function isTuple(v: PickleValue | undefined): v is readonly PickleValue[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

/** The tagged records among pickle values. */
export type PickleRecord = FileBytes | PickleGlobal | PickleObject | PersistentObject | NumpyDtype | NdArray | TorchTensor | TorchStorage;

/** A record with a `kind` tag (as opposed to a primitive, bytes, list, tuple, dict or set). */
export function isRecord(v: PickleValue | undefined): v is PickleRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map)
    && !(v instanceof Set) && !(v instanceof Uint8Array);
}

/** Short Python-ish description of a value, for error messages. */
export function describe(v: PickleValue | undefined): string {
  if (isRecord(v)) {
    switch (v.kind) {
      case 'file-bytes': return 'bytes';
      case 'global': return `global '${printable(`${v.module}.${v.name}`)}'`;
      case 'object': return `${printable(`${v.module}.${v.name}`)} object`;
      case 'persistent': return `persistent ${printable(v.className)} object`;
      case 'dtype': return 'numpy dtype';
      case 'ndarray': return 'numpy array';
      case 'tensor': return 'torch tensor';
      case 'storage': return 'torch storage';
    }
  }
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Map) return 'dict';
  if (v instanceof Set) return 'set';
  return isTuple(v) ? 'tuple' : 'list';
}

/** A name from the input made safe and short for an error message. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > 120 ? `${clean.slice(0, 120)}…` : clean;
}

/**
 * Every failure to read a pickle. The message is `pickle: <detail>` plus ` (at byte N)` when the
 * position of the failing opcode is known; `readPickleFile` puts the file path after `pickle: `.
 */
export class PickleError extends Error {
  readonly detail: string;
  readonly offset: number | undefined;

  /** `file`, when given, starts the message (`<file>: pickle: …`) in place of `pickle: `. */
  constructor(detail: string, offset?: number, options?: ErrorOptions & { file?: string }) {
    super(`${options?.file === undefined ? '' : `${options.file}: `}pickle: ${detail}${offset === undefined ? '' : ` (at byte ${offset})`}`, options);
    this.name = 'PickleError';
    this.detail = detail;
    this.offset = offset;
  }
}
