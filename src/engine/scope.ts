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

/** Creation sites of the tensors created while leak debugging is on (see `debugLeaks`). */
let sites: Map<Disposable, string> | null = process.env.STYLEGAN_DEBUG_TENSORS === '1' ? new Map() : null;

/** The first stack frames outside the engine: where user code created a tensor. */
function creationSite(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1).map((l) => l.trim().replace(/^at /, ''));
  const outside = frames.filter((f) => !/[/\\]engine[/\\][\w-]+\.[jt]s/.test(f) && !f.startsWith('node:'));
  return (outside.length ? outside : frames).slice(0, 3).join(' ← ');
}

/** Registers a freshly created tensor with the innermost scope (no-op outside scopes). */
export function track<T extends Disposable>(t: T): T {
  const top = stack[stack.length - 1];
  if (top) top.add(t);
  if (sites) {
    sites.set(t, creationSite());
    if (sites.size % 65536 === 0) for (const d of sites.keys()) if (d.disposed) sites.delete(d);
  }
  return t;
}

/**
 * Leak debugging: while on (also from the start with STYLEGAN_DEBUG_TENSORS=1), every tensor records where it was
 * created, and `leakReport()` lists the ones still alive by creation site. Costs a stack trace per tensor.
 */
export function debugLeaks(on: boolean): void {
  sites = on ? (sites ?? new Map()) : null;
}

export interface LeakSite {
  /** The innermost frame outside the engine. */
  site: string;
  count: number;
  /** The first frames outside the engine of one of them, innermost first. */
  example: string;
}

/** Tensors created while leak debugging was on and not disposed yet, grouped by creation site, most first. */
export function leakReport(): { live: number; sites: LeakSite[] } {
  const bySite = new Map<string, LeakSite>();
  let live = 0;
  for (const [d, chain] of sites ?? []) {
    if (d.disposed) {
      sites!.delete(d);
      continue;
    }
    live++;
    const site = chain.split(' ← ')[0]!;
    const entry = bySite.get(site) ?? { site, count: 0, example: chain };
    entry.count++;
    bySite.set(site, entry);
  }
  return { live, sites: [...bySite.values()].sort((a, b) => b.count - a.count) };
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

/**
 * `tidy` for async work: tensors created until the promise settles are disposed then, except those in its result.
 * The scope is the innermost one while `fn` runs, across its awaits, so run one `scopeAsync` at a time (concurrent ones
 * would collect each other's tensors; closing out of order is detected and refused).
 */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const scope = new Set<Disposable>();
  stack.push(scope);
  /** Removes this scope from the stack; false when it was not the innermost one. */
  const pop = () => {
    const at = stack.lastIndexOf(scope);
    stack.splice(at, 1);
    return at === stack.length;
  };
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    pop();
    close(scope, undefined);
    throw e;
  }
  const inOrder = pop();
  close(scope, inOrder ? result : undefined);
  if (!inOrder) throw new Error('scopeAsync: scopes closed out of order (two scopeAsync calls ran concurrently, or a scope spanned an await)');
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
