/**
 * The pickle opcodes and their arguments: the opcode table (protocols 0–5, binary forms), the bounded byte reader
 * that decodes arguments, the limits, and `pickleOps` (a disassembler). The machine that runs them is pickle-vm.ts.
 */
import { PickleError, type FileBytes } from './pickle-types.js';

/** Deepest MARK nesting accepted (CPython's own pickler stops near 1000 levels). */
export const MAX_MARK_DEPTH = 10_000;
/** Deepest nesting of embedded streams. */
export const MAX_STREAM_DEPTH = 2;
/** Longest string V8 can hold (in UTF-16 units; UTF-8 never has fewer bytes than that). */
export const MAX_STRING_BYTES = 0x1fffffe8;
/** Highest protocol understood. */
export const MAX_PROTOCOL = 5;

export type ArgKind =
  | 'none' | 'u1' | 'u2' | 'i4' | 'u4' | 'u8' | 'f8'
  | 'long1' | 'long4' | 'utf8_1' | 'utf8_4' | 'utf8_8' | 'latin1_1' | 'latin1_4'
  | 'bytes1' | 'bytes4' | 'bytes8' | 'line' | 'line2';

export interface OpSpec {
  name: string;
  arg: ArgKind;
  /** Set for opcodes this machine refuses, with the reason. */
  unsupported?: string;
}

export const TEXT_ONLY = 'is a protocol-0 text opcode, which is not supported';

export const OPCODES: ReadonlyMap<number, OpSpec> = new Map<number, OpSpec>([
  [0x28, { name: 'MARK', arg: 'none' }],
  [0x2e, { name: 'STOP', arg: 'none' }],
  [0x30, { name: 'POP', arg: 'none' }],
  [0x31, { name: 'POP_MARK', arg: 'none' }],
  [0x32, { name: 'DUP', arg: 'none' }],
  [0x46, { name: 'FLOAT', arg: 'line', unsupported: TEXT_ONLY }],
  [0x49, { name: 'INT', arg: 'line', unsupported: TEXT_ONLY }],
  [0x4a, { name: 'BININT', arg: 'i4' }],
  [0x4b, { name: 'BININT1', arg: 'u1' }],
  [0x4c, { name: 'LONG', arg: 'line', unsupported: TEXT_ONLY }],
  [0x4d, { name: 'BININT2', arg: 'u2' }],
  [0x4e, { name: 'NONE', arg: 'none' }],
  [0x50, { name: 'PERSID', arg: 'line' }],
  [0x51, { name: 'BINPERSID', arg: 'none' }],
  [0x52, { name: 'REDUCE', arg: 'none' }],
  [0x53, { name: 'STRING', arg: 'line', unsupported: TEXT_ONLY }],
  [0x54, { name: 'BINSTRING', arg: 'latin1_4' }],
  [0x55, { name: 'SHORT_BINSTRING', arg: 'latin1_1' }],
  [0x56, { name: 'UNICODE', arg: 'line', unsupported: TEXT_ONLY }],
  [0x58, { name: 'BINUNICODE', arg: 'utf8_4' }],
  [0x61, { name: 'APPEND', arg: 'none' }],
  [0x62, { name: 'BUILD', arg: 'none' }],
  [0x63, { name: 'GLOBAL', arg: 'line2' }],
  [0x64, { name: 'DICT', arg: 'none' }],
  [0x7d, { name: 'EMPTY_DICT', arg: 'none' }],
  [0x65, { name: 'APPENDS', arg: 'none' }],
  [0x67, { name: 'GET', arg: 'line' }],
  [0x68, { name: 'BINGET', arg: 'u1' }],
  [0x69, { name: 'INST', arg: 'line2', unsupported: 'creates objects the protocol-0 way, which is not supported' }],
  [0x6a, { name: 'LONG_BINGET', arg: 'u4' }],
  [0x6c, { name: 'LIST', arg: 'none' }],
  [0x5d, { name: 'EMPTY_LIST', arg: 'none' }],
  [0x6f, { name: 'OBJ', arg: 'none', unsupported: 'creates objects the protocol-1 way, which is not supported' }],
  [0x70, { name: 'PUT', arg: 'line' }],
  [0x71, { name: 'BINPUT', arg: 'u1' }],
  [0x72, { name: 'LONG_BINPUT', arg: 'u4' }],
  [0x73, { name: 'SETITEM', arg: 'none' }],
  [0x74, { name: 'TUPLE', arg: 'none' }],
  [0x29, { name: 'EMPTY_TUPLE', arg: 'none' }],
  [0x75, { name: 'SETITEMS', arg: 'none' }],
  [0x47, { name: 'BINFLOAT', arg: 'f8' }],
  [0x80, { name: 'PROTO', arg: 'u1' }],
  [0x81, { name: 'NEWOBJ', arg: 'none' }],
  [0x82, { name: 'EXT1', arg: 'u1', unsupported: 'uses the copyreg extension registry, which is not supported' }],
  [0x83, { name: 'EXT2', arg: 'u2', unsupported: 'uses the copyreg extension registry, which is not supported' }],
  [0x84, { name: 'EXT4', arg: 'i4', unsupported: 'uses the copyreg extension registry, which is not supported' }],
  [0x85, { name: 'TUPLE1', arg: 'none' }],
  [0x86, { name: 'TUPLE2', arg: 'none' }],
  [0x87, { name: 'TUPLE3', arg: 'none' }],
  [0x88, { name: 'NEWTRUE', arg: 'none' }],
  [0x89, { name: 'NEWFALSE', arg: 'none' }],
  [0x8a, { name: 'LONG1', arg: 'long1' }],
  [0x8b, { name: 'LONG4', arg: 'long4' }],
  [0x42, { name: 'BINBYTES', arg: 'bytes4' }],
  [0x43, { name: 'SHORT_BINBYTES', arg: 'bytes1' }],
  [0x8c, { name: 'SHORT_BINUNICODE', arg: 'utf8_1' }],
  [0x8d, { name: 'BINUNICODE8', arg: 'utf8_8' }],
  [0x8e, { name: 'BINBYTES8', arg: 'bytes8' }],
  [0x8f, { name: 'EMPTY_SET', arg: 'none' }],
  [0x90, { name: 'ADDITEMS', arg: 'none' }],
  [0x91, { name: 'FROZENSET', arg: 'none' }],
  [0x92, { name: 'NEWOBJ_EX', arg: 'none' }],
  [0x93, { name: 'STACK_GLOBAL', arg: 'none' }],
  [0x94, { name: 'MEMOIZE', arg: 'none' }],
  [0x95, { name: 'FRAME', arg: 'u8' }],
  [0x96, { name: 'BYTEARRAY8', arg: 'bytes8' }],
  [0x97, { name: 'NEXT_BUFFER', arg: 'none', unsupported: 'needs out-of-band buffers (protocol 5), which are not supported' }],
  [0x98, { name: 'READONLY_BUFFER', arg: 'none', unsupported: 'needs out-of-band buffers (protocol 5), which are not supported' }],
]);

