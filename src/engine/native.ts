/**
 * Loads the libtorch addon (build/Release/stylegan_torch.node) and types its exports. Everything here is a
 * mechanical mirror of libtorch; src/engine/tensor.ts gives it an ergonomic, scope-aware surface.
 *
 * Functions here keep libtorch's positional signatures (e.g. `conv2d(input, weight, bias, stride, padding, …)`), also
 * beyond three parameters: a mechanical mirror is exempt from the project's named-options rule.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** An opaque handle owning one at::Tensor. */
export type Handle = { readonly __tensor: unique symbol };
/** Opaque handles owning a c10d process group and one collective's Work. */
export type GroupHandle = { readonly __group: unique symbol };
export type WorkHandle = { readonly __work: unique symbol };
export type ReducerHandle = { readonly __reducer: unique symbol };
/** An opaque handle owning one at::Generator. */
export type GeneratorHandle = { readonly __generator: unique symbol };
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';
/** How a 4-D tensor lies in memory: NCHW ('contiguous') or NHWC ('channels_last'). */
export type MemoryFormat = 'contiguous' | 'channels_last';
type H = Handle;
/** A loaded TorchScript module (native/jit.cc). */
export type JitModuleHandle = { readonly __jitModule: unique symbol };
/** What crosses the addon boundary for TorchScript calls: tensors, scalars, strings, null, lists and string-keyed dicts. */
export type JitRaw = Handle | number | boolean | string | null | JitRaw[] | { [k: string]: JitRaw };
type Num = H | number;
type Ints = number[] | number;
type Opt<T> = T | null | undefined;
type Gen = GeneratorHandle | null | undefined;

export interface Native {
  dispose(t: H): void; isDisposed(t: H): boolean; memoryStats(): { liveTensors: number; liveBytes: number };
  empty(shape: Ints, dtype?: DType, device?: string): H; zeros(shape: Ints, dtype?: DType, device?: string): H;
  ones(shape: Ints, dtype?: DType, device?: string): H; full(shape: Ints, value: number, dtype?: DType, device?: string): H;
  arange(start: number, end: number, step: number, dtype?: DType, device?: string): H;
  linspace(start: number, end: number, steps: number, dtype?: DType, device?: string): H;
  randn(shape: Ints, dtype: Opt<DType>, device: Opt<string>, gen: Gen): H;
  rand(shape: Ints, dtype: Opt<DType>, device: Opt<string>, gen: Gen): H;
  randint(low: number, high: number, shape: Ints, dtype: Opt<DType>, device: Opt<string>, gen: Gen): H;
  randperm(n: number, dtype: Opt<DType>, device: Opt<string>, gen: Gen): H;
  normal_(t: H, mean: number, std: number, gen: Gen): H; uniform_(t: H, from: number, to: number, gen: Gen): H;
  bernoulli(p: H, gen: Gen): H;
  fromBuffer(data: ArrayBufferView | ArrayBuffer, dtype: DType, shape: number[]): H;
  toBuffer(t: H): ArrayBuffer; copyIntoBuffer(t: H, dst: ArrayBufferView): void;
  shape(t: H): number[]; strides(t: H): number[]; dtype(t: H): DType; device(t: H): string; numel(t: H): number;
  dim(t: H): number; isContiguous(t: H): boolean; requiresGrad(t: H): boolean; isLeaf(t: H): boolean;
  item(t: H): number; toString(t: H): string;
  setNumThreads(n: number): void; getNumThreads(): number; setBlasThreads(n: number): boolean; getBlasThreads(): number | null; manualSeed(seed: number): void;
  generator(seed: number, device?: string): GeneratorHandle; generatorSeed(g: GeneratorHandle, seed: number): void;
  generatorGetState(g: GeneratorHandle): H; generatorSetState(g: GeneratorHandle, state: H): void;
  cudaAvailable(): boolean; cudaDeviceCount(): number; cudaSynchronize(): void;
  version(): { torch: string; parallel: string; config: string };

