/**
 * Statistics of W estimated from samples, as projector.py computes them: z = RandomState(123).randn(N, latent), w =
 * mapping(z) (no truncation), the mean w and the scalar spread σ = (Σ‖w − w̄‖² / N)^½. For a conditional network the
 * samples carry one class, giving that class's own average w: the centre that class-aware truncation pulls
 * towards (the tracked global average of a conditional network mixes all classes, so ψ = 0 lands between them).
 * Results are cached per generator, class and sample count for the life of the process.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { RandomState } from '../engine/numpy-random.js';
import type { StyleGANGenerator } from '../nets/stylegan.js';

export interface WStatistics {
  /** Mean w [dlatentSize]. */
  avg: Float32Array;
  /** Root mean squared distance from the mean. */
  std: number;
}

const cache = new WeakMap<StyleGANGenerator, Map<string, WStatistics>>();

/** W mean and spread of a generator (of one class for conditional networks: `classIndex` required there). */
export function wStatistics(G: StyleGANGenerator, o: { classIndex?: number | null; samples?: number; seed?: number } = {}): WStatistics {
  const L = G.cfg.labelSize;
  const cls = o.classIndex ?? null;
  if (L > 0 && (cls === null || !Number.isInteger(cls) || cls < 0 || cls >= L)) {
    throw new Error(`this network is conditional (${L} classes): the w average needs a class 0…${L - 1}, got ${cls}`);
  }
  if (L === 0 && cls !== null) throw new Error('a class was given, but this network is unconditional');
  const samples = o.samples ?? 10_000;
  const seed = o.seed ?? 123;
  const key = `${cls}/${samples}/${seed}`;
  let perG = cache.get(G);
  if (!perG) cache.set(G, (perG = new Map()));
  const hit = perG.get(key);
  if (hit) return hit;
  const D = G.cfg.dlatentSize;
  const device = G.synthesis.device;
  const z = Float32Array.from(new RandomState(seed).randn(samples, G.cfg.latentSize));
  const stats = E.tidy(() => E.noGrad(() => {
    const parts: Tensor[] = [];
    for (let start = 0; start < samples; start += 1000) {
      const n = Math.min(1000, samples - start);
      const zs = E.fromTypedArray(z.subarray(start * G.cfg.latentSize, (start + n) * G.cfg.latentSize), [n, G.cfg.latentSize]).to(device);
      const labels = cls === null ? null : E.oneHot(new Array<number>(n).fill(cls), L, device);
      parts.push(G.mapping.forward(zs, labels).to('float32'));
    }
    const w = E.cat(parts, 0);
    const avg = w.mean(0, true);
    const std = Math.sqrt(w.sub(avg).square().sum().item() / samples);
    return { avg: avg.reshape(D).to('cpu').contiguous().toFloat32Array(), std };
  }));
  perG.set(key, stats);
  return stats;
}

/** Per-row truncation centres [n, dlatentSize]: each row's class average w (classes as indices). */
export function classCenters(G: StyleGANGenerator, classes: readonly number[]): Tensor {
  const rows = classes.map((c) => wStatistics(G, { classIndex: c }).avg);
  const D = G.cfg.dlatentSize;
  const flat = new Float32Array(rows.length * D);
  rows.forEach((r, i) => flat.set(r, i * D));
  return E.tidy(() => E.fromTypedArray(flat, [rows.length, D]).to(G.synthesis.device));
}
