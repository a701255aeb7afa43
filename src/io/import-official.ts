/**
 * NVIDIA's published networks, loaded directly and safely: the pickle is parsed by the safe reader (nothing in it
 * is ever executed), its format recognised, the architecture inferred from the arrays (and the static kwargs), and
 * our networks built from that config and filled through `loadStateDict`, which checks every name and shape.
 *
 * - StyleGAN1 TF pickles (`karras2019stylegan-*.pkl`): tuple(G, D, Gs) of `dnnlib.tflib.network.Network`. The TF
 *   variables (G_style's own `lod`, `dlatent_avg`, then 'G_mapping/…' and 'G_synthesis/…'; D_basic's) are exactly
 *   our state-dict names, in the TF layouts: no renaming, no transposing.
 * - ProGAN TF pickles (`karras2018iclr-*.pkl`): tuple(G, D, Gs) of `tfutil.Network` (G_paper / D_paper), with fused
 *   or separate resampling layers (see import/progan.ts).
 * - stylegan2-ada-pytorch / stylegan3 pickles: every tensor is read and reported, but no network is built (these
 *   architectures are not implemented); StyleGAN2 TF pickles (state version 4) are refused as well.
 */
import { basename } from 'node:path';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { loadNetwork, NETWORK_ROLES as TF_ROLES, type Discriminator, type Generator, type NetworkConfig, type Networks } from '../nets/index.js';
import { contiguousBytes } from './array-data.js';
import { recordToTensor, type NetworkRole } from './checkpoint.js';
import { allVariables, isTfNetworkObject, readTfNetwork, STYLEGAN_TF_CLASS, type TfNetwork } from './import/tf-network.js';
import { inferStyleGANConfig } from './import/stylegan1.js';
import { inferProGANConfig } from './import/progan.js';
import { isStyleGAN2Pickle, readStyleGAN2, styleGAN2Refusal, type TorchNetwork } from './import/stylegan2.js';
import type { JsonValue } from './import/pickle-json.js';
import { describe, isTuple, printable, readPickleFile, type PickleValue } from './pickle.js';
import { fileFormatOf, FORMAT_NAMES } from './sniff.js';
import { warnNonFiniteWeights } from './finite.js';
import { fillFromFile } from './import/file-fill.js';

export type OfficialFormat = 'stylegan1' | 'progan' | 'stylegan2-ada' | 'stylegan2-tf';

export const OFFICIAL_FORMAT_NAMES: Readonly<Record<OfficialFormat, string>> = {
  stylegan1: 'official StyleGAN1 TF pickle',
  progan: 'official ProGAN TF pickle',
  'stylegan2-ada': 'stylegan2-ada-pytorch / stylegan3 pickle',
  'stylegan2-tf': 'StyleGAN2 TF pickle',
};

/** A parsed official pickle: its TF networks by role, or its torch networks. */
export interface OfficialPickle {
  format: OfficialFormat;
  tf: Partial<Record<NetworkRole, TfNetwork>>;
  torch: TorchNetwork[];
}


function tfFormat(nets: TfNetwork[]): OfficialFormat {
  if (nets.every((n) => n.className !== STYLEGAN_TF_CLASS)) return 'progan';
  return nets.some((n) => n.version >= 4) ? 'stylegan2-tf' : 'stylegan1';
}

/** Recognises the format of a parsed pickle and reads its networks; `where` (the file) prefixes every error. */
export function readOfficial(value: PickleValue, where: string): OfficialPickle {
  if (isStyleGAN2Pickle(value)) return { format: 'stylegan2-ada', tf: {}, torch: readStyleGAN2(value, where) };
  const tf: Partial<Record<NetworkRole, TfNetwork>> = {};
  if (isTuple(value) && value.length === 3 && value.every((v: PickleValue) => isTfNetworkObject(v))) {
    value.forEach((v: PickleValue, i: number) => { tf[TF_ROLES[i]] = readTfNetwork(v, `${where}: ${TF_ROLES[i]}`); });
  } else if (isTfNetworkObject(value)) {
    // A lone network (someone pickled just Gs or D): its build function tells the role.
    const net = readTfNetwork(value, where);
    tf[net.buildFuncName.startsWith('D') ? 'D' : 'Gs'] = net;
  } else {
    const keys = value instanceof Map ? ` with keys ${[...value.keys()].map((k) => printable(String(k))).join(', ')}` : '';
    throw new Error(`${where}: not an official network pickle: expected tuple(G, D, Gs) of TF networks or a stylegan2-ada dict of G, D, G_ema; found a ${describe(value)}${keys}`);
  }
  const nets = Object.values(tf);
  if (new Set(nets.map((n) => n.className)).size > 1) throw new Error(`${where}: the networks mix StyleGAN and ProGAN classes`);
  return { format: tfFormat(nets), tf, torch: [] };
}