  add(a: H, b: Num, alpha?: number): H; sub(a: H, b: Num, alpha?: number): H; mul(a: H, b: Num): H; div(a: H, b: Num): H;
  pow(a: H, b: Num): H; remainder(a: H, b: Num): H; rsub(a: H, b: number): H;
  eq(a: H, b: Num): H; ne(a: H, b: Num): H; lt(a: H, b: Num): H; le(a: H, b: Num): H; gt(a: H, b: Num): H; ge(a: H, b: Num): H;
  maximum(a: H, b: H): H; minimum(a: H, b: H): H; logicalAnd(a: H, b: H): H; logicalOr(a: H, b: H): H; atan2(a: H, b: H): H;
  neg(a: H): H; sqrt(a: H): H; rsqrt(a: H): H; exp(a: H): H; log(a: H): H; log1p(a: H): H; square(a: H): H; abs(a: H): H;
  sign(a: H): H; sin(a: H): H; cos(a: H): H; acos(a: H): H; tanh(a: H): H; sigmoid(a: H): H; relu(a: H): H;
  floor(a: H): H; ceil(a: H): H; round(a: H): H; reciprocal(a: H): H; erf(a: H): H; isnan(a: H): H; isfinite(a: H): H;
  logicalNot(a: H): H;
  leakyRelu(a: H, slope: number): H; softplus(a: H, beta: number, threshold: number): H;
  clamp(a: H, min: Opt<number>, max: Opt<number>): H; where(c: H, a: Num, b: Num): H; lerp(a: H, b: H, w: Num): H;
  addcmul(a: H, b: H, c: H, value: number): H; cast(a: H, dtype: DType): H; to(a: H, device: string, nonBlocking?: boolean): H;
  sum(a: H, dims?: Opt<Ints>, keepdim?: boolean, dtype?: Opt<DType>): H; mean(a: H, dims?: Opt<Ints>, keepdim?: boolean, dtype?: Opt<DType>): H;
  var(a: H, dims: Opt<Ints>, unbiased: boolean, keepdim: boolean): H; stdDev(a: H, dims: Opt<Ints>, unbiased: boolean, keepdim: boolean): H;
  amax(a: H, dims?: Opt<Ints>, keepdim?: boolean): H; amin(a: H, dims?: Opt<Ints>, keepdim?: boolean): H;
  argmax(a: H, dim: number, keepdim?: boolean): H; logsumexp(a: H, dims: Ints, keepdim?: boolean): H;
  norm(a: H, p: number, dims?: Opt<Ints>, keepdim?: boolean): H; allclose(a: H, b: H, rtol: number, atol: number): boolean;
  equal(a: H, b: H): boolean;
  reshape(a: H, shape: Ints): H; view(a: H, shape: Ints): H; permute(a: H, dims: Ints): H; transpose(a: H, d0: number, d1: number): H;
  narrow(a: H, dim: number, start: number, length: number): H; slice(a: H, dim: number, start: number, end: number, step: number): H;
  select(a: H, dim: number, index: number): H; indexSelect(a: H, dim: number, index: H): H; gather(a: H, dim: number, index: H): H;
  maskedFill(a: H, mask: H, value: number): H; cat(ts: H[], dim: number): H; stack(ts: H[], dim: number): H;
  split(a: H, size: number, dim: number): H[]; unbind(a: H, dim: number): H[]; expand(a: H, shape: Ints): H; repeat(a: H, reps: Ints): H;
  flip(a: H, dims: Ints): H; roll(a: H, shifts: Ints, dims: Ints): H; squeeze(a: H, dim?: number): H; unsqueeze(a: H, dim: number): H;
  flatten(a: H, start: number, end: number): H; contiguous(a: H): H; clone(a: H): H; detach(a: H): H;
  constantPad(a: H, pad: number[], value: number): H; reflectionPad2d(a: H, pad: number[]): H; replicationPad2d(a: H, pad: number[]): H;
  matmul(a: H, b: H): H; linear(x: H, w: H, b: Opt<H>): H;
  conv2d(x: H, w: H, b: Opt<H>, stride: Ints, padding: Ints, dilation: Ints, groups: number): H;
  convTranspose2d(x: H, w: H, b: Opt<H>, stride: Ints, padding: Ints, outputPadding: Ints, groups: number, dilation: Ints): H;
  avgPool2d(x: H, kernel: Ints, stride: Ints, padding: Ints, ceilMode: boolean, countIncludePad: boolean): H;
  maxPool2d(x: H, kernel: Ints, stride: Ints, padding: Ints): H; adaptiveAvgPool2d(x: H, size: Ints): H;
  upsampleNearest2d(x: H, size: Ints): H; upsampleBilinear2d(x: H, size: Ints, alignCorners: boolean): H;
  softmax(x: H, dim: number): H; logSoftmax(x: H, dim: number): H; nllLoss(logp: H, target: H): H; linalgEigh(a: H): [H, H];
  add_(a: H, b: Num, alpha?: number): H; mul_(a: H, b: Num): H; copy_(a: H, b: H): H; zero_(a: H): H; fill_(a: H, v: number): H;
  lerp_(a: H, b: H, w: Num): H; clamp_(a: H, min: Opt<number>, max: Opt<number>): H;
  affineGrid(theta: H, size: Ints, alignCorners: boolean): H;
  gridSampler2d(x: H, grid: H, interpolation: number, padding: number, alignCorners: boolean): H;

