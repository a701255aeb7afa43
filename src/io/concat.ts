/** Joining typed arrays end to end (bytes of a file, images of a batch, latents of a run). */

type Flat = Uint8Array | Float32Array;

/** The arrays of `parts` one after another in a new array made by `alloc(total length)` (a Uint8Array by default). */
export function concatArrays<T extends Flat = Uint8Array>(parts: readonly T[], alloc: (length: number) => T = (n) => new Uint8Array(n) as T): T {
  const out = alloc(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
