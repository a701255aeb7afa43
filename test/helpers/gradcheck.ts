/**
 * Finite-difference gradient checking: compares autograd's d f / d inputs with central differences of f, element by
 * element, in float64.
 */
import assert from 'node:assert/strict';
import { grad, tidy, type Tensor } from '../../src/engine/index.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
}

/** Asserts that autograd's gradient of the scalar `f(...inputs)` matches central differences for every input. */
export function gradcheck(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], o: GradcheckOptions = {}): void {
  const eps = o.eps ?? 1e-6;
  const atol = o.atol ?? 1e-6;
  const rtol = o.rtol ?? 1e-4;
  tidy(() => {
    for (const x of inputs) {
      assert.equal(x.dtype, 'float64', `${name}: gradcheck needs float64 inputs`);
      x.requiresGrad_(true);
    }
    const analytic = grad(f(...inputs), inputs, { allowUnused: true }).map((g, i) => (g ?? inputs[i]!.mul(0)).toTypedArray() as Float64Array);
    inputs.forEach((x, k) => {
      // Perturbs through a detached view (no autograd record) of element i in logical order, whatever x's memory
      // layout (weights may be stored permuted); f itself may use autograd (double backward).
      const detached = x.detach();
      const shape = x.shape;
      const element = (i: number): Tensor => {
        let t = detached;
        for (let d = shape.length - 1, r = i; d >= 0; d--) {
          t = t.narrow(d, r % shape[d]!, 1);
          r = Math.floor(r / shape[d]!);
        }
        return t;
      };
      const numeric = new Float64Array(x.numel);
      {
        for (let i = 0; i < x.numel; i++) {
          const cell = element(i);
          const orig = cell.item();
          cell.fill_(orig + eps);
          const plus = tidy(() => f(...inputs).item());
          cell.fill_(orig - eps);
          const minus = tidy(() => f(...inputs).item());
          cell.fill_(orig);
          numeric[i] = (plus - minus) / (2 * eps);
        }
      }
      for (let i = 0; i < x.numel; i++) {
        const a = analytic[k]![i]!;
        const n = numeric[i]!;
        assert.ok(Math.abs(a - n) <= atol + rtol * Math.abs(n), `${name}: d/dinput${k}[${i}] autograd ${a} vs finite difference ${n}`);
      }
    });
  });
}
