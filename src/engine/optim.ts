/**
 * Adam (Kingma & Ba) over a fixed list of parameters. Its moments live in tensors that can be read and restored, so a
 * training run resumes exactly; `reset()` clears them, as the official progressive training does at each new
 * resolution.
 */
import { native } from './native.js';
import type { Tensor } from './tensor.js';
import { zeros } from './functional.js';
import { keep } from './scope.js';
import { noGrad } from './autograd.js';
import { noteMutation } from './mutation.js';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface AdamState {
  step: number;
  expAvg: Tensor[];
  expAvgSq: Tensor[];
}

export class Adam {
  readonly params: Tensor[];
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  #step = 0;
  #m: Tensor[];
  #v: Tensor[];

  constructor(params: Iterable<Tensor>, o: AdamOptions) {
    this.params = [...params];
    this.lr = o.lr;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.#m = this.#fresh();
    this.#v = this.#fresh();
  }

  #fresh(): Tensor[] {
    return this.params.map((p) => keep(zeros(p.shape, { dtype: p.dtype, device: p.device })));
  }

  get stepCount(): number {
    return this.#step;
  }

  /** Applies one update from the parameters' accumulated gradients. */
  step(): void {
    this.#step += 1;
    native.adamStep(this.params.map((p) => p.handle), this.#m.map((t) => t.handle), this.#v.map((t) => t.handle),
      this.#step, this.lr, this.beta1, this.beta2, this.eps);
    noteMutation();
  }

  /** Drops accumulated gradients. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** Forgets the moments and the step count. */
  reset(): void {
    noGrad(() => {
      for (const t of [...this.#m, ...this.#v]) t.zero_();
    });
    this.#step = 0;
  }

  /** The live state (not copies): save them with the step count to resume. */
  state(): AdamState {
    return { step: this.#step, expAvg: this.#m, expAvgSq: this.#v };
  }

  /** Restores moments (copied in) and the step count. */
  loadState(s: AdamState): void {
    if (s.expAvg.length !== this.params.length || s.expAvgSq.length !== this.params.length) {
      throw new Error(`Adam.loadState: state has ${s.expAvg.length}/${s.expAvgSq.length} moments for ${this.params.length} parameters`);
    }
    noGrad(() => {
      s.expAvg.forEach((t, i) => this.#m[i]!.copy_(t));
      s.expAvgSq.forEach((t, i) => this.#v[i]!.copy_(t));
    });
    this.#step = s.step;
  }

  dispose(): void {
    for (const t of [...this.#m, ...this.#v]) t.dispose();
  }
}
