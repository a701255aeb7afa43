/**
 * A network's variables, stored the way the official TensorFlow networks store them: a flat, ordered namespace of
 * local names ('4x4/Conv/weight', 'Dense0/bias', 'noise3', 'lod'), TF layouts (conv [kh, kw, Cin, Cout], dense
 * [in, out]), and a per-variable runtime multiplier for the equalized learning rate. Non-trainable variables (lod,
 * dlatent_avg, stored noise) are buffers: saved, imported and copied, but not optimized.
 */
import * as E from '../engine/index.js';
import { TensorDict, Generator, noGrad, isGradEnabled, mutationEpoch, keep, tidy, type Tensor, type DType } from '../engine/index.js';

export interface VariableInfo {
  shape: number[];
  trainable: boolean;
  /** Runtime multiplier: the value used in the forward pass is stored × coef (equalized learning rate, lrmul). */
  coef: number;
}

/** A prepared form of a variable and what it was computed from. */
interface Prepared {
  form: string;
  source: Tensor;
  epoch: number;
  value: Tensor;
}

let initMode: 'random' | 'none' = 'random';

/**
 * Builds networks whose variables are left uninitialized (no random draws): for loaders that overwrite every variable
 * right away (checkpoints, official pickles), where the initialization would only cost time.
 */
export function withoutInit<T>(build: () => T): T {
  const previous = initMode;
  initMode = 'none';
  try {
    return build();
  } finally {
    initMode = previous;
  }
}

export class Variables {
  readonly tensors = new TensorDict();
  readonly #prepared = new Map<string, Prepared>();
  readonly info = new Map<string, VariableInfo>();
  readonly generator: Generator;
  /** Weights are created on this device. */
  readonly device: string;

  /** Whether initial values are drawn ('random') or left unset for a loader to fill ('none'). */
  readonly init = initMode;

  constructor(seed = 0, device = 'cpu') {
    this.generator = new Generator(seed);
    this.device = device;
  }

  /** N(0, std²) initial values from this network's generator (uninitialized memory under `withoutInit`). */
  randn(shape: number[], std = 1): Tensor {
    if (this.init === 'none') return E.empty(shape);
    return E.tidy(() => {
      const r = E.randn(shape, { generator: this.generator });
      return std === 1 ? r : r.mul(std);
    });
  }

  /** Registers a variable whose value is `init` (moved to the network's device). */
  add(name: string, init: Tensor, { trainable, coef = 1 }: { trainable: boolean; coef?: number }): Tensor {
    if (this.info.has(name)) throw new Error(`variable '${name}' is defined twice`);
    const value = init.device === this.device ? init : init.to(this.device);
    if (trainable) value.requiresGrad_(true);
    this.tensors.set(name, value);
    if (value !== init) init.dispose();
    this.info.set(name, { shape: value.shape, trainable, coef });
    return value;
  }

  get(name: string): Tensor {
    return this.tensors.get(name);
  }
  has(name: string): boolean {
    return this.tensors.has(name);
  }
  /** The value a forward pass uses: stored × coef. */
  runtime(name: string): Tensor {
    const v = this.tensors.get(name);
    const coef = this.info.get(name)!.coef;
    return coef === 1 ? v : v.mul(coef);
  }

  /**
   * `prepare(runtime value)` of variable `name`: the form a layer computes with (e.g. a conv kernel in PyTorch's
   * layout). With gradients off it is computed once and reused until any tensor is written in place (the engine's
   * mutation epoch advances on optimizer steps, EMA updates, loads) or the variable is replaced, so inference does not
   * redo the scaling and layout copy on every call; with gradients on it is computed every call (it belongs to the
   * graph). `form` names what `prepare` computes (one cached form per variable). The cache owns the returned tensor:
   * do not dispose it or keep it past the next in-place write.
   */
  prepared(name: string, form: string, prepare: (runtime: Tensor) => Tensor): Tensor {
    if (isGradEnabled()) return tidy(() => prepare(this.runtime(name)));
    const source = this.tensors.get(name);
    const epoch = mutationEpoch();
    const hit = this.#prepared.get(name);
    if (hit && hit.form === form && hit.source === source && hit.epoch === epoch && !hit.value.disposed) return hit.value;
    hit?.value.dispose();
    const value = keep(tidy(() => prepare(this.runtime(name))));
    this.#prepared.set(name, { form, source, epoch, value });
    return value;
  }

