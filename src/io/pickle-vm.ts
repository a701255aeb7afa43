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
  describe, isRecord, isTuple, PickleError, printable, readBytes,
  type FileBytes, type PickleDict, type PickleGlobal, type PickleValue,
} from './pickle-types.js';
import {
  MAX_MARK_DEPTH, MAX_STREAM_DEPTH, MAX_PROTOCOL, Reader, specOf, located,
} from './pickle-opcodes.js';

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
  /** The bytes of a bytes value, read from the file when they were left there (charged to the budget). */
  bytes(v: Uint8Array | FileBytes): Uint8Array;
}

export interface PickleRun {
  value: PickleValue;
  /** Offset just past the STOP opcode. */
  end: number;
}

/** State shared by a top-level run and the streams embedded in it. */
class Session {
  budget: number;
  readonly builders = new WeakMap<object, (state: PickleValue) => void>();
  readonly handles = new WeakMap<PickleGlobal, GlobalDef>();

  constructor(readonly resolver: Resolver, inputSize: number, readonly onGlobal: GlobalObserver | undefined) {
    this.budget = 4 * inputSize + (1 << 20);
  }

  charge(bytes: number): void {
    this.budget -= bytes;
    if (this.budget < 0) throw new PickleError('work budget exceeded (the input repeats expensive operations)');
  }

  context(depth: number): VmContext {
    return {
      depth,
      onBuild: (obj, apply) => { this.builders.set(obj, apply); },
      charge: (bytes) => this.charge(bytes),
      run: (buf, start, options) => {
        if (depth + 1 > MAX_STREAM_DEPTH) throw new PickleError('embedded pickle streams are nested too deeply');
        return this.execute(new Reader(buf, start), { ...options, depth: depth + 1 });
      },
      bytes: (v) => {
        if (v instanceof Uint8Array) return v;
        this.charge(v.length);
        return readBytes(v);
      },
    };
  }

  execute(r: Reader, { depth, ...options }: VmOptions & { depth: number }): PickleRun {
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
        const code = r.u8('opcode');
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
            stack.push(arg as string | Uint8Array | FileBytes);
            break;
          case 'BYTEARRAY8':
            stack.push(arg instanceof Uint8Array ? arg.slice() : ctx.bytes(arg as FileBytes));
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
  return (buf, start, options) => session.execute(new Reader(buf, start), { ...options, depth: 0 });
}

/** Runs the one pickle stream `reader` is positioned on (a file streamed through a window: see pickle-file.ts). */
export function runPickleReader(resolver: Resolver, reader: Reader, onGlobal?: GlobalObserver): PickleRun {
  return new Session(resolver, reader.size, onGlobal).execute(reader, { depth: 0 });
}

export { latin1Decode, latin1Encode, pythonInt, type PickleOp, pickleOps } from './pickle-opcodes.js';
