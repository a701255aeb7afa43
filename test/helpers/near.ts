/** Element-wise closeness of tensors' values for the parity tests. */
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/engine/index.js';

/** The values of t as float64 numbers (any dtype and layout). */
export const arr = (t: Tensor): number[] => Array.from(t.to('float64').contiguous().toTypedArray() as Float64Array);

/** Asserts |a_i − b_i| ≤ tol · (1 + |b_i|) for every element, naming the first one that is not. */
export function near(a: number[], b: number[], tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${v} vs ${b[i]}`));
}
