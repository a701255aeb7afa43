/**
 * Mixed precision for training, a policy like torch.autocast's on the CPU. Inside `autocast('bfloat16', fn)` the
 * convolutions and matrix products (nn/layers.ts) take their inputs and weights in bfloat16, 4-D activations in
 * channels-last memory, and return bfloat16; their biases are added in the activation's dtype. Normalizations and
 * reductions (pixel norm, instance norm, minibatch standard deviation) run in float32, and the caller brings what it
 * reduces itself (losses, the w average, the images) back to float32 with `float32Of`. Parameters, gradients and
 * optimizer state stay float32: the casts belong to the autograd graph, so the float32 master weights receive float32
 * gradients. Outside `autocast` every helper returns its input unchanged.
 */
import type { Tensor } from '../engine/index.js';

export type AutocastDtype = 'bfloat16';

let current: AutocastDtype | null = null;

/** Runs `fn` (synchronous) with the convolutions and matrix products in `dtype` (null: float32 throughout). */
export function autocast<T>(dtype: AutocastDtype | null, fn: () => T): T {
  const previous = current;
  current = dtype;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** The reduced dtype in effect, or null. */
export const autocastDtype = (): AutocastDtype | null => current;

const isFloat = (x: Tensor) => x.dtype === 'float32' || x.dtype === 'float64' || x.dtype === 'bfloat16' || x.dtype === 'float16';

/** A convolution's or matrix product's operand under autocast: the reduced dtype, channels-last when 4-D. */
export function computeOperand(x: Tensor): Tensor {
  if (!current || !isFloat(x)) return x;
  const y = x.dtype === current ? x : x.to(current);
  return y.ndim === 4 && !y.isContiguous('channels_last') ? y.contiguous('channels_last') : y;
}

/** A bias (or other per-channel parameter) in the dtype of the activation it is added to, under autocast. */
export const likeActivation = (p: Tensor, x: Tensor): Tensor => (current && p.dtype !== x.dtype && isFloat(x) ? p.to(x.dtype) : p);

/** x in float32 under autocast (normalizations, reductions, losses); x itself otherwise. */
export const float32Of = (x: Tensor): Tensor => (current && x.dtype !== 'float32' && x.dtype !== 'float64' && isFloat(x) ? x.to('float32') : x);
