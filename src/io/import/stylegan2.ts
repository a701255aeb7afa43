/**
 * stylegan2-ada-pytorch / stylegan3 pickles: a dict whose 'G', 'D' and 'G_ema' entries are `torch_utils.persistence`
 * objects wrapping torch modules. Their tensors are read under their state_dict names, prefixed with the entry
 * ('G_ema.synthesis.b4.conv1.weight'). stylegan-ts does not implement StyleGAN2 / StyleGAN3, so these files can be
 * inspected but not turned into networks.
 */
import { elementCount, type TorchTensor } from '../array-data.js';
import { describe, isRecord, printable, type PersistentObject, type PickleDict, type PickleValue } from '../pickle-types.js';
import { pickleToJson, type JsonValue } from './pickle-json.js';
import { ExpansionBudget } from '../limits.js';

/** The networks of a stylegan2-ada pickle, in file order. */
export const STYLEGAN2_ROLES = ['G', 'D', 'G_ema'] as const;

export interface TorchNetwork {
  role: string;
  /** Class of the top module ('Generator', 'Discriminator'). */
  className: string;
  /** Parameters and buffers by full name, in module order. */
  tensors: Map<string, TorchTensor>;
  /** Names in `tensors` that are parameters (the others are buffers). */
  parameters: Set<string>;
  /** Plain attributes of the top module (img_resolution, img_channels, c_dim, z_dim, w_dim, …). */
  attrs: Record<string, JsonValue>;
}

/** Whether a pickle's top level looks like a stylegan2-ada / stylegan3 snapshot. */
export function isStyleGAN2Pickle(v: PickleValue): v is PickleDict {
  return v instanceof Map && STYLEGAN2_ROLES.some((k) => isRecord(v.get(k)) && (v.get(k) as { kind: string }).kind === 'persistent');
}

function dictField(obj: PersistentObject, key: string, where: string): PickleDict {
  const v = obj.state.get(key) ?? new Map();
  if (!(v instanceof Map)) throw new Error(`${where}: module ${printable(obj.className)} '${key}' must be a dict, found ${describe(v)}`);
  return v;
}

function walk(obj: PersistentObject, { prefix, net, where, depth, modules }: { prefix: string; net: TorchNetwork; where: string; depth: number; modules: ExpansionBudget }): void {
  modules.visit(depth);
  for (const key of ['_parameters', '_buffers']) {
    for (const [name, t] of dictField(obj, key, where)) {
      if (t === null) continue;
      if (!isRecord(t) || t.kind !== 'tensor') throw new Error(`${where}: ${prefix}${String(name)} is a ${describe(t)}, not a torch tensor`);
      const full = `${prefix}${String(name)}`;
      net.tensors.set(full, t);
      if (key === '_parameters') net.parameters.add(full);
    }
  }
  for (const [name, child] of dictField(obj, '_modules', where)) {
    if (child === null) continue;
    if (!isRecord(child) || child.kind !== 'persistent') throw new Error(`${where}: module ${prefix}${String(name)} is a ${describe(child)}`);
    walk(child, { prefix: `${prefix}${String(name)}.`, net, where, depth: depth + 1, modules });
  }
}

/** Reads every tensor of the G, D and G_ema entries. */
export function readStyleGAN2(top: PickleDict, where: string): TorchNetwork[] {
  const nets: TorchNetwork[] = [];
  for (const role of STYLEGAN2_ROLES) {
    const obj = top.get(role);
    if (obj === undefined || obj === null) continue;
    if (!isRecord(obj) || obj.kind !== 'persistent') throw new Error(`${where}: '${role}' is a ${describe(obj)}, not a persistent torch module`);
    const attrs: Record<string, JsonValue> = {};
    const budget = new ExpansionBudget(`${where} ${role}`, 'module attributes');
    for (const [k, v] of obj.state) {
      if (typeof k === 'string' && !k.startsWith('_') && k !== 'training' && !(v instanceof Map)) attrs[k] = pickleToJson(v, budget);
    }
    const net: TorchNetwork = { role, className: obj.className, tensors: new Map(), parameters: new Set(), attrs };
    walk(obj, { prefix: `${role}.`, net, where, depth: 0, modules: new ExpansionBudget(where, 'torch modules', { maxValues: 10_000 }) });
    nets.push(net);
  }
  return nets;
}

/** Number of values in a network's parameters (its trainable size). */
export function parameterCount(net: TorchNetwork): number {
  let n = 0;
  for (const name of net.parameters) n += elementCount(net.tensors.get(name)!.shape);
  return n;
}

/** The error for trying to build a network from a stylegan2-ada / stylegan3 pickle. */
export function styleGAN2Refusal(nets: TorchNetwork[], where: string): Error {
  const total = nets.reduce((n, net) => n + net.tensors.size, 0);
  const parts = nets.map((n) => `${n.role}: ${n.tensors.size}`).join(', ');
  return new Error(`${where}: a StyleGAN2/3 (stylegan2-ada-pytorch) network: ${total} tensors read (${parts}); `
    + 'stylegan-ts implements ProGAN and StyleGAN1 only (`stylegan info --tensors` lists them)');
}
