/**
 * The pickle machine: decodes opcodes (protocols 0–5 in their binary forms) and runs them on a stack.
 * It never runs anything from the input. A GLOBAL is only looked up in a `Resolver` (an allow-list of
 * handlers written in TypeScript); REDUCE / NEWOBJ / BUILD can only reach those handlers.
 *
 * Resources are bounded: every length is checked against the remaining input before use, the MARK
 * nesting depth is limited, and handlers charge their work (decoding embedded streams, converting
 * strings to bytes) to a budget proportional to the input size, so no input makes the machine run long.
 */
import {
  describe, isRecord, isTuple, PickleError, printable,
  type PickleDict, type PickleGlobal, type PickleValue,
} from './pickle-types.js';

/** What an allowed global does when the pickle calls it. */
export interface GlobalDef {
  /** REDUCE: `f(*args)`. */
  call?(args: readonly PickleValue[], ctx: VmContext): PickleValue;
  /** NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`. */
  construct?(args: readonly PickleValue[], kwargs: PickleDict | null, ctx: VmContext): PickleValue;
}

/** An allow-list entry: module, name, handler. */
export type GlobalEntry = readonly [module: string, name: string, def: GlobalDef];

/** The allow-list: returns the handler for `module.name`, or undefined when it is not allowed. */
export interface Resolver {
  lookup(module: string, name: string): GlobalDef | undefined;
}

