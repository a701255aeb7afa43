/**
 * Seeds and latents as NVIDIA's scripts define them: a seed list like '0-7,42' (stylegan2-ada `num_range`, extended to
 * several comma-separated ranges) and z = `np.random.RandomState(seed).randn(1, latent_size)`, so that "seed 85" is the
 * same latent here as in the official code.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { latentFromSeed } from '../engine/numpy-random.js';

/** The largest seed numpy's RandomState accepts. */
export const MAX_SEED = 2 ** 32 - 1;

/**
 * Parses comma-separated integers and inclusive ranges ('0-7,42' → 0…7, 42) in [min, max], in the order written
 * (duplicates kept). `what` names the option in errors.
 */
export function parseIntRanges(text: string, what: string, { min, max }: { min: number; max: number }): number[] {
  const out: number[] = [];
  const parts = text.split(',').map((s) => s.trim());
  if (text.trim() === '' || parts.some((p) => p === '')) throw new Error(`${what}: expected a list like '0-7,42', got '${text}'`);
  for (const part of parts) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw new Error(`${what}: '${part}' is not an integer or a range a-b (in '${text}')`);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a) throw new Error(`${what}: range '${part}' goes backwards`);
    if (a < min || b > max) throw new Error(`${what}: '${part}' is outside ${min}…${max}`);
    if (out.length + (b - a + 1) > 1_000_000) throw new Error(`${what}: '${text}' lists more than 1,000,000 values`);
    for (let v = a; v <= b; v++) out.push(v);
  }
  return out;
}

/** '0-7,42' → [0, 1, …, 7, 42]; every seed must be a valid RandomState seed (0 … 2^32 − 1). */
export function parseSeeds(text: string, what = 'seeds'): number[] {
  return parseIntRanges(text, what, { min: 0, max: MAX_SEED });
}

/** Comma-separated numbers ('1,0.7,-0.5'), e.g. truncation ψ values. */
export function parseNumberList(text: string, what: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === '' || !Number.isFinite(values[i]));
  if (bad >= 0) throw new Error(`${what}: '${parts[bad]}' is not a number (in '${text}')`);
  return values;
}

/** z for each seed, [seeds.length, dim] float32, row i = RandomState(seeds[i]).randn(1, dim). */
export function latentsFromSeeds(seeds: readonly number[], dim: number): Float32Array {
  const out = new Float32Array(seeds.length * dim);
  seeds.forEach((s, i) => out.set(latentFromSeed(s, dim), i * dim));
  return out;
}

/** The same as a tensor on `device`. */
export function seedLatents(seeds: readonly number[], dim: number, device = 'cpu'): Tensor {
  const t = E.fromTypedArray(latentsFromSeeds(seeds, dim), [seeds.length, dim]);
  return device === 'cpu' ? t : E.tidy(() => t.to(device));
}