  requiresGrad_(t: H, on: boolean): H; getGrad(t: H): H | null; setGrad(t: H, g: H | null): void; retainGrad(t: H): void;
  backward(t: H, grad: H | null, retainGraph: boolean, createGraph: boolean): void;
  grad(outputs: H[], inputs: H[], gradOutputs: H[] | null, retainGraph: boolean, createGraph: boolean, allowUnused: boolean): (H | null)[];
  setGradEnabled(on: boolean): boolean; isGradEnabled(): boolean;

  foreachMul_(self: H[], s: number): void; foreachDiv_(self: H[], s: number): void;
  foreachAdd_(self: H[], other: H[] | number, alpha?: number): void;
  foreachAddcmul_(self: H[], a: H[], b: H[], value: number): void; foreachAddcdiv_(self: H[], a: H[], b: H[], value: number): void;
  foreachSqrt(ts: H[]): H[];
  adamStep_(params: H[], grads: H[], m: H[], v: H[], beta1: number, beta2: number, stepSize: number, bc2Sqrt: number, eps: number): void;

  setCpuAllocator(kind: 'caching' | 'system', slack?: number, limitBytes?: number): void; mallopt(param: string, value: number): boolean;
  cpuAllocatorStats(): { cachedBytes: number; mappedBytes: number; hits: number; misses: number }; emptyCpuCache(): void;
  contiguousAs(t: H, format: MemoryFormat): H; isContiguousAs(t: H, format: MemoryFormat): boolean;
  fusedEpilogue_(x: H, noise: Opt<H>, strength: Opt<H>, bias: Opt<H>, style: Opt<H>, instanceNorm: boolean, slope: number, eps: number): H;
  biasLreluPixelNorm_(x: H, bias: Opt<H>, pixelNorm: boolean, slope: number, eps: number): H;
  fusedEpilogue(x: H, noise: Opt<H>, strength: Opt<H>, bias: Opt<H>, style: Opt<H>, instanceNorm: boolean, slope: number, eps: number): H;
  tapMap(w: H, m: H, groups: number, qh: number, qw: number, channelsLast: boolean): H;
  symmetricBlur(x: H, k: H): H;
  conv2dGradConv(x: H, w: H, stride: number[], padding: number[]): H;
  toUint8Images(x: H, offset: number, scale: number): H;
  distBackends(): string[];
  distInit(backend: string, host: string, port: number, rank: number, worldSize: number, timeoutMs: number, prefix: string): GroupHandle;
  distDestroy(g: GroupHandle): void; distRank(g: GroupHandle): number; distSize(g: GroupHandle): number;
  distAllReduce(g: GroupHandle, ts: H[], op: string, timeoutMs: number): WorkHandle;
  distBroadcast(g: GroupHandle, ts: H[], root: number, timeoutMs: number): WorkHandle;
  distAllGather(g: GroupHandle, t: H, timeoutMs: number): WorkHandle;
  distBarrier(g: GroupHandle, timeoutMs: number): WorkHandle;
  workWait(w: WorkHandle, timeoutMs: number): void; workPromise(w: WorkHandle, timeoutMs: number): Promise<void>;
  workIsCompleted(w: WorkHandle): boolean; workResult(w: WorkHandle): H[];
  storeSet(g: GroupHandle, key: string, value: string): void; storeGet(g: GroupHandle, key: string): string;
  reducerAvailable(): boolean;
  reducerNew(g: GroupHandle, params: H[], buckets: number[][], bucketBytes: number, findUnused: boolean): ReducerHandle;
  reducerPrepare(r: ReducerHandle, outputs: H[]): void; reducerPending(r: ReducerHandle): boolean; reducerDestroy(r: ReducerHandle): void;
  backwardInputs(outputs: H[], inputs: H[], retainGraph: boolean, createGraph: boolean): void;

