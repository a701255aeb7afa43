/**
 * The TensorFlow networks inside NVIDIA's StyleGAN1 (`dnnlib.tflib.network.Network`) and ProGAN (`tfutil.Network`)
 * pickles, read from the object model of `readPickle`: each network's `__getstate__` dict, with its own variables
 * under their local names and its components (StyleGAN's G_mapping / G_synthesis) as networks of their own.
 */
import { elementCount, type NdArray } from '../array-data.js';
import { describe, isRecord, isTuple, printable, type PickleDict, type PickleValue } from '../pickle-types.js';
import { pickleToJson, type JsonValue } from './pickle-json.js';
import { ExpansionBudget } from '../limits.js';

/** One TF network of an official pickle. */
export interface TfNetwork {
  /** The pickled class, 'dnnlib.tflib.network.Network' (StyleGAN) or 'tfutil.Network' (ProGAN). */
  className: string;
  /** State version: 2 (ProGAN), 3 (StyleGAN1), 4 (StyleGAN2 TF). */
  version: number;
  /** Network name ('G', 'D', 'Gs'; 'G_paper' in Theano-converted ProGAN pickles; 'G_mapping' for components). */
  name: string;
  /** The build function of the official code: 'G_style', 'D_basic', 'G_paper', 'D_paper', … */
  buildFuncName: string;
  /** Keyword arguments the network was built with (those that differ from the build function's defaults). */
  staticKwargs: Record<string, JsonValue>;
  /** Sub-networks by key ('mapping', 'synthesis'). */
  components: Map<string, TfNetwork>;
  /** The network's own variables by local name, in creation order. */
  variables: Map<string, NdArray>;
}

export const STYLEGAN_TF_CLASS = 'dnnlib.tflib.network.Network';
export const PROGAN_TF_CLASS = 'tfutil.Network';

/** Whether a pickle value is one of the official TF network objects. */
export function isTfNetworkObject(v: PickleValue | undefined): boolean {
  return isRecord(v) && v.kind === 'object' && [STYLEGAN_TF_CLASS, PROGAN_TF_CLASS].includes(`${v.module}.${v.name}`);
}

function field(state: PickleDict, key: string, where: string): PickleValue {
  if (!state.has(key)) throw new Error(`${where}: the network state has no '${key}'`);
  return state.get(key) as PickleValue;
}

function text(state: PickleDict, key: string, where: string): string {
  const v = field(state, key, where);
  if (typeof v !== 'string') throw new Error(`${where}: network '${key}' must be a str, found ${describe(v)}`);
  return v;
}

