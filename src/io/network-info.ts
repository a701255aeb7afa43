/**
 * What a network file holds, for `stylegan info`: the format (official StyleGAN1 / ProGAN / stylegan2-ada pickle,
 * or stylegan-ts checkpoint), its networks with their parameter counts and tensors, the architecture, and the
 * metadata (static kwargs of TF networks, checkpoint metadata). Files whose networks stylegan-ts cannot build are
 * still described, with the reason in `problem`.
 */
import { classNamesOf } from './class-names.js';
import { stat } from 'node:fs/promises';
import type { NetworkConfig, StatefulNetwork } from '../nets/index.js';
import { elementCount } from './array-data.js';
import { loadCheckpoint, type NetworkRole } from './checkpoint.js';
import {
  importOfficial, inferOfficialConfig, OFFICIAL_FORMAT_NAMES, readOfficial, type OfficialFormat, type OfficialPickle,
} from './import-official.js';
import { allVariables } from './import/tf-network.js';
import { parameterCount, styleGAN2Refusal } from './import/stylegan2.js';
import type { JsonValue } from './import/pickle-json.js';
import { networkFileKind } from './open-network.js';
import { readPickleFile, type PickleValue } from './pickle.js';

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
}

export interface NetworkInfo {
  /** 'G', 'D', 'Gs' (TF pickles, checkpoints) or 'G', 'D', 'G_ema' (stylegan2-ada). */
  role: string;
  /** Build function (TF), module class (stylegan2-ada) or our network class (checkpoints). */
  kind: string;
  /** Trainable values, when known (TF and checkpoint networks once built; stylegan2-ada parameters). */
  parameters?: number;
  /** Every value stored for the network, non-trainable ones (lod, noise, averages) included. */
  values: number;
  tensors: TensorInfo[];
}

export interface NetworkFileInfo {
  path: string;
  bytes: number;
  kind: OfficialFormat | 'checkpoint';
  /** The format in words, e.g. 'official StyleGAN1 TF pickle'. */
  format: string;
  resolution?: number;
  channels?: number;
  labels?: number;
  /** Names of the classes, when known. */
  classNames?: string[];
  config?: NetworkConfig;
  networks: NetworkInfo[];
  metadata: Record<string, JsonValue>;
  /** Why stylegan-ts cannot build networks from the file, when it cannot. */
  problem?: string;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function tensorsOf(entries: Iterable<[string, { dtype: string; shape: readonly number[] }]>): TensorInfo[] {
  return [...entries].map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape] }));
}

function architecture(config: NetworkConfig): Pick<NetworkFileInfo, 'resolution' | 'channels' | 'labels' | 'config'> {
  return { resolution: config.resolution, channels: config.numChannels, labels: config.labelSize, config };
}

/** Parameter counts of the networks our classes build from a TF pickle (building them checks the file too). */
function tfParameters(value: PickleValue, where: string): Map<string, number> {
  const imported = importOfficial(value, where);
  try {
    return new Map((['G', 'D', 'Gs'] as const).filter((r) => imported[r]).map((r) => [r, imported[r]!.numParams()]));
  } finally {
    imported.dispose();
  }
}

function describeTf(p: OfficialPickle, value: PickleValue, where: string): Omit<NetworkFileInfo, 'path' | 'bytes'> {
  const info: Omit<NetworkFileInfo, 'path' | 'bytes'> = { kind: p.format, format: OFFICIAL_FORMAT_NAMES[p.format], networks: [], metadata: {} };
  let parameters = new Map<string, number>();
  try {
    Object.assign(info, architecture(inferOfficialConfig(p, where)));
    parameters = tfParameters(value, where);
  } catch (e) {
    info.problem = (e as Error).message;
  }
  for (const role of ['G', 'D', 'Gs'] as NetworkRole[]) {
    const net = p.tf[role];
    if (!net) continue;
    const vars = allVariables(net);
    const kind = [net.buildFuncName, ...[...net.components.values()].map((c) => c.buildFuncName)].join(' + ');
    info.networks.push({
      role, kind, parameters: parameters.get(role),
      values: sum([...vars.values()].map((a) => elementCount(a.shape))), tensors: tensorsOf(vars),
    });
    info.metadata[role] = { name: net.name, version: net.version, static_kwargs: net.staticKwargs };
  }
  return info;
}

function describeStyleGAN2(p: OfficialPickle, where: string): Omit<NetworkFileInfo, 'path' | 'bytes'> {
  const info: Omit<NetworkFileInfo, 'path' | 'bytes'> = {
    kind: p.format, format: OFFICIAL_FORMAT_NAMES[p.format], networks: [], metadata: {}, problem: styleGAN2Refusal(p.torch, where).message,
  };
  for (const net of p.torch) {
    info.networks.push({
      role: net.role, kind: net.className, parameters: parameterCount(net),
      values: sum([...net.tensors.values()].map((t) => elementCount(t.shape))), tensors: tensorsOf(net.tensors),
    });
    info.metadata[net.role] = net.attrs;
  }
  const g = p.torch.find((n) => n.role === 'G_ema') ?? p.torch[0];
  const num = (key: string) => (typeof g?.attrs[key] === 'number' ? (g.attrs[key] as number) : undefined);
  Object.assign(info, { resolution: num('img_resolution'), channels: num('img_channels'), labels: num('c_dim') });
  return info;
}

async function describeCheckpoint(path: string): Promise<Omit<NetworkFileInfo, 'path' | 'bytes'>> {
  const ck = await loadCheckpoint(path);
  try {
    const networks: NetworkInfo[] = [];
    for (const role of ['G', 'D', 'Gs'] as const) {
      const net: StatefulNetwork | undefined = ck[role];
      if (!net) continue;
      const state = net.stateDict();
      networks.push({
        role, kind: net.constructor.name, parameters: net.numParams(),
        values: sum([...state.values()].map((t) => t.numel)), tensors: tensorsOf(state),
      });
    }
    if (ck.extra.size) {
      networks.push({ role: 'extra', kind: 'tensors', values: sum([...ck.extra.values()].map((r) => elementCount(r.shape))), tensors: tensorsOf(ck.extra) });
    }
    const metadata: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(ck.metadata)) if (k !== 'config') metadata[k] = v;
    const classNames = classNamesOf(ck.metadata, ck.config.labelSize) ?? undefined;
    return { kind: 'checkpoint', format: `stylegan-ts checkpoint (${ck.metadata.format})`, ...architecture(ck.config), classNames, networks, metadata };
  } finally {
    for (const role of ['G', 'D', 'Gs'] as const) ck[role]?.dispose();
  }
}

/** Describes a network file: an official pickle or a stylegan-ts checkpoint. */
export async function inspectNetworkFile(path: string): Promise<NetworkFileInfo> {
  const kind = await networkFileKind(path);
  const bytes = (await stat(path)).size;
  if (kind === 'checkpoint') return { path, bytes, ...(await describeCheckpoint(path)) };
  const value = await readPickleFile(path);
  const p = readOfficial(value, path);
  return { path, bytes, ...(p.format === 'stylegan2-ada' ? describeStyleGAN2(p, path) : describeTf(p, value, path)) };
}
