/**
 * The typed tensor API. A Tensor owns one native at::Tensor; it is registered with the innermost `tidy` scope when
 * created and freed by `dispose()` (or by the scope). Methods mirror libtorch names and semantics; numbers act as
 * Python scalars do in PyTorch (integral numbers keep integer tensors integral).
 *
 * Functions here keep libtorch's positional signatures (e.g. `conv2d(input, weight, bias, stride, padding, …)`), also
 * beyond three parameters: a mechanical mirror is exempt from the project's named-options rule.
 */
import { native, type DType, type Handle, type MemoryFormat } from './native.js';
import { track, type Disposable } from './scope.js';
import { noteMutation } from './mutation.js';

export type { DType } from './native.js';
export type Shape = readonly number[];
export type TensorLike = Tensor | number;
export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : D extends 'int16' | 'float16' | 'bfloat16'
          ? D extends 'int16' ? Int16Array : Uint16Array
          : D extends 'int8'
            ? Int8Array
            : Uint8Array;

/** Bytes per element of each dtype. */
export const itemSize: Record<DType, number> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

function typedArray(dtype: DType, buf: ArrayBuffer): ArrayBufferView {
  switch (dtype) {
    case 'float32': return new Float32Array(buf);
    case 'float64': return new Float64Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'float16': case 'bfloat16': return new Uint16Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'uint8': case 'bool': return new Uint8Array(buf);
  }
}

function h(x: TensorLike): Handle | number {
  return typeof x === 'number' ? x : x.handle;
}

export class Tensor implements Disposable {
  #handle: Handle | null;
  #shape: number[] | undefined;

  /** Wraps a native handle (internal: use the creation functions). */
  constructor(handle: Handle) {
    this.#handle = handle;
    track(this);
  }

