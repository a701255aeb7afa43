/**
 * torch in pickles: tensors and parameters (`torch._utils._rebuild_*`), storages, the legacy
 * `torch.save` stream (also the format of the storage blobs that `torch.storage._load_from_bytes` reads
 * inside stylegan2-ada / stylegan3 pickles), `torch.save` zip archives, and stylegan2-ada's
 * `torch_utils.persistence` objects.
 */
import { elementCount, ITEM_SIZE, type DType, type TorchStorage, type TorchTensor } from './array-data.js';
import { shapeOf } from './pickle-numpy.js';
import {
  describe, isBytes, isRecord, isTuple, PickleError,
  type PersistentObject, type PickleValue,
} from './pickle-types.js';
import type { GlobalDef, GlobalEntry, StreamRunner, VmContext } from './pickle-vm.js';
import { readZipDirectory, zipEntryData, ZipError } from './zip.js';

/** `torch.<Name>Storage` classes and their element types. */
const STORAGE_DTYPES = new Map<string, DType>([
  ['FloatStorage', 'float32'], ['DoubleStorage', 'float64'], ['HalfStorage', 'float16'],
  ['BFloat16Storage', 'bfloat16'], ['LongStorage', 'int64'], ['IntStorage', 'int32'],
  ['ShortStorage', 'int16'], ['CharStorage', 'int8'], ['ByteStorage', 'uint8'], ['BoolStorage', 'bool'],
]);

/** First value of a legacy `torch.save` stream. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** Second value of a legacy `torch.save` stream. */
const LEGACY_PROTOCOL = 1001;

const EMPTY = new Uint8Array(0);

function storageDtype(v: PickleValue): DType {
  const dtype = isRecord(v) && v.kind === 'global' && v.module === 'torch' ? STORAGE_DTYPES.get(v.name) : undefined;
  if (!dtype) throw new PickleError(`torch storage type must be a torch.*Storage class, found ${describe(v)}`);
  return dtype;
}

function count(v: PickleValue, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new PickleError(`${what} must be a non-negative int, found ${typeof v === 'number' ? v : describe(v)}`);
  }
  return v;
}

/**
 * A storage from its persistent id `('storage', torch.<T>Storage, key, location, numel[, view])`,
 * shared between all ids with the same key. `data` is filled in by the caller.
 */
