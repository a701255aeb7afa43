/**
 * Deterministic freeing of native tensors. The JS garbage collector cannot see libtorch's memory, so every tensor
 * belongs to the innermost open scope when it is created; when the scope closes, everything it owns is disposed except
 * what the scope's function returns (which moves to the enclosing scope) and what was `keep`-ed.
 */

/** Anything that owns native memory and can be released now. */
export interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
}

const stack: Set<Disposable>[] = [];

/** Registers a freshly created tensor with the innermost scope (no-op outside scopes). */
export function track<T extends Disposable>(t: T): T {
  const top = stack[stack.length - 1];
  if (top) top.add(t);
  return t;
}

/** Removes `t` from every open scope: it lives until disposed explicitly (parameters, optimizer state, caches). */
export function keep<T extends Disposable>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

/** Calls `visit` for every Disposable inside a returned value (arrays, plain objects, Maps, nested). */
function collect(value: unknown, visit: (d: Disposable) => void, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (typeof (value as Disposable).dispose === 'function' && 'disposed' in (value as object)) {
    visit(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, visit, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, visit, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, visit, seen);
}

function close(scope: Set<Disposable>, result: unknown): void {
  const survivors = new Set<Disposable>();
  collect(result, (d) => survivors.add(d));
  for (const t of scope) if (!survivors.has(t)) t.dispose();
  const parent = stack[stack.length - 1];
  if (parent) for (const t of survivors) if (scope.has(t)) parent.add(t);
}

/**
 * Runs `fn` in a new scope. Tensors created inside are disposed when it returns, except those in its result.
 * Async functions are not supported (a scope must not span an await): use `scopeAsync`.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    close(scope, undefined);
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) throw new Error('tidy(): the function returned a Promise; use scopeAsync for async work');
  close(scope, result);
  return result;
}

/** Disposes every Disposable found inside `value` (arrays, objects, Maps). */
export function disposeAll(value: unknown): void {
  collect(value, (d) => {
    if (!d.disposed) d.dispose();
  });
}

/** Number of open scopes (for tests and assertions). */
export function scopeDepth(): number {
  return stack.length;
}