  jitLoad(path: string, device?: string): JitModuleHandle;
  jitCall(m: JitModuleHandle, method: string, args: JitRaw[], kwargs: Record<string, JitRaw>): JitRaw;
  jitMethods(m: JitModuleHandle): string[];
  jitParameters(m: JitModuleHandle): H[];
  jitDispose(m: JitModuleHandle): void;
}

function findAddon(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // src/engine → package root, both from the sources (tsx) and from dist/src/engine.
  const roots = [path.resolve(here, '..', '..'), path.resolve(here, '..', '..', '..')];
  for (const root of roots) {
    for (const kind of ['Release', 'Debug']) {
      const file = path.join(root, 'build', kind, 'stylegan_torch.node');
      if (existsSync(file)) return file;
    }
  }
  throw new Error(
    `stylegan-ts: the libtorch addon is not built (looked for build/Release/stylegan_torch.node under ${roots.join(', ')}); ` +
      'run `npm run build:native` (needs libtorch: Debian libtorch-dev, pip torch, or LIBTORCH=dir)',
  );
}

// libgomp reads its wait policy once, when libtorch loads it: a passive wait keeps idle OpenMP threads from spinning on
// cores that other work (or the other threads of this process) needs. Set when the engine is imported, before libtorch
// loads; STYLEGAN_OMP_WAIT / OMP_WAIT_POLICY override.
process.env.OMP_WAIT_POLICY ??= process.env.STYLEGAN_OMP_WAIT ?? 'PASSIVE';

const onLoad: ((addon: Native) => void)[] = [];

/** Runs `f` once the addon is loaded (right away if it already is): the runtime's default set-up. */
export function onNativeLoad(f: (addon: Native) => void): void {
  if (native === stub) onLoad.push(f);
  else f(native);
}

/** Loads the addon (libtorch) if it is not loaded yet, and returns it. */
export function loadNative(): Native {
  if (native === stub) {
    native = createRequire(import.meta.url)(findAddon()) as Native;
    for (const f of onLoad.splice(0)) f(native);
  }
  return native;
}

/** Stands in for the addon until the first call: importing the library does not load libtorch (so `--help` is fast). */
const stub: Native = new Proxy({} as Native, { get: (_target, name) => (loadNative() as unknown as Record<string | symbol, unknown>)[name] });

/**
 * The addon's functions. A live binding: the lazy stub until the first use, then the addon itself (so calls after the
 * first pay no indirection).
 */
export let native: Native = stub;