function storageFromId(pid: PickleValue, storages: Map<string, TorchStorage>): TorchStorage {
  if (!isTuple(pid) || pid.length < 5 || pid[0] !== 'storage') {
    throw new PickleError(`persistent id must be a ('storage', …) tuple, found ${describe(pid)}`);
  }
  const [, type, key, location, numelV] = pid;
  const dtype = storageDtype(type);
  if (typeof key !== 'string' || typeof location !== 'string') throw new PickleError('torch storage key and location must be str');
  if (pid.length > 5 && pid[5] !== null) throw new PickleError('torch storage views (legacy view metadata) are not supported');
  const numel = count(numelV, 'torch storage size');
  const known = storages.get(key);
  if (known) {
    if (known.dtype !== dtype || known.numel !== numel) throw new PickleError(`torch storage '${key}' is declared twice with different types`);
    return known;
  }
  const storage: TorchStorage = { kind: 'storage', dtype, numel, key, location, data: EMPTY };
  storages.set(key, storage);
  return storage;
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])`. */
function rebuildTensor(args: readonly PickleValue[]): TorchTensor {
  const [storage, offsetV, sizeV, strideV, requiresGrad] = args;
  if (!isRecord(storage) || storage.kind !== 'storage') throw new PickleError(`torch tensor needs a storage, found ${describe(storage)}`);
  const storageOffset = count(offsetV, 'torch tensor storage offset');
  const shape = shapeOf(sizeV, 'torch tensor size');
  const stride = shapeOf(strideV, 'torch tensor stride');
  if (stride.length !== shape.length) throw new PickleError('torch tensor size and stride differ in length');
  if (elementCount(shape) > 0) {
    const last = shape.reduce((at, d, i) => at + (d - 1) * stride[i], storageOffset);
    if (last >= storage.numel) {
      throw new PickleError(`torch tensor reaches element ${last} of a storage of ${storage.numel}`);
    }
  }
  return {
    kind: 'tensor', dtype: storage.dtype, shape, stride, storageOffset, storage,
    requiresGrad: requiresGrad === true, isParameter: false,
  };
}

/** `_rebuild_parameter(tensor, requires_grad, hooks[, state])`. */
function rebuildParameter(args: readonly PickleValue[]): TorchTensor {
  const [tensor, requiresGrad] = args;
  if (!isRecord(tensor) || tensor.kind !== 'tensor') throw new PickleError(`torch parameter needs a tensor, found ${describe(tensor)}`);
  return { ...tensor, requiresGrad: requiresGrad === true, isParameter: true };
}

function atLeast(n: number, what: string, f: (args: readonly PickleValue[]) => PickleValue): GlobalDef {
  return {
    call(args) {
      if (args.length < n) throw new PickleError(`${what} needs ${n} arguments, found ${args.length}`);
      return f(args);
    },
  };
}

/** Reads the `numel` prefix and data of each storage after the pickles of a legacy stream. */
function readLegacyStorageData(buf: Uint8Array, { pos, keys, storages }: { pos: number; keys: PickleValue; storages: Map<string, TorchStorage> }): void {
  if (!Array.isArray(keys)) throw new PickleError(`torch legacy stream: storage keys must be a list, found ${describe(keys)}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const filled = new Set<string>();
  for (const key of keys) {
    const storage = typeof key === 'string' ? storages.get(key) : undefined;
    if (!storage || filled.has(storage.key)) throw new PickleError(`torch legacy stream: unexpected storage key ${typeof key === 'string' ? `'${key.slice(0, 40)}'` : describe(key)}`);
    if (buf.length - pos < 8) throw new PickleError(`torch legacy stream: storage '${storage.key}' has no size`);
    const numel = view.getBigInt64(pos, true);
    if (numel !== BigInt(storage.numel)) throw new PickleError(`torch legacy stream: storage '${storage.key}' has ${numel} elements, expected ${storage.numel}`);
    const bytes = storage.numel * ITEM_SIZE[storage.dtype];
    if (bytes > buf.length - pos - 8) throw new PickleError(`truncated input: torch storage '${storage.key}' needs ${bytes} bytes, ${buf.length - pos - 8} left`);
    storage.data = buf.subarray(pos + 8, pos + 8 + bytes);
    filled.add(storage.key);
    pos += 8 + bytes;
  }
  for (const key of storages.keys()) {
    if (!filled.has(key)) throw new PickleError(`torch legacy stream: storage '${key}' has no data`);
  }
}

/**
 * A legacy (non-zip) `torch.save` stream: magic, protocol version, system info, the object, the
 * storage keys (five pickles), then the data of each storage.
 */
export function readTorchLegacyWith(buf: Uint8Array, run: StreamRunner): PickleValue {
  let pos = 0;
  const storages = new Map<string, TorchStorage>();
  const next = (persistent: boolean): PickleValue => {
    const r = run(buf, pos, persistent ? { persistentLoad: (pid) => storageFromId(pid, storages) } : {});
    pos = r.end;
    return r.value;
  };
  if (next(false) !== LEGACY_MAGIC) throw new PickleError('torch legacy stream: bad magic number');
  const protocol = next(false);
  if (protocol !== LEGACY_PROTOCOL) throw new PickleError(`torch legacy stream: unsupported protocol ${typeof protocol === 'number' ? protocol : describe(protocol)}`);
  const sysInfo = next(false);
  if (!(sysInfo instanceof Map)) throw new PickleError('torch legacy stream: system info must be a dict');
  if (sysInfo.get('little_endian') === false) throw new PickleError('torch legacy stream: big-endian data is not supported');
  const value = next(true);
  const keys = next(false);
  readLegacyStorageData(buf, { pos, keys, storages });
  return value;
}

/** Zip problems as pickle errors (they also surface inside the machine, from persistent ids). */
function fromZip<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ZipError) throw new PickleError(`torch ${e.message}`, undefined, { cause: e });
    throw e;
  }
}

