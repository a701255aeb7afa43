/**
 * Automatic differentiation: `grad` with `createGraph` for second-order terms (R1, WGAN-GP), and `noGrad` scopes.
 */
import { native } from './native.js';
import { Tensor, wrapOpt } from './tensor.js';

export interface GradOptions {
  /** Gradients of the outputs (defaults to ones for scalars). */
  gradOutputs?: Tensor[];
  /** Keep the graph for a later backward (implied by createGraph). */
  retainGraph?: boolean;
  /** Record the gradient computation itself so that it can be differentiated again. */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on instead of throwing. */
  allowUnused?: boolean;
}

/** d(outputs)/d(inputs), as torch.autograd.grad. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], o: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  return native
    .grad(outs.map((t) => t.handle), ins.map((t) => t.handle), o.gradOutputs ? o.gradOutputs.map((t) => t.handle) : null,
      o.retainGraph ?? false, o.createGraph ?? false, o.allowUnused ?? false)
    .map(wrapOpt);
}

/** Runs `fn` with gradient recording off (restored afterwards, also on throw). */
export function noGrad<T>(fn: () => T): T {
  const previous = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

export const isGradEnabled = (): boolean => native.isGradEnabled();
