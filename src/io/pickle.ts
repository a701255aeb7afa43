/**
 * Safe reader for Python pickles: NVIDIA's StyleGAN1 / ProGAN TF pickles, stylegan2-ada / stylegan3
 * pickles, and `torch.save` files (zip and legacy). Nothing from the input is ever executed: a global
 * (class or function) is looked up in a fixed allow-list of handlers written here, and anything else
 * fails with `pickle: global 'os.system' is not allowed (at byte N)`. Every failure, whatever the
 * input, is a `PickleError` whose message starts with `pickle:`.
 *
 * Object model (what `readPickle` returns)
 * ----------------------------------------
 *   None → null;  bool → boolean;  float → number
 *   int → number when it is a safe integer, else bigint (e.g. the 10-byte torch magic number)
 *   str → string;  bytes, bytearray → Uint8Array (bytes are zero-copy views into the input when the
 *     pickle stores them raw, protocol ≥ 3; copies when they come from protocol 2's `_codecs.encode`);
 *     `readPickleFile` leaves large raw bytes in the file: FileBytes { kind: 'file-bytes', source, offset,
 *     length } (read them with `readBytes`)
 *   list → array;  tuple → frozen array (`isTuple`)
 *   dict, collections.OrderedDict, dnnlib.util.EasyDict → Map (insertion order; str and int keys compare
 *     by value, tuple keys by identity)
 *   set, frozenset → Set
 *   a class or function left as data → { kind: 'global', module, name }
 *   instance of an allowed plain class (`dnnlib.tflib.network.Network`, ProGAN's `tfutil.Network`, or one
 *     named in `extraClasses`) → { kind: 'object', module, name, args, state }; for TF networks `state` is
 *     the `__getstate__` Map: version, name, static_kwargs (Map), components (Map name → object;
 *     StyleGAN only), build_module_src, build_func_name, variables (array of [name, NdArray] tuples in
 *     creation order; local names, without the component prefix)
 *   stylegan2-ada `torch_utils.persistence` object → { kind: 'persistent', className, version, moduleSrc,
 *     state } where `state` is the module `__dict__` Map: `_parameters` / `_buffers` / `_modules` Maps
 *     (keys are state_dict name parts), plain attributes, `_init_args`, `_init_kwargs`
 *   numpy.ndarray and numpy scalars → NdArray { kind: 'ndarray', dtype, shape, data, fortranOrder,
 *     isScalar } (scalars have shape []; over FileBytes, `payload` says where the data lies and `data` reads
 *     it on first use); numpy.dtype → { kind: 'dtype', dtype, byteOrder }
 *   torch.Tensor / nn.Parameter → TorchTensor { kind: 'tensor', dtype, shape, stride, storageOffset,
 *     storage, requiresGrad, isParameter }; torch storages → TorchStorage { kind: 'storage', dtype,
 *     numel, key, location, data }
 * Array data is little-endian and may be misaligned: read it with `toTypedArray`, `toFloat32Array`,
 * `contiguousBytes` or `scalarValue` (they copy only when needed).
 *
 * Resources are bounded: lengths are checked against the remaining input, MARK nesting and embedded
 * streams have depth limits, and costly conversions draw on a budget proportional to the input size.
 * `pickleOps` lists the opcodes of a stream (a small disassembler for debugging).
 *
 * Opcodes: all binary opcodes of protocols 2–5 (and the binary ones of 0–1), plus the text opcodes
 * GLOBAL, PERSID, GET and PUT. Refused with a clear error: the other text opcodes (INT, LONG, FLOAT,
 * STRING, UNICODE), INST / OBJ, EXT1/2/4, and protocol 5's out-of-band NEXT_BUFFER / READONLY_BUFFER.
 */
import { closeSync, readFileSync } from 'node:fs';
import {
  describe, isBytes, PickleError,
  type PickleDict, type PickleObject, type PickleValue,
} from './pickle-types.js';
import { numpyGlobals } from './pickle-numpy.js';
import { readTorchLegacyWith, readTorchZipWith, torchGlobals } from './pickle-torch.js';
import { FileReader, LAZY_BYTES_MIN, openPickleFile, readFully, WINDOW_BYTES } from './pickle-file.js';
import {
  latin1Encode, pickleRunner, runPickleReader,
  type GlobalDef, type GlobalEntry, type GlobalObserver, type Resolver, type VmContext,
} from './pickle-vm.js';

export * from './pickle-types.js';
export * from './array-data.js';
export { pickleOps, type PickleOp } from './pickle-vm.js';

export interface PickleOptions {
  /**
   * More classes to accept as inert `{ kind: 'object' }` records, as 'module.Name' (the class name is
   * the part after the last dot), e.g. a class a newer release adds to an augment pipe.
   */
  extraClasses?: Iterable<string>;
  /** Called with each global the input resolved (all of them are on the allow-list). */
  onGlobal?: GlobalObserver;
  /**
   * `readPickleFile` only: the smallest `bytes` payload left in the file as a `FileBytes` record rather than read
   * (default 64 KiB). Files holding a `torch.save` archive or stream are read whole.
   */
  lazyBytesMin?: number;
  /** `readPickleFile` only: how many bytes of opcodes are read at a time (default 1 MiB). */
  windowBytes?: number;
}

