/**
 * libtorch's foreach ops (`_foreach_*`): one native call applies an op to every tensor of a list, as PyTorch's
 * optimizers do. In-place ops advance the mutation epoch.
 *
 * Functions here keep libtorch's positional signatures (e.g. `conv2d(input, weight, bias, stride, padding, …)`), also
 * beyond three parameters: a mechanical mirror is exempt from the project's named-options rule.
 */
import { native } from './native.js';
import { wrap, type Tensor } from './tensor.js';
import { noteMutation } from './mutation.js';

const handles = (ts: readonly Tensor[]) => ts.map((t) => t.handle);

/** self[i] *= s. */
export function foreachMul_(self: readonly Tensor[], s: number): void {
  native.foreachMul_(handles(self), s);
  noteMutation();
}
/** self[i] /= s. */
export function foreachDiv_(self: readonly Tensor[], s: number): void {
  native.foreachDiv_(handles(self), s);
  noteMutation();
}
/** self[i] += alpha · other[i], or self[i] += other when it is a number. */
export function foreachAdd_(self: readonly Tensor[], other: readonly Tensor[] | number, alpha?: number): void {
  native.foreachAdd_(handles(self), typeof other === 'number' ? other : handles(other), alpha);
  noteMutation();
}
/** self[i] += value · a[i] · b[i]. */
export function foreachAddcmul_(self: readonly Tensor[], a: readonly Tensor[], b: readonly Tensor[], value: number): void {
  native.foreachAddcmul_(handles(self), handles(a), handles(b), value);
  noteMutation();
}
/** self[i] += value · a[i] / b[i]. */
export function foreachAddcdiv_(self: readonly Tensor[], a: readonly Tensor[], b: readonly Tensor[], value: number): void {
  native.foreachAddcdiv_(handles(self), handles(a), handles(b), value);
  noteMutation();
}
/** [sqrt(t) for t in ts] (new tensors, owned by the current scope). */
export function foreachSqrt(ts: readonly Tensor[]): Tensor[] {
  return native.foreachSqrt(handles(ts)).map(wrap);
}

/** The tensors of one Adam update (`adamStep_`): parameters, their gradients and both moments, index by index. */
export interface AdamTensors {
  params: readonly Tensor[];
  grads: readonly Tensor[];
  m: readonly Tensor[];
  v: readonly Tensor[];
}
/** Adam's scalars for `adamStep_`: β1, β2, lr / (1 − β1^t), √(1 − β2^t) and ε. */
export interface AdamScalars {
  beta1: number;
  beta2: number;
  stepSize: number;
  bc2Sqrt: number;
  eps: number;
}

/**
 * Adam's update of float32 CPU parameters in ONE native pass each (native/adam.cc): the foreach sequence
 * m·β1 + (1−β1)·g, v·β2 + (1−β2)·g², p − stepSize · m / (√v / bc2Sqrt + ε) that it replaces, op for op, equal to
 * float rounding (libtorch's vector kernels fuse some multiply-adds, so the last bit can differ). Parameters and
 * moments must be dense with the same strides; gradients may be in any layout.
 */
export function adamStep_(t: AdamTensors, k: AdamScalars): void {
  native.adamStep_(handles(t.params), handles(t.grads), handles(t.m), handles(t.v), k.beta1, k.beta2, k.stepSize, k.bc2Sqrt, k.eps);
  noteMutation();
}
