/**
 * Non-finite values (NaN, ±Inf) in what a file gives the networks. One NaN weight or latent turns every image it
 * reaches black, silently: latents are refused, weights are warned about, naming the file.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

/** How warnings reach the user; the CLI prints them as `stylegan: warning: …`, the default is process.emitWarning. */
let sink: (message: string) => void = (message) => process.emitWarning(message, 'StyleganWarning');

export function setWarningSink(write: (message: string) => void): void {
  sink = write;
}

export function warn(message: string): void {
  sink(message);
}

/**
 * Number of NaN / ±Inf values in a floating tensor. A finite sum proves there are none without the elementwise
 * test, whose temporaries would add about twice the tensor's size to the peak memory of a load.
 */
export function nonFiniteCount(t: Tensor): number {
  return E.tidy(() => (Number.isFinite(t.sum().item()) ? 0 : t.numel - t.isfinite().sum().item()));
}

/** Index of the first NaN / ±Inf value in `data`, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/**
 * Warns (naming `where` and the first variable) when a network's variables hold NaN / ±Inf values. Returns the
 * number of such values.
 */
export function warnNonFiniteWeights(variables: Map<string, Tensor>, where: string): number {
  let total = 0;
  let first = '';
  for (const [name, t] of variables) {
    const n = nonFiniteCount(t);
    if (n > 0 && !first) first = name;
    total += n;
  }
  if (total > 0) warn(`${where}: ${total} weight value(s) are NaN or infinite (first in '${first}'); the images will be black or garbage`);
  return total;
}