  /** The native handle; throws once disposed. */
  get handle(): Handle {
    if (this.#handle === null) throw new Error('tensor was disposed');
    return this.#handle;
  }
  get disposed(): boolean {
    return this.#handle === null;
  }
  /** Frees the native memory now. Further use throws 'tensor was disposed'. */
  dispose(): void {
    if (this.#handle === null) return;
    native.dispose(this.#handle);
    this.#handle = null;
  }

  get shape(): number[] {
    return (this.#shape ??= native.shape(this.handle));
  }
  get ndim(): number {
    return this.shape.length;
  }
  get dtype(): DType {
    return native.dtype(this.handle);
  }
  get device(): string {
    return native.device(this.handle);
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  /** The accumulated gradient (a new Tensor handle each call), or null. */
  get grad(): Tensor | null {
    return wrapOpt(native.getGrad(this.handle));
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g === null ? null : g.handle);
  }
  get strides(): number[] {
    return native.strides(this.handle);
  }
  /** Contiguous in `format` (default NCHW order). */
  isContiguous(format?: MemoryFormat): boolean {
    return format ? native.isContiguousAs(this.handle, format) : native.isContiguous(this.handle);
  }
  item(): number {
    return native.item(this.handle);
  }
  toString(): string {
    return native.toString(this.handle);
  }

  /** Copies the data out (CPU, contiguous) into a typed array of the dtype (float16/bfloat16 as raw Uint16 bits). */
  toTypedArray(): ArrayBufferView {
    return typedArray(this.dtype, native.toBuffer(this.handle));
  }
  /** Copies the data (CPU, contiguous, this dtype) into `dst`, which must hold exactly numel elements of it. */
  copyInto(dst: ArrayBufferView): void {
    native.copyIntoBuffer(this.handle, dst);
  }
  /** Data as float32 numbers, converting the dtype first if needed. */
  toFloat32Array(): Float32Array {
    if (this.dtype === 'float32') return this.toTypedArray() as Float32Array;
    const t = this.to('float32');
    const out = t.toTypedArray() as Float32Array;
    t.dispose();
    return out;
  }
  /** Nested JS number arrays (for small tensors, tests and debugging). */
  toArray(): unknown {
    const flat = Array.from(this.toFloat32ArrayOrF64(), Number);
    const shape = this.shape;
    const build = (dim: number, offset: number): unknown => {
      if (dim === shape.length) return flat[offset];
      const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }
  private toFloat32ArrayOrF64(): Float32Array | Float64Array | BigInt64Array | Int32Array {
    const d = this.dtype;
    if (d === 'float64' || d === 'int64' || d === 'int32') return this.toTypedArray() as Float64Array;
    return this.toFloat32Array();
  }

  // ---- conversion ----
  /** Casts to a dtype or moves to a device ('cpu', 'cuda', 'cuda:1'). */
  to(target: DType | string): Tensor {
    if (target in itemSize) return wrap(native.cast(this.handle, target as DType));
    return wrap(native.to(this.handle, target));
  }
  /** This tensor laid out contiguously in `format` (itself, as a new handle, when it already is). */
  contiguous(format?: MemoryFormat): Tensor { return wrap(format ? native.contiguousAs(this.handle, format) : native.contiguous(this.handle)); }
  clone(): Tensor { return wrap(native.clone(this.handle)); }
  detach(): Tensor { return wrap(native.detach(this.handle)); }
  requiresGrad_(on = true): this {
    native.requiresGrad_(this.handle, on);
    return this;
  }
  retainGrad(): this {
    native.retainGrad(this.handle);
    return this;
  }
  /** Accumulates gradients of this (scalar unless `grad` is given) into the leaves. */
  backward(grad?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward(this.handle, grad ? grad.handle : null, opts.retainGraph ?? false, opts.createGraph ?? false);
  }

  // ---- elementwise ----
  add(o: TensorLike, alpha?: number): Tensor { return wrap(native.add(this.handle, h(o), alpha)); }
  sub(o: TensorLike, alpha?: number): Tensor { return wrap(native.sub(this.handle, h(o), alpha)); }
  /** `s - this` for a number s. */
  rsub(s: number): Tensor { return wrap(native.rsub(this.handle, s)); }
  mul(o: TensorLike): Tensor { return wrap(native.mul(this.handle, h(o))); }
  div(o: TensorLike): Tensor { return wrap(native.div(this.handle, h(o))); }
  pow(o: TensorLike): Tensor { return wrap(native.pow(this.handle, h(o))); }
  remainder(o: TensorLike): Tensor { return wrap(native.remainder(this.handle, h(o))); }
  eq(o: TensorLike): Tensor { return wrap(native.eq(this.handle, h(o))); }
  ne(o: TensorLike): Tensor { return wrap(native.ne(this.handle, h(o))); }
  lt(o: TensorLike): Tensor { return wrap(native.lt(this.handle, h(o))); }
  le(o: TensorLike): Tensor { return wrap(native.le(this.handle, h(o))); }
  gt(o: TensorLike): Tensor { return wrap(native.gt(this.handle, h(o))); }
  ge(o: TensorLike): Tensor { return wrap(native.ge(this.handle, h(o))); }
  maximum(o: Tensor): Tensor { return wrap(native.maximum(this.handle, o.handle)); }
  atan2(o: Tensor): Tensor { return wrap(native.atan2(this.handle, o.handle)); }
  minimum(o: Tensor): Tensor { return wrap(native.minimum(this.handle, o.handle)); }
  logicalAnd(o: Tensor): Tensor { return wrap(native.logicalAnd(this.handle, o.handle)); }
  logicalOr(o: Tensor): Tensor { return wrap(native.logicalOr(this.handle, o.handle)); }
  logicalNot(): Tensor { return wrap(native.logicalNot(this.handle)); }
  neg(): Tensor { return wrap(native.neg(this.handle)); }
  sqrt(): Tensor { return wrap(native.sqrt(this.handle)); }
  rsqrt(): Tensor { return wrap(native.rsqrt(this.handle)); }
  exp(): Tensor { return wrap(native.exp(this.handle)); }
  log(): Tensor { return wrap(native.log(this.handle)); }
  log1p(): Tensor { return wrap(native.log1p(this.handle)); }
  square(): Tensor { return wrap(native.square(this.handle)); }
  abs(): Tensor { return wrap(native.abs(this.handle)); }
  sign(): Tensor { return wrap(native.sign(this.handle)); }
  sin(): Tensor { return wrap(native.sin(this.handle)); }
  cos(): Tensor { return wrap(native.cos(this.handle)); }
  acos(): Tensor { return wrap(native.acos(this.handle)); }
  tanh(): Tensor { return wrap(native.tanh(this.handle)); }
  sigmoid(): Tensor { return wrap(native.sigmoid(this.handle)); }
  relu(): Tensor { return wrap(native.relu(this.handle)); }
  floor(): Tensor { return wrap(native.floor(this.handle)); }
  ceil(): Tensor { return wrap(native.ceil(this.handle)); }
  round(): Tensor { return wrap(native.round(this.handle)); }
  reciprocal(): Tensor { return wrap(native.reciprocal(this.handle)); }
  erf(): Tensor { return wrap(native.erf(this.handle)); }
  isnan(): Tensor { return wrap(native.isnan(this.handle)); }
  isfinite(): Tensor { return wrap(native.isfinite(this.handle)); }
  leakyRelu(slope = 0.01): Tensor { return wrap(native.leakyRelu(this.handle, slope)); }
  softplus(beta = 1, threshold = 20): Tensor { return wrap(native.softplus(this.handle, beta, threshold)); }
  clamp(min?: number | null, max?: number | null): Tensor { return wrap(native.clamp(this.handle, min, max)); }
  /** Linear interpolation this + w·(end − this). */
  lerp(end: Tensor, w: TensorLike): Tensor { return wrap(native.lerp(this.handle, end.handle, h(w))); }
  /** this + value·a·b */
  addcmul(a: Tensor, b: Tensor, value = 1): Tensor { return wrap(native.addcmul(this.handle, a.handle, b.handle, value)); }

  // ---- reductions (dims omitted = all) ----
  sum(dims?: number | number[], keepdim = false): Tensor { return wrap(native.sum(this.handle, dims, keepdim)); }
  mean(dims?: number | number[], keepdim = false): Tensor { return wrap(native.mean(this.handle, dims, keepdim)); }
  /** Variance; `unbiased` = Bessel's correction (default false, i.e. the population variance). */
  var(dims?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return wrap(native.var(this.handle, dims, opts.unbiased ?? false, opts.keepdim ?? false));
  }
  std(dims?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return wrap(native.stdDev(this.handle, dims, opts.unbiased ?? false, opts.keepdim ?? false));
  }
  amax(dims?: number | number[], keepdim = false): Tensor { return wrap(native.amax(this.handle, dims, keepdim)); }
  amin(dims?: number | number[], keepdim = false): Tensor { return wrap(native.amin(this.handle, dims, keepdim)); }
  argmax(dim: number, keepdim = false): Tensor { return wrap(native.argmax(this.handle, dim, keepdim)); }
  logsumexp(dims: number | number[], keepdim = false): Tensor { return wrap(native.logsumexp(this.handle, dims, keepdim)); }
  norm(p = 2, dims?: number | number[], keepdim = false): Tensor { return wrap(native.norm(this.handle, p, dims, keepdim)); }
  allclose(o: Tensor, rtol = 1e-5, atol = 1e-8): boolean { return native.allclose(this.handle, o.handle, rtol, atol); }
  equal(o: Tensor): boolean { return native.equal(this.handle, o.handle); }

  // ---- shape ----
  reshape(...shape: number[]): Tensor { return wrap(native.reshape(this.handle, shape)); }
  view(...shape: number[]): Tensor { return wrap(native.view(this.handle, shape)); }
  permute(...dims: number[]): Tensor { return wrap(native.permute(this.handle, dims)); }
  transpose(d0: number, d1: number): Tensor { return wrap(native.transpose(this.handle, d0, d1)); }
  narrow(dim: number, start: number, length: number): Tensor { return wrap(native.narrow(this.handle, dim, start, length)); }
  slice(dim: number, start: number, end: number, step = 1): Tensor { return wrap(native.slice(this.handle, dim, start, end, step)); }
  select(dim: number, index: number): Tensor { return wrap(native.select(this.handle, dim, index)); }
  indexSelect(dim: number, index: Tensor): Tensor { return wrap(native.indexSelect(this.handle, dim, index.handle)); }
  gather(dim: number, index: Tensor): Tensor { return wrap(native.gather(this.handle, dim, index.handle)); }
  maskedFill(mask: Tensor, value: number): Tensor { return wrap(native.maskedFill(this.handle, mask.handle, value)); }
  split(size: number, dim = 0): Tensor[] { return native.split(this.handle, size, dim).map(wrap); }
  unbind(dim = 0): Tensor[] { return native.unbind(this.handle, dim).map(wrap); }
  expand(...shape: number[]): Tensor { return wrap(native.expand(this.handle, shape)); }
  repeat(...reps: number[]): Tensor { return wrap(native.repeat(this.handle, reps)); }
  flip(...dims: number[]): Tensor { return wrap(native.flip(this.handle, dims)); }
  roll(shifts: number | number[], dims: number | number[]): Tensor { return wrap(native.roll(this.handle, shifts, dims)); }
  squeeze(dim?: number): Tensor { return wrap(native.squeeze(this.handle, dim)); }
  unsqueeze(dim: number): Tensor { return wrap(native.unsqueeze(this.handle, dim)); }
  flatten(start = 0, end = -1): Tensor { return wrap(native.flatten(this.handle, start, end)); }
  matmul(o: Tensor): Tensor { return wrap(native.matmul(this.handle, o.handle)); }

  // ---- in place (return this) ----
  add_(o: TensorLike, alpha?: number): this { native.add_(this.handle, h(o), alpha); noteMutation(); return this; }
  mul_(o: TensorLike): this { native.mul_(this.handle, h(o)); noteMutation(); return this; }
  copy_(src: Tensor): this { native.copy_(this.handle, src.handle); noteMutation(); return this; }
  zero_(): this { native.zero_(this.handle); noteMutation(); return this; }
  fill_(v: number): this { native.fill_(this.handle, v); noteMutation(); return this; }
  lerp_(end: Tensor, w: TensorLike): this { native.lerp_(this.handle, end.handle, h(w)); noteMutation(); return this; }
  clamp_(min?: number | null, max?: number | null): this { native.clamp_(this.handle, min, max); noteMutation(); return this; }
}

/** Wraps a native result into a tracked Tensor. */
export function wrap(handle: Handle): Tensor {
  return new Tensor(handle);
}
export function wrapOpt(handle: Handle | null): Tensor | null {
  return handle === null ? null : new Tensor(handle);
}
