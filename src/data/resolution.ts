/** Dataset resolutions: square, a power of two, at least the networks' 4×4 base. */

export const MIN_RESOLUTION = 4;

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

/** Whether `n` can be a dataset resolution. */
export function isValidResolution(n: number): boolean {
  return isPowerOfTwo(n) && n >= MIN_RESOLUTION;
}
