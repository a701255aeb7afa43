/** Class conditioning: the one check that a conditional network got its class, and its message. */
import type { Tensor } from '../engine/index.js';

/** The error of a conditional network used without a class; `remedy` says what to pass ('pass labels', '--class …'). */
export function missingClassError(labelSize: number, remedy: string): Error {
  return new Error(`this network is conditional (${labelSize} classes): ${remedy}`);
}

/** The one-hot labels [N, labelSize] a conditional network needs; `who` names the network in the error. */
export function requireLabels(who: string, labelSize: number, labels: Tensor | null | undefined): Tensor {
  if (!labels) throw new Error(`${who}: ${missingClassError(labelSize, 'pass labels').message}`);
  return labels;
}