export const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
export const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Bytes as a latin-1 string (one char per byte; TextDecoder('latin1') would be windows-1252). */
export function latin1Decode(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

/** A character above U+00FF. */
export const BEYOND_LATIN1 = /[\u0100-\uffff]/;

/**
 * A latin-1 string back to bytes; fails on characters above U+00FF. (Protocol 2 stores every numpy array this way,
 * so this runs over the whole weight data: the check and the conversion are native.)
 */
export function latin1Encode(s: string): Uint8Array {
  const bad = BEYOND_LATIN1.exec(s);
  if (bad) throw new PickleError(`character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} does not fit in latin-1`);
  const b = Buffer.from(s, 'latin1');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A Python int: a number when it is a safe integer, else a bigint. */
export function pythonInt(v: bigint): number | bigint {
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Little-endian two's-complement integer (LONG1 / LONG4 payload). */
export function decodeLong(b: Uint8Array): number | bigint {
  const n = b.length;
  if (n === 0) return 0;
  if (n <= 6) {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + b[i];
    return b[n - 1] & 0x80 ? v - 2 ** (8 * n) : v;
  }
  let hex = '';
  for (let i = n - 1; i >= 0; i--) hex += HEX[b[i]];
  let v = BigInt(`0x${hex}`);
  if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
  return pythonInt(v);
}

export type ArgValue = null | number | bigint | string | Uint8Array | FileBytes | readonly [string, string];

/**
 * Sequential reader over an input of `size` bytes with checked lengths. `pos` is the position in the input; the
 * bytes at hand are `buf`, which starts at input position `base`. This reader holds the whole input in memory (`buf`
 * is the input, `base` 0); `FileReader` (pickle-file.ts) holds a window of a file and leaves large payloads in it.
 */
export class Reader {
  protected buf: Uint8Array;
  protected view: DataView;
  protected base = 0;
  pos: number;
  readonly size: number;

  constructor(buf: Uint8Array, start: number, size = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.size = size;
  }

  get left(): number {
    return this.size - this.pos;
  }

  /** Throws the truncation error when fewer than `n` bytes are left. */
  check(n: number | bigint, what: string): void {
    if (n > this.left) throw new PickleError(`truncated input: ${what} needs ${n} bytes, ${this.left} left`);
  }

  /** Makes the `n` bytes at `pos` available in `buf` (n ≤ left); all of them are at hand in memory. */
  protected fill(n: number): void {
    void n;
  }

  need(n: number, what: string): void {
    this.check(n, what);
    this.fill(n);
  }

  /** `n` bytes of `buf` from index `i`: a view into the input (the file reader copies them out of its window). */
  protected take(i: number, n: number): Uint8Array {
    return this.buf.subarray(i, i + n);
  }

  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.take(this.pos - this.base, n);
    this.pos += n;
    return out;
  }

  /** A bytes payload; the file reader leaves large ones in the file. */
  payload(n: number, what: string): Uint8Array | FileBytes {
    return this.bytes(n, what);
  }

  /** Reads a fixed-size field of `n` bytes at `pos` with `get` (given the view and the index into it). */
  private fixed<T>(n: number, what: string, get: (view: DataView, i: number) => T): T {
    this.need(n, what);
    const i = this.pos - this.base;
    this.pos += n;
    return get(this.view, i);
  }

  u8(what: string): number {
    return this.fixed(1, what, (v, i) => v.getUint8(i));
  }

  /** A length stored as an unsigned 64-bit field; must not exceed the remaining input. */
  length8(what: string): number {
    const n = this.fixed(8, what, (v, i) => v.getBigUint64(i, true));
    this.check(n, what);
    return Number(n);
  }

  /** Input position of the next newline at or after `pos`, or -1. */
  protected findNewline(): number {
    const nl = this.buf.indexOf(0x0a, this.pos - this.base);
    return nl < 0 ? -1 : nl + this.base;
  }

  line(what: string): string {
    const nl = this.findNewline();
    if (nl < 0) throw new PickleError(`truncated input: ${what} has no end of line`);
    const text = this.text(this.buf.subarray(this.pos - this.base, nl - this.base), what);
    this.pos = nl + 1;
    return text;
  }

  text(bytes: Uint8Array, what: string): string {
    if (bytes.length > MAX_STRING_BYTES) throw new PickleError(`${what} of ${bytes.length} bytes is too long for a JavaScript string`);
    try {
      return utf8.decode(bytes);
    } catch {
      throw new PickleError(`${what} is not valid UTF-8`);
    }
  }

  /** A 4-byte signed length (BINSTRING, LONG4); negative ones are refused. */
  private length4(what: string): number {
    const n = this.fixed(4, what, (v, i) => v.getInt32(i, true));
    if (n < 0) throw new PickleError(`${what} has a negative length`);
    return n;
  }

  arg(kind: ArgKind, what: string): ArgValue {
    switch (kind) {
      case 'none': return null;
      case 'u1': return this.u8(what);
      case 'u2': return this.fixed(2, what, (v, i) => v.getUint16(i, true));
      case 'i4': return this.fixed(4, what, (v, i) => v.getInt32(i, true));
      case 'u4': return this.fixed(4, what, (v, i) => v.getUint32(i, true));
      case 'u8': return this.length8(what);
      case 'f8': return this.fixed(8, what, (v, i) => v.getFloat64(i, false));
      case 'long1': return decodeLong(this.bytes(this.u8(what), what));
      case 'long4': return decodeLong(this.bytes(this.length4(what), what));
      case 'utf8_1': return this.text(this.bytes(this.u8(what), what), what);
      case 'utf8_4': return this.text(this.bytes(this.arg('u4', what) as number, what), what);
      case 'utf8_8': return this.text(this.bytes(this.length8(what), what), what);
      case 'latin1_1': return latin1Decode(this.bytes(this.u8(what), what));
      case 'latin1_4': return latin1Decode(this.bytes(this.length4(what), what));
      case 'bytes1': return this.payload(this.u8(what), what);
      case 'bytes4': return this.payload(this.arg('u4', what) as number, what);
      case 'bytes8': return this.payload(this.length8(what), what);
      case 'line': return this.line(what);
      case 'line2': return [this.line(what), this.line(what)] as const;
    }
  }
}

/** One decoded opcode, as listed by `pickleOps`. */
export interface PickleOp {
  offset: number;
  /** Offset just past the opcode and its argument. */
  end: number;
  code: number;
  name: string;
}

/**
 * Lists the opcodes of one pickle stream from `start` up to and including STOP (a disassembler for
 * tests and debugging). Throws PickleError on unknown or unsupported opcodes and truncated input.
 */
export function pickleOps(buf: Uint8Array, start = 0): PickleOp[] {
  const r = new Reader(buf, start);
  const ops: PickleOp[] = [];
  for (;;) {
    const offset = r.pos;
    try {
      const code = r.u8('next opcode');
      const spec = specOf(code);
      r.arg(spec.arg, spec.name);
      ops.push({ offset, end: r.pos, code, name: spec.name });
      if (code === 0x2e) return ops;
    } catch (e) {
      throw located(e, offset);
    }
  }
}

export function specOf(code: number): OpSpec {
  const spec = OPCODES.get(code);
  if (!spec) throw new PickleError(`unknown opcode 0x${code.toString(16).padStart(2, '0')}`);
  if (spec.unsupported) throw new PickleError(`opcode ${spec.name} ${spec.unsupported}`);
  return spec;
}

/** Gives an error from inside an opcode the opcode's offset, and wraps anything that is not a PickleError. */
export function located(e: unknown, offset: number): PickleError {
  if (e instanceof PickleError) return e.offset === undefined ? new PickleError(e.detail, offset, { cause: e.cause }) : e;
  const err = e instanceof Error ? e : new Error(String(e));
  return new PickleError(`internal failure (${err.name}: ${err.message})`, offset, { cause: err });
}