/** `str.encode(encoding)` for the encodings pickles use. */
function encodeText(s: PickleValue, { encoding, ctx, what }: { encoding: PickleValue; ctx: VmContext; what: string }): Uint8Array {
  if (typeof s !== 'string') throw new PickleError(`${what} needs a str, found ${describe(s)}`);
  const name = typeof encoding === 'string' ? encoding.toLowerCase().replace(/_/g, '-') : encoding;
  ctx.charge(s.length);
  if (name === 'latin1' || name === 'latin-1' || name === 'iso-8859-1' || name === 'iso8859-1') return latin1Encode(s);
  if (name === 'utf-8' || name === 'utf8') return new TextEncoder().encode(s);
  throw new PickleError(`${what}: encoding ${typeof encoding === 'string' ? `'${encoding.slice(0, 20)}'` : describe(encoding)} is not supported`);
}

/** Items of an iterable argument (list, tuple, set). */
function itemsOf(v: PickleValue, what: string): PickleValue[] {
  if (Array.isArray(v)) return [...v];
  if (v instanceof Set) return [...v];
  throw new PickleError(`${what} needs a list, tuple or set, found ${describe(v)}`);
}

/** A dict subclass instance (OrderedDict, EasyDict): a Map; a later BUILD with a dict state adds its entries. */
function newDict(init: PickleValue | undefined, ctx: VmContext): PickleDict {
  const d: PickleDict = new Map();
  if (init instanceof Map) {
    for (const [k, v] of init) d.set(k, v);
  } else if (init !== undefined) {
    for (const pair of itemsOf(init, 'dict')) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new PickleError(`dict items must be pairs, found ${describe(pair)}`);
      d.set(pair[0], pair[1]);
    }
  }
  ctx.onBuild(d, (state) => {
    if (!(state instanceof Map)) throw new PickleError(`dict state must be a dict, found ${describe(state)}`);
    for (const [k, v] of state) d.set(k, v);
  });
  return d;
}

const dictClass: GlobalDef = {
  call: (args, ctx) => newDict(args[0], ctx),
  construct: (_args, _kwargs, ctx) => newDict(undefined, ctx),
};

const setClass: GlobalDef = {
  call: (args) => new Set(args.length === 0 ? [] : itemsOf(args[0], 'set')),
};

const bytearrayClass: GlobalDef = {
  call(args, ctx) {
    if (args.length === 0) return new Uint8Array(0);
    if (args[0] instanceof Uint8Array) return args[0].slice();
    if (isBytes(args[0])) return ctx.bytes(args[0]);
    return encodeText(args[0], { encoding: args[1] ?? null, ctx, what: 'bytearray' });
  },
};

const bytesClass: GlobalDef = {
  call(args) {
    if (args.length === 0) return new Uint8Array(0);
    if (isBytes(args[0])) return args[0];
    throw new PickleError(`bytes() needs no argument or bytes, found ${describe(args[0])}`);
  },
};

/** `_codecs.encode(str, encoding)`: how protocol 2 stores bytes under Python 3. */
const codecsEncode: GlobalDef = {
  call: (args, ctx) => encodeText(args[0], { encoding: args[1] ?? 'utf-8', ctx, what: '_codecs.encode' }),
};

/** A plain class whose instances become `{ kind: 'object' }` records holding their BUILD state. */
function recordClass(module: string, name: string): GlobalDef {
  const make = (args: readonly PickleValue[], ctx: VmContext): PickleObject => {
    const obj: PickleObject = { kind: 'object', module, name, args, state: undefined };
    ctx.onBuild(obj, (state) => { obj.state = state; });
    return obj;
  };
  return { call: make, construct: (args, _kwargs, ctx) => make(args, ctx) };
}

const RECORD_CLASSES = ['dnnlib.tflib.network.Network', 'tfutil.Network'];

function builtinGlobals(): GlobalEntry[] {
  const entries: GlobalEntry[] = [
    ['collections', 'OrderedDict', dictClass],
    ['dnnlib.util', 'EasyDict', dictClass],
    ['_codecs', 'encode', codecsEncode],
  ];
  // Python 2 names (`__builtin__`) appear in protocol-2 pickles written by Python 3 (fix_imports).
  for (const module of ['builtins', '__builtin__']) {
    entries.push(
      [module, 'set', setClass], [module, 'frozenset', setClass],
      [module, 'bytearray', bytearrayClass], [module, 'bytes', bytesClass],
    );
  }
  return entries;
}

function splitName(dotted: string): [string, string] {
  const dot = dotted.lastIndexOf('.');
  if (dot <= 0 || dot === dotted.length - 1) throw new Error(`pickle: class name '${dotted}' must look like 'module.Name'`);
  return [dotted.slice(0, dot), dotted.slice(dot + 1)];
}

