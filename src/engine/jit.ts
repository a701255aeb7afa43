/**
 * TorchScript modules (torch.jit.save files) loaded and called through the addon: `jit.load(path, {device})` then
 * `module.call(...args, kwargs)`. Arguments are tensors, numbers, booleans, strings, null and arrays (converted as the
 * method's schema says: 1 becomes a float where a float is declared); a trailing plain object holds keyword
 * arguments. Results come back as tensors (registered with the current `tidy` scope), arrays for tuples and lists,
 * plain objects for string-keyed dicts, numbers, booleans, strings and null. Errors name the file.
 *
 * The native interface keeps the addon's positional signatures (a mechanical mirror, exempt from the named-options rule).
 */
import { existsSync } from 'node:fs';
import { native, type Handle, type JitModuleHandle as ModuleHandle, type JitRaw as Raw } from './native.js';
import { Tensor } from './tensor.js';
import type { Disposable } from './scope.js';


/** What a TorchScript method takes. */
export type JitValue = Tensor | number | boolean | string | null | undefined | readonly JitValue[];
/** What a TorchScript method returns. */
export type JitResult = Tensor | number | boolean | string | null | JitResult[] | { [k: string]: JitResult };
/** Keyword arguments: a plain object as the last argument of `call`. */
export type JitKwargs = { readonly [name: string]: JitValue };

function toRaw(v: JitValue): Raw {
  if (v instanceof Tensor) return v.handle;
  if (Array.isArray(v)) return (v as readonly JitValue[]).map(toRaw);
  return (v ?? null) as Raw;
}

function isHandle(v: unknown): v is Handle {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === null;
}

function fromRaw(v: Raw): JitResult {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(fromRaw);
  if (isHandle(v)) return new Tensor(v);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromRaw(x)]));
}

const isKwargs = (v: unknown): v is JitKwargs =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Tensor);

/** A loaded TorchScript module (in eval mode). Free it with `dispose()`. */
export class JitModule implements Disposable {
  #handle: ModuleHandle | null;
  constructor(handle: ModuleHandle, readonly path: string, readonly device: string) {
    this.#handle = handle;
  }
  get disposed(): boolean {
    return this.#handle === null;
  }
  private get handle(): ModuleHandle {
    if (this.#handle === null) throw new Error(`${this.path}: TorchScript module was disposed`);
    return this.#handle;
  }
  /** Calls `forward`: positional arguments, then optionally one plain object of keyword arguments. */
  call(...args: (JitValue | JitKwargs)[]): JitResult {
    return this.callMethod('forward', ...args);
  }
  /** Calls a named method of the module. */
  callMethod(method: string, ...args: (JitValue | JitKwargs)[]): JitResult {
    const last = args[args.length - 1];
    const kwargs = isKwargs(last) ? last : {};
    const positional = (isKwargs(last) ? args.slice(0, -1) : args) as JitValue[];
    const raw = Object.fromEntries(Object.entries(kwargs).filter(([, x]) => x !== undefined).map(([k, x]) => [k, toRaw(x)]));
    const handle = this.handle;
    try {
      return fromRaw(native.jitCall(handle, method, positional.map(toRaw), raw));
    } catch (e) {
      throw new Error(`${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }
  /** `call` for modules that return one tensor; anything else is an error naming the file. */
  callTensor(...args: (JitValue | JitKwargs)[]): Tensor {
    const r = this.call(...args);
    if (r instanceof Tensor) return r;
    throw new Error(`${this.path}: expected the module to return one tensor`);
  }
  methods(): string[] {
    return native.jitMethods(this.handle);
  }
  /** The module's parameters (recursively), as tensors sharing its storage. */
  parameters(): Tensor[] {
    return native.jitParameters(this.handle).map((h) => new Tensor(h));
  }
  dispose(): void {
    if (this.#handle === null) return;
    native.jitDispose(this.#handle);
    this.#handle = null;
  }
}

/** Loads a TorchScript file onto `device` (default 'cpu'). Errors name the file. */
export function load(path: string, o: { device?: string } = {}): JitModule {
  const device = o.device ?? 'cpu';
  if (!existsSync(path)) throw new Error(`${path}: no such TorchScript file`);
  try {
    return new JitModule(native.jitLoad(path, device), path, device);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new Error(`${path}: not a loadable TorchScript module (${msg})`, { cause: e });
  }
}