/** A `torch.save` zip archive: `<name>/data.pkl` with storages in `<name>/data/<key>`. */
export function readTorchZipWith(buf: Uint8Array, run: StreamRunner): PickleValue {
  const entries = fromZip(() => readZipDirectory(buf));
  const pkl = [...entries.values()].filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pkl.length !== 1) throw new PickleError('torch zip: expected exactly one <name>/data.pkl entry');
  const prefix = pkl[0].name.slice(0, -'data.pkl'.length);
  const order = entries.get(`${prefix}byteorder`);
  if (order && new TextDecoder().decode(fromZip(() => zipEntryData(buf, order))) !== 'little') {
    throw new PickleError('torch zip: big-endian data is not supported');
  }
  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: PickleValue): TorchStorage => {
    const known = storages.size;
    const storage = storageFromId(pid, storages);
    if (storages.size === known) return storage;
    const entry = entries.get(`${prefix}data/${storage.key}`);
    if (!entry) throw new PickleError(`torch zip: storage '${storage.key}' has no data entry`);
    const data = fromZip(() => zipEntryData(buf, entry));
    const bytes = storage.numel * ITEM_SIZE[storage.dtype];
    if (data.length < bytes) throw new PickleError(`torch zip: storage '${storage.key}' has ${data.length} bytes, needs ${bytes}`);
    storage.data = data.subarray(0, bytes);
    return storage;
  };
  return run(fromZip(() => zipEntryData(buf, pkl[0])), 0, { persistentLoad }).value;
}

/** `torch.storage._load_from_bytes(blob)`: a legacy `torch.save` stream embedded as bytes. */
const loadFromBytesDef: GlobalDef = {
  call(args, ctx: VmContext) {
    const blob = args[0];
    if (!isBytes(blob)) throw new PickleError(`torch _load_from_bytes needs bytes, found ${describe(blob)}`);
    ctx.charge(blob.length);
    try {
      return readTorchLegacyWith(ctx.bytes(blob), ctx.run);
    } catch (e) {
      if (!(e instanceof PickleError)) throw e;
      const where = e.offset === undefined ? '' : ` (at its byte ${e.offset})`;
      throw new PickleError(`in embedded torch storage: ${e.detail}${where}`, undefined, { cause: e });
    }
  },
};

/** `torch_utils.persistence._reconstruct_persistent_obj(meta)`. */
const persistentDef: GlobalDef = {
  call(args) {
    const meta = args[0];
    if (!(meta instanceof Map)) throw new PickleError(`persistent object needs a meta dict, found ${describe(meta)}`);
    const [type, version, moduleSrc, className, state] = ['type', 'version', 'module_src', 'class_name', 'state'].map((k) => meta.get(k));
    if (type !== 'class') throw new PickleError(`persistent object type must be 'class', found ${describe(type)}`);
    if (typeof version !== 'number' || typeof moduleSrc !== 'string' || typeof className !== 'string') {
      throw new PickleError('persistent object meta needs version (int), module_src (str) and class_name (str)');
    }
    if (!(state instanceof Map) && state !== null && state !== undefined) {
      throw new PickleError(`persistent object state must be a dict, found ${describe(state)}`);
    }
    return { kind: 'persistent', className, version, moduleSrc, state: state ?? new Map() } satisfies PersistentObject;
  },
};

/** The torch and stylegan2-ada part of the allow-list. */
export function torchGlobals(): GlobalEntry[] {
  const entries: GlobalEntry[] = [...STORAGE_DTYPES.keys()].map((name) => ['torch', name, {}] as const);
  entries.push(
    ['torch._utils', '_rebuild_tensor_v2', atLeast(4, 'torch _rebuild_tensor_v2', rebuildTensor)],
    ['torch._utils', '_rebuild_tensor', atLeast(4, 'torch _rebuild_tensor', rebuildTensor)],
    ['torch._utils', '_rebuild_parameter', atLeast(2, 'torch _rebuild_parameter', rebuildParameter)],
    ['torch._utils', '_rebuild_parameter_with_state', atLeast(2, 'torch _rebuild_parameter_with_state', rebuildParameter)],
    ['torch.storage', '_load_from_bytes', loadFromBytesDef],
    ['torch_utils.persistence', '_reconstruct_persistent_obj', persistentDef],
  );
  return entries;
}