/** The architecture of the pickle's networks; fails for formats stylegan-ts does not implement. */
export function inferOfficialConfig(p: OfficialPickle, where: string): NetworkConfig {
  switch (p.format) {
    case 'stylegan1': return inferStyleGANConfig(p.tf, where);
    case 'progan': return inferProGANConfig(p.tf, where);
    case 'stylegan2-ada': throw styleGAN2Refusal(p.torch, where);
    case 'stylegan2-tf': {
      const funcs = Object.values(p.tf).map((n) => n.buildFuncName).join(', ');
      throw new Error(`${where}: a StyleGAN2 TensorFlow network (${funcs}, state version 4); stylegan-ts implements ProGAN and StyleGAN1 only`);
    }
  }
}

/**
 * Builds our network for `role` and fills it with the TF variables: straight from the file for arrays whose data
 * `readPickleFile` left there, else one copy each from the parsed bytes.
 */
function importNetwork(role: NetworkRole, o: { config: NetworkConfig; tf: TfNetwork; device: string; where: string }): Generator | Discriminator {
  const { tf, where } = o;
  const net = loadNetwork({
    role, config: o.config, device: o.device, source: `${where}: ${role} (${tf.buildFuncName})`,
    values: (net) => {
      // Data left in the file goes straight into the network's own tensors (loading a tensor onto itself is a no-op).
      const own = net.stateDict();
      const values = new Map<string, Tensor>();
      for (const [name, a] of allVariables(tf)) {
        const target = own.get(name);
        values.set(name, target && fillFromFile(target, a)
          ? target
          : recordToTensor({ dtype: a.dtype, shape: a.shape, data: contiguousBytes(a) }, `${where}: ${role} variable '${printable(name)}'`));
      }
      // Theano-converted ProGAN states have no level of detail; TensorFlow starts it at 0.
      for (const name of net.stateDict().keys()) if (/(^|\/)lod$/.test(name) && !values.has(name)) values.set(name, E.zeros([]));
      return values;
    },
  });
  warnNonFiniteWeights(net.stateDict(), `${where}: ${role}`);
  return net;
}

/** The static kwargs of a TF network and its components, as stored in checkpoint metadata. */
function kwargsTree(net: TfNetwork): JsonValue {
  const out: Record<string, JsonValue> = { name: net.name, build_func_name: net.buildFuncName, static_kwargs: net.staticKwargs };
  if (net.components.size) out.components = Object.fromEntries([...net.components].map(([k, c]) => [k, kwargsTree(c)]));
  return out;
}

export interface ImportOptions {
  /** Networks to build (default: all in the file; 'generator' = Gs when present, else G). */
  only?: readonly NetworkRole[] | 'generator';
  /** Device of the built networks (default 'cpu'). */
  device?: string;
}

export interface ImportedNetworks extends Networks {
  format: 'stylegan1' | 'progan';
  /** Provenance for checkpoint metadata: source_format and the static kwargs of every network. */
  metadata: Record<string, string>;
  /** Disposes every network built. */
  dispose(): void;
}

/** The roles to build from what the file holds. */
function wantedRoles(present: NetworkRole[], only: ImportOptions['only'], where: string): NetworkRole[] {
  if (only === 'generator') {
    const g = present.includes('Gs') ? 'Gs' : present.includes('G') ? 'G' : undefined;
    if (!g) throw new Error(`${where}: holds no generator (it holds ${present.join(', ')})`);
    return [g];
  }
  const wanted = only ?? present;
  for (const r of wanted) if (!present.includes(r)) throw new Error(`${where}: has no ${r} network (it holds ${present.join(', ')})`);
  return TF_ROLES.filter((r) => wanted.includes(r));
}

/** Builds our networks from an official pickle already parsed by `readPickle`; `where` names it in errors. */
export function importOfficial(value: PickleValue, where: string, o: ImportOptions = {}): ImportedNetworks {
  const p = readOfficial(value, where);
  const config = inferOfficialConfig(p, where);
  const roles = wantedRoles(TF_ROLES.filter((r) => p.tf[r]), o.only, where);
  const out: ImportedNetworks = {
    format: p.format as 'stylegan1' | 'progan', config,
    metadata: {
      source_format: OFFICIAL_FORMAT_NAMES[p.format],
      static_kwargs: JSON.stringify(Object.fromEntries(TF_ROLES.filter((r) => p.tf[r]).map((r) => [r, kwargsTree(p.tf[r]!)]))),
    },
    dispose() {
      for (const r of TF_ROLES) out[r]?.dispose();
    },
  };
  try {
    for (const role of roles) {
      const net = importNetwork(role, { config, tf: p.tf[role]!, device: o.device ?? 'cpu', where });
      if (role === 'D') out.D = net as Discriminator;
      else out[role] = net as Generator;
    }
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

/** `importOfficial` on a file; the metadata also names the file (`source`). */
export async function importOfficialFile(path: string, o: ImportOptions = {}): Promise<ImportedNetworks> {
  const format = await fileFormatOf(path, 'pickle');
  if (format === 'safetensors') {
    throw new Error(`${path}: is a safetensors checkpoint, not an official network pickle (nothing to import: pass it to --network as it is)`);
  }
  if (format !== 'pickle' && format !== 'unknown') throw new Error(`${path}: is ${FORMAT_NAMES[format]}, not an official network pickle`);
  const imported = importOfficial(await readPickleFile(path), path, o);
  imported.metadata.source = basename(path);
  return imported;
}