/** Reads a TF network object (and its components, recursively); `where` names the file and the network. */
export function readTfNetwork(
  v: PickleValue, where: string, { depth = 0, nested = new ExpansionBudget(where, 'network components', { maxValues: 1000, maxDepth: 8 }) }: { depth?: number; nested?: ExpansionBudget } = {},
): TfNetwork {
  if (!isRecord(v) || v.kind !== 'object' || !isTfNetworkObject(v)) {
    throw new Error(`${where}: expected a TF network (${STYLEGAN_TF_CLASS} or ${PROGAN_TF_CLASS}), found ${describe(v)}`);
  }
  const state = v.state;
  if (!(state instanceof Map)) throw new Error(`${where}: the network has no state dict (found ${describe(state)})`);
  const version = field(state, 'version', where);
  if (typeof version !== 'number') throw new Error(`${where}: network 'version' must be an int, found ${describe(version)}`);
  const kwargs = field(state, 'static_kwargs', where);
  if (!(kwargs instanceof Map)) throw new Error(`${where}: network 'static_kwargs' must be a dict, found ${describe(kwargs)}`);
  const staticKwargs = pickleToJson(kwargs, new ExpansionBudget(where, 'static_kwargs')) as Record<string, JsonValue>;

  const variables = new Map<string, NdArray>();
  const list = field(state, 'variables', where);
  if (!Array.isArray(list)) throw new Error(`${where}: network 'variables' must be a list, found ${describe(list)}`);
  for (const pair of list) {
    if (!isTuple(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
      throw new Error(`${where}: network variables must be (name, array) pairs, found ${describe(pair)}`);
    }
    const [name, value] = pair as [string, PickleValue];
    if (!isRecord(value) || value.kind !== 'ndarray') throw new Error(`${where}: variable '${printable(name)}' is a ${describe(value)}, not a numpy array`);
    if (variables.has(name)) throw new Error(`${where}: variable '${printable(name)}' appears twice`);
    variables.set(name, value);
  }

  const components = new Map<string, TfNetwork>();
  const comps = state.get('components');
  if (comps !== undefined) {
    if (!(comps instanceof Map)) throw new Error(`${where}: network 'components' must be a dict, found ${describe(comps)}`);
    for (const [key, comp] of comps) {
      if (typeof key !== 'string') throw new Error(`${where}: component keys must be str, found ${describe(key)}`);
      nested.visit(depth + 1);
      components.set(key, readTfNetwork(comp, `${where} component '${printable(key)}'`, { depth: depth + 1, nested }));
    }
  }
  return {
    className: `${v.module}.${v.name}`, version, name: text(state, 'name', where),
    buildFuncName: text(state, 'build_func_name', where), staticKwargs, components, variables,
  };
}

/**
 * Every variable under its TF full name: the network's own variables under their local names, then each
 * component's under '<component name>/' (e.g. 'G_mapping/Dense0/weight'), recursively.
 */
export function allVariables(net: TfNetwork, prefix = '', out = new Map<string, NdArray>()): Map<string, NdArray> {
  for (const [name, value] of net.variables) out.set(`${prefix}${name}`, value);
  for (const comp of net.components.values()) allVariables(comp, `${prefix}${comp.name}/`, out);
  return out;
}

/** Number of values held by the network's variables, components included. */
export function valueCount(net: TfNetwork): number {
  let n = 0;
  for (const a of allVariables(net).values()) n += elementCount(a.shape);
  return n;
}

/** The component under `key`, checked to be built by `buildFunc`. */
export function component(net: TfNetwork, { key, buildFunc, where }: { key: string; buildFunc: string; where: string }): TfNetwork {
  const comp = net.components.get(key);
  if (!comp) throw new Error(`${where}: ${net.buildFuncName} network '${net.name}' has no '${key}' component (it has ${[...net.components.keys()].join(', ') || 'none'})`);
  if (comp.buildFuncName !== buildFunc) throw new Error(`${where}: component '${key}' is built by ${comp.buildFuncName}, expected ${buildFunc}`);
  return comp;
}

/** Shape of a variable, failing with the network and the name when it is missing. */
export function shapeOf(net: TfNetwork, name: string, where: string): number[] {
  const a = net.variables.get(name);
  if (!a) throw new Error(`${where}: ${net.name} has no variable '${name}'`);
  return a.shape;
}

/** Largest N such that every `pattern` match gives an index in 0..N-1 (the number of numbered layers). */
export function countNumbered(net: TfNetwork, pattern: RegExp): number {
  let n = 0;
  for (const name of net.variables.keys()) {
    const m = pattern.exec(name);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/** Typed access to a network's static kwargs, falling back to the build function's defaults. */
export class Kwargs {
  constructor(readonly net: TfNetwork, readonly where: string) {}

  has(key: string): boolean {
    return key in this.net.staticKwargs && this.net.staticKwargs[key] !== null;
  }
  /** Whether the kwarg is given as None (which turns a feature off, unlike leaving it out). */
  isNone(key: string): boolean {
    return key in this.net.staticKwargs && this.net.staticKwargs[key] === null;
  }
  /** The value when set (None counts as unset). */
  raw(key: string): JsonValue | undefined {
    return this.has(key) ? this.net.staticKwargs[key] : undefined;
  }
  number(key: string, fallback: number): number {
    const v = this.raw(key) ?? fallback;
    if (typeof v !== 'number') throw new Error(`${this.where}: ${this.net.name} static kwarg ${key}=${JSON.stringify(v)} must be a number`);
    return v;
  }
  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key) ?? fallback;
    if (typeof v !== 'boolean' && v !== 0 && v !== 1) throw new Error(`${this.where}: ${this.net.name} static kwarg ${key}=${JSON.stringify(v)} must be a bool`);
    return Boolean(v);
  }
  /** Fails when a kwarg is set to something our networks cannot express. */
  requireDefault(key: string, supported: JsonValue, what: string): void {
    const v = this.raw(key);
    if (v !== undefined && JSON.stringify(v) !== JSON.stringify(supported) && !(supported === true && v === 1)) {
      throw new Error(`${this.where}: ${this.net.name} was built with ${key}=${JSON.stringify(v)}; stylegan-ts supports only ${JSON.stringify(supported)} (${what})`);
    }
  }
}