  /** Frees every cached prepared form (they are recomputed on demand). */
  clearPrepared(): void {
    for (const p of this.#prepared.values()) p.value.dispose();
    this.#prepared.clear();
  }

  names(): string[] {
    return this.tensors.keys();
  }
  trainableNames(): string[] {
    return this.names().filter((n) => this.info.get(n)!.trainable);
  }
  trainable(): Tensor[] {
    return this.trainableNames().map((n) => this.tensors.get(n));
  }
  /** Number of trainable scalars (what the papers' parameter counts count). */
  numTrainable(): number {
    return this.trainable().reduce((a, t) => a + t.numel, 0);
  }

  /**
   * Assigns values by name. Every problem (unknown name, missing name, shape or dtype mismatch) is collected and
   * reported together; nothing is assigned unless all match.
   */
  assign(values: Map<string, Tensor>, o: { strict?: boolean; source?: string } = {}): void {
    const problems: string[] = [];
    for (const [name, t] of values) {
      const info = this.info.get(name);
      if (!info) {
        problems.push(`unexpected variable '${name}' [${t.shape.join(', ')}]`);
        continue;
      }
      if (t.shape.length !== info.shape.length || t.shape.some((d, i) => d !== info.shape[i])) {
        problems.push(`'${name}': shape [${t.shape.join(', ')}] but the network has [${info.shape.join(', ')}]`);
      }
      const want: DType = this.tensors.get(name).dtype;
      if (!isFloat(t.dtype) || !isFloat(want)) problems.push(`'${name}': dtype ${t.dtype}, expected a floating type like ${want}`);
    }
    if (o.strict ?? true) for (const name of this.names()) if (!values.has(name)) problems.push(`missing variable '${name}'`);
    if (problems.length) {
      const listed = problems.length > 12 ? [...problems.slice(0, 10), `… and ${problems.length - 10} more`] : problems;
      throw new Error(`${o.source ? o.source + ': ' : ''}${problems.length} variable mismatch(es):\n  ${listed.join('\n  ')}`);
    }
    noGrad(() => {
      for (const [name, t] of values) this.tensors.get(name).copy_(t);
    });
  }

  /** Converts every variable to `dtype` in place (e.g. float64 for finite-difference checks). */
  castTo(dtype: DType): void {
    for (const [name, t] of this.tensors.entries()) {
      if (t.dtype === dtype) continue;
      const c = noGrad(() => t.to(dtype));
      if (this.info.get(name)!.trainable) c.requiresGrad_(true);
      this.tensors.set(name, c);
    }
  }

  dispose(): void {
    this.clearPrepared();
    this.tensors.dispose();
  }
}

const isFloat = (d: DType) => d === 'float32' || d === 'float16' || d === 'bfloat16' || d === 'float64';

/** Common surface of every network: its variables, under official names. */
export abstract class Network {
  readonly vars: Variables;
  constructor(seed: number, device: string) {
    this.vars = new Variables(seed, device);
  }
  get device(): string {
    return this.vars.device;
  }
  /** All variables by official local name (live tensors, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.vars.tensors.entries());
  }
  loadStateDict(values: Map<string, Tensor>, o: { strict?: boolean; source?: string } = {}): void {
    this.vars.assign(values, o);
  }
  parameters(): Tensor[] {
    return this.vars.trainable();
  }
  numParams(): number {
    return this.vars.numTrainable();
  }
  castTo(dtype: DType): this {
    this.vars.castTo(dtype);
    return this;
  }
  dispose(): void {
    this.vars.dispose();
  }
}