/** Options of one stream. */
export interface VmOptions {
  /** Turns a persistent id (PERSID / BINPERSID) into a value; without it persistent ids are an error. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
}

/** Called with each global found in the allow-list, in every stream of an input (for auditing). */
export type GlobalObserver = (module: string, name: string) => void;

/** What handlers can use while the machine runs. */
export interface VmContext {
  /** 0 for the outermost stream, 1 inside a stream embedded in it (torch storage blobs). */
  readonly depth: number;
  /** Makes a later BUILD on `obj` call `apply(state)`; objects without one reject BUILD. */
  onBuild(obj: object, apply: (state: PickleValue) => void): void;
  /** Accounts for work proportional to `bytes`; throws once the input's budget is spent. */
  charge(bytes: number): void;
  /** Runs another pickle stream found inside this one, sharing the budget, one level deeper. */
  run: StreamRunner;
}

export interface PickleRun {
  value: PickleValue;
  /** Offset just past the STOP opcode. */
  end: number;
}

/** Deepest MARK nesting accepted (CPython's own pickler stops near 1000 levels). */
const MAX_MARK_DEPTH = 10_000;
/** Deepest nesting of embedded streams. */
const MAX_STREAM_DEPTH = 2;
/** Longest string V8 can hold (in UTF-16 units; UTF-8 never has fewer bytes than that). */
const MAX_STRING_BYTES = 0x1fffffe8;
/** Highest protocol understood. */
const MAX_PROTOCOL = 5;

type ArgKind =
  | 'none' | 'u1' | 'u2' | 'i4' | 'u4' | 'u8' | 'f8'
  | 'long1' | 'long4' | 'utf8_1' | 'utf8_4' | 'utf8_8' | 'latin1_1' | 'latin1_4'
  | 'bytes1' | 'bytes4' | 'bytes8' | 'line' | 'line2';

interface OpSpec {
  name: string;
  arg: ArgKind;
  /** Set for opcodes this machine refuses, with the reason. */
  unsupported?: string;
}

const TEXT_ONLY = 'is a protocol-0 text opcode, which is not supported';

const OPCODES: ReadonlyMap<number, OpSpec> = new Map<number, OpSpec>([
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

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Bytes as a latin-1 string (one char per byte; TextDecoder('latin1') would be windows-1252). */
export function latin1Decode(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

/** A character above U+00FF. */
const BEYOND_LATIN1 = /[\u0100-\uffff]/;

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
function decodeLong(b: Uint8Array): number | bigint {
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

type ArgValue = null | number | bigint | string | Uint8Array | readonly [string, string];

/** Sequential reader over the input with checked lengths. */
class Reader {
  readonly view: DataView;
  pos: number;

  constructor(readonly buf: Uint8Array, start: number) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  get left(): number {
    return this.buf.length - this.pos;
  }

  need(n: number, what: string): void {
    if (n > this.left) throw new PickleError(`truncated input: ${what} needs ${n} bytes, ${this.left} left`);
  }

  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A length stored as an unsigned 64-bit field; must not exceed the remaining input. */
  length8(what: string): number {
    this.need(8, what);
    const n = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (n > BigInt(this.left)) throw new PickleError(`truncated input: ${what} needs ${n} bytes, ${this.left} left`);
    return Number(n);
  }

  line(what: string): string {
    const nl = this.buf.indexOf(0x0a, this.pos);
    if (nl < 0) throw new PickleError(`truncated input: ${what} has no end of line`);
    const text = this.text(this.buf.subarray(this.pos, nl), what);
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

  arg(kind: ArgKind, what: string): ArgValue {
    const v = this.view;
    switch (kind) {
      case 'none': return null;
      case 'u1': this.need(1, what); return v.getUint8(this.pos++);
      case 'u2': this.need(2, what); this.pos += 2; return v.getUint16(this.pos - 2, true);
      case 'i4': this.need(4, what); this.pos += 4; return v.getInt32(this.pos - 4, true);
      case 'u4': this.need(4, what); this.pos += 4; return v.getUint32(this.pos - 4, true);
      case 'u8': return this.length8(what);
      case 'f8': this.need(8, what); this.pos += 8; return v.getFloat64(this.pos - 8, false);
      case 'long1': return decodeLong(this.bytes(this.arg('u1', what) as number, what));
      case 'long4': {
        const n = this.arg('i4', what) as number;
        if (n < 0) throw new PickleError(`${what} has a negative length`);
        return decodeLong(this.bytes(n, what));
      }
      case 'utf8_1': return this.text(this.bytes(this.arg('u1', what) as number, what), what);
      case 'utf8_4': return this.text(this.bytes(this.arg('u4', what) as number, what), what);
      case 'utf8_8': return this.text(this.bytes(this.length8(what), what), what);
      case 'latin1_1': return latin1Decode(this.bytes(this.arg('u1', what) as number, what));
      case 'latin1_4': {
        const n = this.arg('i4', what) as number;
        if (n < 0) throw new PickleError(`${what} has a negative length`);
        return latin1Decode(this.bytes(n, what));
      }
      case 'bytes1': return this.bytes(this.arg('u1', what) as number, what);
      case 'bytes4': return this.bytes(this.arg('u4', what) as number, what);
      case 'bytes8': return this.bytes(this.length8(what), what);
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
      r.need(1, 'next opcode');
      const code = r.buf[r.pos++];
      const spec = specOf(code);
      r.arg(spec.arg, spec.name);
      ops.push({ offset, end: r.pos, code, name: spec.name });
      if (code === 0x2e) return ops;
    } catch (e) {
      throw located(e, offset);
    }
  }
}

function specOf(code: number): OpSpec {
  const spec = OPCODES.get(code);
  if (!spec) throw new PickleError(`unknown opcode 0x${code.toString(16).padStart(2, '0')}`);
  if (spec.unsupported) throw new PickleError(`opcode ${spec.name} ${spec.unsupported}`);
  return spec;
}

/** Gives an error from inside an opcode the opcode's offset, and wraps anything that is not a PickleError. */
function located(e: unknown, offset: number): PickleError {
  if (e instanceof PickleError) return e.offset === undefined ? new PickleError(e.detail, offset, { cause: e.cause }) : e;
  const err = e instanceof Error ? e : new Error(String(e));
  return new PickleError(`internal failure (${err.name}: ${err.message})`, offset, { cause: err });
}

/** State shared by a top-level run and the streams embedded in it. */
class Session {
  budget: number;
  readonly builders = new WeakMap<object, (state: PickleValue) => void>();
  readonly handles = new WeakMap<PickleGlobal, GlobalDef>();

  constructor(readonly resolver: Resolver, inputSize: number, readonly onGlobal: GlobalObserver | undefined) {
    this.budget = 4 * inputSize + (1 << 20);
  }

  context(depth: number): VmContext {
    return {
      depth,
      onBuild: (obj, apply) => { this.builders.set(obj, apply); },
      charge: (bytes) => {
        this.budget -= bytes;
        if (this.budget < 0) throw new PickleError('work budget exceeded (the input repeats expensive operations)');
      },
      run: (buf, start, options) => {
        if (depth + 1 > MAX_STREAM_DEPTH) throw new PickleError('embedded pickle streams are nested too deeply');
        return this.execute(buf, start, options, depth + 1);
      },
    };
  }

  execute(buf: Uint8Array, start: number, options: VmOptions, depth: number): PickleRun {
    const r = new Reader(buf, start);
    const ctx = this.context(depth);
    const memo = new Map<number, PickleValue>();
    const marks: PickleValue[][] = [];
    let stack: PickleValue[] = [];

    const pop = (): PickleValue => {
      if (stack.length === 0) throw new PickleError('stack underflow');
      return stack.pop() as PickleValue;
    };
    const top = (): PickleValue => {
      if (stack.length === 0) throw new PickleError('stack underflow');
      return stack[stack.length - 1];
    };
    // popMark replaces `stack`: call it before touching `stack` again (never as `stack.push(popMark())`).
    const popMark = (): PickleValue[] => {
      const items = stack;
      const previous = marks.pop();
      if (previous === undefined) throw new PickleError('MARK expected on the stack');
      stack = previous;
      return items;
    };
    const memoGet = (key: number): PickleValue => {
      const v = memo.get(key);
      if (v === undefined) throw new PickleError(`memo key ${key} is not defined`);
      return v;
    };
    const memoPut = (key: number): void => {
      memo.set(key, top());
    };
    const dictTarget = (what: string): PickleDict => {
      const d = top();
      if (!(d instanceof Map)) throw new PickleError(`${what} needs a dict, found ${describe(d)}`);
      return d;
    };
    const listTarget = (what: string): PickleValue[] => {
      const l = top();
      if (!Array.isArray(l) || isTuple(l)) throw new PickleError(`${what} needs a list, found ${describe(l)}`);
      return l as PickleValue[];
    };
    const setItems = (d: PickleDict, items: PickleValue[], what: string): void => {
      if (items.length % 2 !== 0) throw new PickleError(`${what} needs key/value pairs, found an odd number of items`);
      for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
    };
    const definition = (callable: PickleValue, what: string): GlobalDef => {
      const def = isGlobalValue(callable) ? this.handles.get(callable) : undefined;
      if (!def) throw new PickleError(`${what} needs an allowed global, found ${describe(callable)}`);
      return def;
    };
    const argsTuple = (v: PickleValue, what: string): readonly PickleValue[] => {
      if (!Array.isArray(v)) throw new PickleError(`${what} needs an argument tuple, found ${describe(v)}`);
      return v;
    };
    const persistent = (pid: PickleValue): PickleValue => {
      if (!options.persistentLoad) throw new PickleError('persistent id found, but this stream has no persistent storage');
      return options.persistentLoad(pid);
    };
    const resolve = (module: PickleValue, name: PickleValue): PickleGlobal => {
      if (typeof module !== 'string' || typeof name !== 'string') {
        throw new PickleError(`global needs a module and a name as str, found ${describe(module)} and ${describe(name)}`);
      }
      const def = this.resolver.lookup(module, name);
      if (!def) throw new PickleError(`global '${printable(`${module}.${name}`)}' is not allowed`);
      this.onGlobal?.(module, name);
      const handle: PickleGlobal = Object.freeze({ kind: 'global', module, name });
      this.handles.set(handle, def);
      return handle;
    };

    for (;;) {
      const offset = r.pos;
      try {
        if (r.left === 0) throw new PickleError('truncated input: STOP is missing');
        const code = buf[r.pos++];
        const spec = specOf(code);
        const arg = r.arg(spec.arg, spec.name);
        switch (spec.name) {
          case 'PROTO':
            if ((arg as number) > MAX_PROTOCOL) throw new PickleError(`unsupported protocol ${arg as number}`);
            break;
          case 'FRAME':
            break;
          case 'STOP':
            if (marks.length > 0) throw new PickleError('STOP inside an unclosed MARK');
            return { value: pop(), end: r.pos };
          case 'MARK':
            if (marks.length >= MAX_MARK_DEPTH) throw new PickleError(`MARK nesting deeper than ${MAX_MARK_DEPTH}`);
            marks.push(stack);
            stack = [];
            break;
          case 'POP':
            if (stack.length > 0) stack.pop();
            else popMark();
            break;
          case 'POP_MARK':
            popMark();
            break;
          case 'DUP':
            stack.push(top());
            break;
          case 'NONE': stack.push(null); break;
          case 'NEWTRUE': stack.push(true); break;
          case 'NEWFALSE': stack.push(false); break;
          case 'BININT': case 'BININT1': case 'BININT2': case 'LONG1': case 'BINFLOAT':
            stack.push(arg as number | bigint);
            break;
          case 'LONG4':
            ctx.charge(r.pos - offset);
            stack.push(arg as number | bigint);
            break;
          case 'BINSTRING': case 'SHORT_BINSTRING': case 'BINUNICODE': case 'SHORT_BINUNICODE': case 'BINUNICODE8':
          case 'BINBYTES': case 'SHORT_BINBYTES': case 'BINBYTES8':
            stack.push(arg as string | Uint8Array);
            break;
          case 'BYTEARRAY8':
            stack.push((arg as Uint8Array).slice());
            break;
          case 'EMPTY_TUPLE': stack.push(Object.freeze([])); break;
          case 'TUPLE1': stack.push(Object.freeze([pop()])); break;
          case 'TUPLE2': { const b = pop(); const a = pop(); stack.push(Object.freeze([a, b])); break; }
          case 'TUPLE3': { const c = pop(); const b = pop(); const a = pop(); stack.push(Object.freeze([a, b, c])); break; }
          case 'TUPLE': { const items = popMark(); stack.push(Object.freeze(items)); break; }
          case 'EMPTY_LIST': stack.push([]); break;
          case 'LIST': { const items = popMark(); stack.push(items); break; }
          case 'APPEND': { const v = pop(); listTarget('APPEND').push(v); break; }
          case 'APPENDS': {
            const items = popMark();
            const list = listTarget('APPENDS');
            for (const v of items) list.push(v);
            break;
          }
          case 'EMPTY_DICT': stack.push(new Map()); break;
          case 'DICT': { const items = popMark(); const d: PickleDict = new Map(); setItems(d, items, 'DICT'); stack.push(d); break; }
          case 'SETITEM': { const v = pop(); const k = pop(); dictTarget('SETITEM').set(k, v); break; }
          case 'SETITEMS': { const items = popMark(); setItems(dictTarget('SETITEMS'), items, 'SETITEMS'); break; }
          case 'EMPTY_SET': stack.push(new Set()); break;
          case 'FROZENSET': { const items = popMark(); stack.push(new Set(items)); break; }
          case 'ADDITEMS': {
            const items = popMark();
            const s = top();
            if (!(s instanceof Set)) throw new PickleError(`ADDITEMS needs a set, found ${describe(s)}`);
            for (const v of items) s.add(v);
            break;
          }
          case 'BINGET': case 'LONG_BINGET': stack.push(memoGet(arg as number)); break;
          case 'BINPUT': case 'LONG_BINPUT': memoPut(arg as number); break;
          case 'GET': stack.push(memoGet(decimal(arg as string, 'GET'))); break;
          case 'PUT': memoPut(decimal(arg as string, 'PUT')); break;
          case 'MEMOIZE': memoPut(memo.size); break;
          case 'GLOBAL': {
            const [module, name] = arg as readonly [string, string];
            stack.push(resolve(module, name));
            break;
          }
          case 'STACK_GLOBAL': { const name = pop(); const module = pop(); stack.push(resolve(module, name)); break; }
          case 'REDUCE': {
            const args = argsTuple(pop(), 'REDUCE');
            const f = pop();
            const def = definition(f, 'REDUCE');
            if (!def.call) throw new PickleError(`${describe(f)} cannot be called`);
            stack.push(def.call(args, ctx));
            break;
          }
          case 'NEWOBJ': case 'NEWOBJ_EX': {
            let kwargs: PickleDict | null = null;
            if (spec.name === 'NEWOBJ_EX') {
              const k = pop();
              if (!(k instanceof Map)) throw new PickleError(`NEWOBJ_EX needs keyword arguments as a dict, found ${describe(k)}`);
              kwargs = k;
            }
            const args = argsTuple(pop(), spec.name);
            const cls = pop();
            const def = definition(cls, spec.name);
            if (!def.construct) throw new PickleError(`${describe(cls)} cannot be instantiated`);
            stack.push(def.construct(args, kwargs, ctx));
            break;
          }
          case 'BUILD': {
            const state = pop();
            const obj = top();
            const apply = typeof obj === 'object' && obj !== null ? this.builders.get(obj) : undefined;
            if (!apply) throw new PickleError(`BUILD is not supported for ${describe(obj)}`);
            apply(state);
            break;
          }
          case 'PERSID': stack.push(persistent(arg as string)); break;
          case 'BINPERSID': stack.push(persistent(pop())); break;
          default:
            throw new PickleError(`opcode ${spec.name} is not handled`);
        }
      } catch (e) {
        throw located(e, offset);
      }
    }
  }
}

function isGlobalValue(v: PickleValue): v is PickleGlobal {
  return isRecord(v) && v.kind === 'global';
}

function decimal(text: string, what: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new PickleError(`${what} needs a decimal memo key, found '${printable(text)}'`);
  return Number(text);
}

/** Runs one pickle stream of `buf` from `start` (to its STOP). */
export type StreamRunner = (buf: Uint8Array, start: number, options: VmOptions) => PickleRun;

/**
 * A runner for the streams of one input of `inputSize` bytes. All streams it runs (and the streams
 * embedded in them) share one work budget and one allow-list.
 */
export function pickleRunner(resolver: Resolver, inputSize: number, onGlobal?: GlobalObserver): StreamRunner {
  const session = new Session(resolver, inputSize, onGlobal);
  return (buf, start, options) => session.execute(buf, start, options, 0);
}
