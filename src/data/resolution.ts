/**
 * Dataset resolutions: square, a power of two, at least the networks' 4×4 base and at most 8192² (one 8192² RGB
 * image is 192 MiB of pixels, resampled in float: larger ones cannot be processed within a bounded memory).
 */

export const MIN_RESOLUTION = 4;
export const MAX_RESOLUTION = 8192;

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

/** Whether `n` can be a dataset resolution. */
export function isValidResolution(n: number): boolean {
  return isPowerOfTwo(n) && n >= MIN_RESOLUTION && n <= MAX_RESOLUTION;
}