function makeResolver(recordClasses: Iterable<string>): Resolver {
  const table = new Map<string, Map<string, GlobalDef>>();
  const add = ([module, name, def]: GlobalEntry): void => {
    let names = table.get(module);
    if (!names) table.set(module, (names = new Map()));
    names.set(name, def);
  };
  for (const entry of [...builtinGlobals(), ...numpyGlobals(), ...torchGlobals()]) add(entry);
  for (const dotted of recordClasses) {
    const [module, name] = splitName(dotted);
    add([module, name, recordClass(module, name)]);
  }
  return { lookup: (module, name) => table.get(module)?.get(name) };
}

const DEFAULT_RESOLVER = makeResolver(RECORD_CLASSES);

function resolverFor(opts: PickleOptions): Resolver {
  return opts.extraClasses ? makeResolver([...RECORD_CLASSES, ...opts.extraClasses]) : DEFAULT_RESOLVER;
}

/** The allow-list, as 'module.name' strings (for documentation and audits). */
export function allowedGlobals(opts: PickleOptions = {}): string[] {
  const names = [...builtinGlobals(), ...numpyGlobals(), ...torchGlobals()].map(([m, n]) => `${m}.${n}`);
  return [...names, ...RECORD_CLASSES, ...(opts.extraClasses ?? [])];
}

/** A plain Uint8Array view (a Node Buffer would leak its class into every bytes value). */
function plainBytes(buf: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(buf) === Uint8Array.prototype ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Reads one pickle (the first stream in `buf`; trailing bytes are ignored, as Python does). */
export function readPickle(buf: Uint8Array, opts: PickleOptions = {}): PickleValue {
  const input = plainBytes(buf);
  return pickleRunner(resolverFor(opts), input.length, opts.onGlobal)(input, 0, {}).value;
}

/** Reads a `torch.save` zip archive (`<name>/data.pkl` + `<name>/data/<key>`); stored data stays zero-copy. */
export function readTorchZip(buf: Uint8Array, opts: PickleOptions = {}): PickleValue {
  const input = plainBytes(buf);
  return readTorchZipWith(input, pickleRunner(resolverFor(opts), input.length, opts.onGlobal));
}

/** Reads a legacy (pre-1.6, `_use_new_zipfile_serialization=False`) `torch.save` stream. */
export function readTorchLegacy(buf: Uint8Array, opts: PickleOptions = {}): PickleValue {
  const input = plainBytes(buf);
  return readTorchLegacyWith(input, pickleRunner(resolverFor(opts), input.length, opts.onGlobal));
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
/** The first pickle of every legacy torch stream: PROTO 2, LONG1 of the 10-byte magic number, STOP. */
const LEGACY_TORCH_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];

function startsWith(buf: Uint8Array, prefix: readonly number[]): boolean {
  return buf.length >= prefix.length && prefix.every((b, i) => buf[i] === b);
}

/** Reads a `torch.save` zip archive, a legacy `torch.save` stream or a plain pickle, chosen by the first bytes. */
export function readPickleBytes(buf: Uint8Array, opts: PickleOptions = {}): PickleValue {
  if (startsWith(buf, ZIP_MAGIC)) return readTorchZip(buf, opts);
  if (startsWith(buf, LEGACY_TORCH_MAGIC)) return readTorchLegacy(buf, opts);
  return readPickle(buf, opts);
}

/** The first bytes of a file: enough to tell a `torch.save` archive or stream from a plain pickle. */
const HEAD_BYTES = LEGACY_TORCH_MAGIC.length;

/**
 * `readPickleBytes` on a file. A plain pickle is streamed: the opcodes are read through a window, and `bytes`
 * payloads of at least `lazyBytesMin` bytes stay in the file as `FileBytes` records (numpy arrays over them read their
 * data when it is first asked for; the file must not change meanwhile). `torch.save` archives and streams are read
 * whole, and so are pipes and devices. Errors read `<path>: pickle: <problem>`.
 */
export async function readPickleFile(path: string, opts: PickleOptions = {}): Promise<PickleValue> {
  let file: ReturnType<typeof openPickleFile> | undefined;
  try {
    file = openPickleFile(path);
    const { fd, stat, source } = file;
    // A pipe or device has no size to check lengths against and cannot be read again: read it whole.
    if (!stat.isFile()) return readPickleBytes(readFileSync(fd), opts);
    const head = new Uint8Array(Math.min(HEAD_BYTES, stat.size));
    readFully(fd, head, 0);
    if (startsWith(head, ZIP_MAGIC) || startsWith(head, LEGACY_TORCH_MAGIC)) {
      const whole = new Uint8Array(stat.size);
      readFully(fd, whole, 0);
      return readPickleBytes(whole, opts);
    }
    const reader = new FileReader(fd, {
      size: stat.size, source, lazyBytesMin: opts.lazyBytesMin ?? LAZY_BYTES_MIN, windowBytes: opts.windowBytes ?? WINDOW_BYTES,
    });
    return runPickleReader(resolverFor(opts), reader, opts.onGlobal).value;
  } catch (e) {
    if (e instanceof PickleError) throw new PickleError(e.detail, e.offset, { cause: e, file: path });
    throw e;
  } finally {
    if (file) closeSync(file.fd);
  }
}
