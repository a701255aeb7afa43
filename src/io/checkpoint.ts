/**
 * Network checkpoints as safetensors: tensors are named `<network>/<official variable name>` (G, D, Gs), and the
 * metadata holds the format tag, the architecture config (JSON) and any caller-supplied entries (training state,
 * provenance). Files are written atomically; loading validates every name, shape and dtype against the architecture
 * and reports all mismatches at once, naming the file.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { loadNetwork, validate, NETWORK_ROLES as ROLES, type NetworkConfig, type Discriminator, type Generator, type NetworkRole, type Networks } from '../nets/index.js';
import { readSafetensorsFile, writeSafetensorsFile } from './safetensors.js';
import type { DeferredRecord, TensorRecord } from './tensor-record.js';
import { warnNonFiniteWeights } from './finite.js';

export const CHECKPOINT_FORMAT = 'stylegan-ts/1';
export type { NetworkRole } from '../nets/index.js';

const ENGINE_DTYPES = new Set<string>(['float32', 'float16', 'bfloat16', 'float64', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool']);

/** Engine tensor → engine-agnostic record (one copy out of native memory). */
export function tensorToRecord(t: Tensor): TensorRecord {
  const a = t.toTypedArray();
  return { dtype: t.dtype, shape: t.shape, data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) };
}

/** Record → CPU engine tensor (one copy into native memory). */
export function recordToTensor(r: TensorRecord, where = 'tensor'): Tensor {
  if (!ENGINE_DTYPES.has(r.dtype)) throw new Error(`${where}: dtype ${r.dtype} is not supported by the engine`);
  return E.fromTypedArray(r.data, r.shape, r.dtype as E.DType);
}

export interface SaveOptions {
  config: NetworkConfig;
  nets: Omit<Networks, 'config'>;
  /** Extra string metadata (training state, provenance). */
  metadata?: Record<string, string>;
  /** Extra tensors stored under their own names (optimizer moments, RNG state); must not start with G/, D/ or Gs/. */
  extra?: Map<string, Tensor>;
  /** Storage dtype of floating variables (float16 halves the file; values are cast back on load). */
  dtype?: 'float32' | 'float16';
}

/**
 * Writes a checkpoint atomically. Each tensor is copied out of the engine when the writer reaches it, through one
 * reused buffer, so the write holds no second copy of the weights: the networks and `extra` tensors must not change
 * (nor be disposed) until the returned promise settles.
 */
export async function saveCheckpoint(path: string, o: SaveOptions): Promise<void> {
  const records = new Map<string, DeferredRecord>();
  let buffer = new Uint8Array(0);
  const deferred = (t: Tensor, dtype: E.DType): DeferredRecord => ({
    dtype, shape: t.shape,
    bytes: () => {
      const n = t.numel * E.itemSize[dtype];
      if (buffer.length < n) buffer = new Uint8Array(n);
      const view = buffer.subarray(0, n);
      E.tidy(() => {
        const stored = dtype === t.dtype ? t.detach() : t.detach().to(dtype);
        stored.copyInto(view);
      });
      return view;
    },
  });
  for (const role of ROLES) {
    const net = o.nets[role];
    if (!net) continue;
    for (const [name, t] of net.stateDict()) {
      records.set(`${role}/${name}`, deferred(t, o.dtype === 'float16' && t.dtype === 'float32' ? 'float16' : t.dtype));
    }
  }
  for (const [name, t] of o.extra ?? []) {
    if (/^(G|D|Gs)\//.test(name)) throw new Error(`checkpoint ${path}: extra tensor '${name}' collides with a network prefix`);
    records.set(name, deferred(t, t.dtype));
  }
  const metadata: Record<string, string> = {
    ...(o.metadata ?? {}),
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(o.config),
    networks: ROLES.filter((r) => o.nets[r]).join(','),
  };
  await writeSafetensorsFile(path, records, metadata);
}

export interface Checkpoint extends Networks {
  path: string;
  metadata: Record<string, string>;
  /** Tensors outside the networks (as records; convert with recordToTensor). */
  extra: Map<string, TensorRecord>;
}

export interface LoadOptions {
  /** Which networks to build (default: all present; 'generator' = Gs when present, else G). */
  only?: NetworkRole[] | 'generator';
  device?: string;
}

/** Reads a checkpoint, builds its networks from the stored config and loads their variables. */
export async function loadCheckpoint(path: string, o: LoadOptions = {}): Promise<Checkpoint> {
  const { tensors, metadata } = await readSafetensorsFile(path);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: not a stylegan-ts checkpoint (metadata format is ${JSON.stringify(metadata.format ?? null)}, expected '${CHECKPOINT_FORMAT}')`);
  }
  let config: NetworkConfig;
  try {
    config = JSON.parse(metadata.config ?? '') as NetworkConfig;
    validate(config);
  } catch (e) {
    throw new Error(`${path}: invalid architecture config in metadata: ${(e as Error).message}`);
  }
  const present = (metadata.networks ?? '').split(',').filter((r): r is NetworkRole => ROLES.includes(r as NetworkRole));
  const wanted = o.only === 'generator' ? [present.includes('Gs') ? 'Gs' as const : 'G' as const] : o.only ?? present;
  for (const r of wanted) if (!present.includes(r)) throw new Error(`${path}: has no ${r} network (it holds ${present.join(', ') || 'none'})`);
  const out: Checkpoint = { path, config, metadata, extra: new Map() };
  const byRole = new Map<NetworkRole, Map<string, TensorRecord>>();
  for (const [name, rec] of tensors) {
    const m = /^(G|D|Gs)\/(.*)$/.exec(name);
    if (!m) {
      out.extra.set(name, rec);
      continue;
    }
    const role = m[1] as NetworkRole;
    if (!byRole.has(role)) byRole.set(role, new Map());
    byRole.get(role)!.set(m[2]!, rec);
  }
  for (const role of wanted) {
    let net: Generator | Discriminator;
    try {
      // Built in uninitialized memory: a config within the checked ranges that the tensors do not match costs no RSS.
      net = loadNetwork({
        role, config, device: o.device, source: `${path} (${role})`,
        values: () => new Map([...byRole.get(role) ?? []].map(([name, rec]) => [name, recordToTensor(rec, `${path}: ${role}/${name}`)])),
      });
    } catch (e) {
      if ((e as Error).message.startsWith(path)) throw e;
      throw new Error(`${path}: cannot build ${role} from the config in its metadata: ${(e as Error).message}`, { cause: e });
    }
    warnNonFiniteWeights(net.stateDict(), `${path}: ${role}`);
    (out as unknown as Record<NetworkRole, unknown>)[role] = net;
  }
  return out;
}

/** The generator to sample from: Gs (the moving average) when present, else G. */
export async function loadGenerator(path: string, device?: string): Promise<{ G: Generator; config: NetworkConfig; metadata: Record<string, string> }> {
  const ck = await loadCheckpoint(path, { only: 'generator', device });
  return { G: (ck.Gs ?? ck.G)!, config: ck.config, metadata: ck.metadata };
}
