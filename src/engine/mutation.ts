/**
 * A count of in-place writes to tensor data: every in-place op of the engine (the `_` methods, `normal_`, `uniform_`
 * and the Adam step) advances it. A value derived from tensors and cached (src/nn's prepared weights) stays valid
 * while the count is unchanged.
 */
let epoch = 0;

/** The current count; it only grows. */
export const mutationEpoch = (): number => epoch;

/** Records an in-place write (called by the engine's in-place ops). */
export function noteMutation(): void {
  epoch += 1;
}
