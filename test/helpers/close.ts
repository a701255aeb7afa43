/** Elementwise comparison helpers of the kernel tests (fused epilogues against the ops they replace). */
import assert from 'node:assert/strict';
import type * as E from '../../src/engine/index.js';

/** A tensor's values as float64 numbers in logical (NCHW) order. */
export const arr = (t: E.Tensor): number[] => Array.from(t.to('float64').contiguous().toTypedArray() as Float64Array);

/** Every a[i] within tol · (1 + |b[i]|) of b[i]. */
export function near(a: number[], b: number[], tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${v} vs ${b[i]}`));
}

/** The same values laid out NHWC in memory (channels-last strides). */
export const channelsLast = (x: E.Tensor): E.Tensor => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
