/**
 * Adam (Kingma & Ba) over a fixed list of parameters, written with libtorch's foreach ops the way PyTorch's
 * `torch.optim.Adam(foreach=True)` is; float32 CPU parameters take one native pass each with the same update
 * (`adamStep_`). Its moments live in tensors that can be read and restored, so a training run
 * resumes exactly; `reset()` clears them, as the official progressive training does at each new resolution.
 */
import type { Tensor } from './tensor.js';
import { keep, tidy } from './scope.js';
import { noGrad } from './autograd.js';
import { adamStep_, foreachAdd_, foreachAddcdiv_, foreachAddcmul_, foreachDiv_, foreachMul_, foreachSqrt } from './foreach.js';

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
    // Zeros in each parameter's own memory layout, so that the elementwise updates run over matching strides.
    return this.params.map((p) => keep(noGrad(() => p.detach().clone().zero_())));
  }

  get stepCount(): number {
    return this.#step;
  }

  /**
   * Applies one update from the parameters' accumulated gradients (parameters without a gradient are left alone):
   * m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε).
   */
  step(): void {
    this.#step += 1;
    const t = this.#step;
    const stepSize = this.lr / (1 - Math.pow(this.beta1, t));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(this.beta2, t));
    tidy(() => noGrad(() => {
      const live = this.params.map((p, i) => ({ p, g: p.grad, i })).filter((e): e is { p: Tensor; g: Tensor; i: number } => e.g !== null);
      if (live.length === 0) return;
      const [params, grads] = [live.map((e) => e.p), live.map((e) => e.g)];
      const [m, v] = [live.map((e) => this.#m[e.i]!), live.map((e) => this.#v[e.i]!)];
      if (params.every((p) => p.device === 'cpu' && p.dtype === 'float32')) {
        // One native pass per parameter: the foreach sequence below, op for op (~3× faster on 2 cores).
        adamStep_({ params, grads, m, v }, { beta1: this.beta1, beta2: this.beta2, stepSize, bc2Sqrt, eps: this.eps });
        return;
      }
      foreachMul_(m, this.beta1);
      foreachAdd_(m, grads, 1 - this.beta1);
      foreachMul_(v, this.beta2);
      foreachAddcmul_(v, grads, grads, 1 - this.beta2);
      const denom = foreachSqrt(v);
      foreachDiv_(denom, bc2Sqrt);
      foreachAdd_(denom, this.eps);
      foreachAddcdiv_(params, m, denom, -stepSize);
    }));
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
