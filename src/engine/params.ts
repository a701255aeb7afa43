/**
 * Named parameter and buffer containers. Entries are kept out of every scope (they live until `dispose`), iterate in
 * insertion order, and are addressed by their official variable names so a state dict is a file format.
 */
import type { Tensor } from './tensor.js';
import { keep } from './scope.js';
import { noGrad } from './autograd.js';

export class TensorDict {
  readonly #map = new Map<string, Tensor>();

  /** Adds (or replaces, disposing the old) `name`. */
  set(name: string, t: Tensor): Tensor {
    const old = this.#map.get(name);
    if (old && old !== t) old.dispose();
    this.#map.set(name, keep(t));
    return t;
  }
  get(name: string): Tensor {
    const t = this.#map.get(name);
    if (!t) throw new Error(`no tensor named '${name}'`);
    return t;
  }
  has(name: string): boolean {
    return this.#map.has(name);
  }
  delete(name: string): void {
    this.#map.get(name)?.dispose();
    this.#map.delete(name);
  }
  get size(): number {
    return this.#map.size;
  }
  keys(): string[] {
    return [...this.#map.keys()];
  }
  values(): Tensor[] {
    return [...this.#map.values()];
  }
  entries(): [string, Tensor][] {
    return [...this.#map.entries()];
  }
  /** Total number of elements. */
  numel(): number {
    let n = 0;
    for (const t of this.#map.values()) n += t.numel;
    return n;
  }
  /** Copies values in from tensors of equal shape (no graph recorded). */
  copyFrom(src: Map<string, Tensor> | TensorDict): void {
    noGrad(() => {
      for (const [k, v] of src.entries()) this.get(k).copy_(v);
    });
  }
  dispose(): void {
    for (const t of this.#map.values()) t.dispose();
    this.#map.clear();
  }
}
