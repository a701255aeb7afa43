/**
 * Latent interpolation videos: a path through the latents of a list of seeds, in Z with spherical interpolation
 * (slerp, as the perceptual-path-length metric walks Z) or in W with linear interpolation (lerp). `frames` frames in
 * total, evenly spaced along the path; with `loop` the path returns to the first seed (the last frame is just before
 * it, so the video repeats seamlessly), without it the last frame is the last seed.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { pick, toUint8, type ImageBatch } from '../io/images.js';
import { latentsFromSeeds } from './seeds.js';
import {
  type AnyGenerator, type RenderOptions, isStyleGAN, requireStyleGAN, truncationOf, noiseModeOf, batchOf, classIndices,
  oneHotLabels, mapLatents, synthesizeImages, noiseBySeed, inference, deviceOf, batches, precisionOf,
} from './render.js';

export type InterpolationSpace = 'z' | 'w';

/** `classes` (conditional networks): one for all, or one per seed (labels are interpolated with the latents). */
export interface InterpolationOptions extends RenderOptions {
  /** The key seeds, in order (at least 2). */
  seeds: readonly number[];
  /** 'z' (slerp, default) or 'w' (lerp of the mapped and truncated w; StyleGAN only). */
  space?: InterpolationSpace;
  /** Frames in total (≥ 2). */
  frames: number;
  /** Return to the first seed (default true). */
  loop?: boolean;
}

/** Where frame i lies: between key `from` and key `to`, at fraction t. */
export interface PathPoint {
  from: number;
  to: number;
  t: number;
}

/** The evenly spaced frame positions on a path through `keys` key points (see the module comment). */
export function interpolationPath(keys: number, frames: number, loop = true): PathPoint[] {
  if (!Number.isInteger(keys) || keys < 2) throw new Error(`interpolation needs at least 2 seeds, got ${keys}`);
  if (!Number.isInteger(frames) || frames < 2) throw new Error(`interpolation needs at least 2 frames, got ${frames}`);
  const segments = loop ? keys : keys - 1;
  return Array.from({ length: frames }, (_, i) => {
    const pos = loop ? (i * segments) / frames : (i * segments) / (frames - 1);
    const from = Math.min(Math.floor(pos), segments - 1);
    return { from, to: (from + 1) % keys, t: pos - from };
  });
}

/**
 * Spherical interpolation between a and b (Shoemake): sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b, with Ω the angle
 * between them; exactly a at t = 0 and b at t = 1; linear when they are (anti)parallel within rounding.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float64Array {
  let [dot, na, nb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const cos = Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
  const omega = Math.acos(cos);
  const s = Math.sin(omega);
  const [ca, cb] = s < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / s, Math.sin(t * omega) / s];
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = t === 0 ? a[i]! : t === 1 ? b[i]! : ca * a[i]! + cb * b[i]!;
  return out;
}

/** The one-hot (or interpolated) labels of each frame; null for unconditional networks. */
function frameLabels(G: AnyGenerator, o: InterpolationOptions, path: PathPoint[]): Float32Array | null {
  const classes = classIndices(G, o.classes, o.seeds.length);
  if (!classes) return null;
  const L = G.cfg.labelSize;
  const out = new Float32Array(path.length * L);
  path.forEach((p, i) => {
    out[i * L + classes[p.from]!] += 1 - p.t;
    out[i * L + classes[p.to]!] += p.t;
  });
  return out;
}

/**
 * The frames of an interpolation video, one single-image batch each, rendered `batch` frames at a time. The first frame
 * is the first seed's image (what `generateImages` gives for it with the same options).
 */
export function* interpolationFrames(G: AnyGenerator, o: InterpolationOptions): Generator<ImageBatch> {
  const space = o.space ?? 'z';
  if (space !== 'z' && space !== 'w') throw new Error(`interpolation space must be 'z' or 'w', got '${String(space)}'`);
  if (space === 'w') requireStyleGAN(G, 'interpolation in W');
  const path = interpolationPath(o.seeds.length, o.frames, o.loop ?? true);
  const trunc = truncationOf(G, o);
  const mode = noiseModeOf(G, o);
  const batch = batchOf(o);
  const precision = precisionOf(G, o);
  const dim = G.cfg.latentSize;
  const keys = latentsFromSeeds(o.seeds, dim);
  const key = (k: number) => keys.subarray(k * dim, (k + 1) * dim);
  const device = deviceOf(G);
  // Each frame's noise seed is its index ('random' noise changes from frame to frame; the default 'const' does not).
  const frameSeeds = path.map((_, i) => i);
  if (space === 'z' || !isStyleGAN(G)) {
    const labels = frameLabels(G, o, path);
    const L = G.cfg.labelSize;
    const labelRows = (start: number, end: number): Tensor | null =>
      labels && E.fromTypedArray(labels.slice(start * L, end * L), [end - start, L]).to(device);
    const z = new Float32Array(path.length * dim);
    path.forEach((p, i) => z.set(slerp(key(p.from), key(p.to), p.t), i * dim));
    for (const [start, end] of batches(path.length, batch)) {
      const images = inference(() => {
        const zs = E.fromTypedArray(z.slice(start * dim, end * dim), [end - start, dim]).to(device);
        if (!isStyleGAN(G)) return toUint8(G.forward(zs, { labels: labelRows(start, end), precision }));
        const d = mapLatents(G, zs, { labels: labelRows(start, end), truncation: trunc });
        return synthesizeImages(G, d, { noise: noiseBySeed(G, mode, frameSeeds.slice(start, end)), batch, precision });
      });
      for (let i = 0; i < images.count; i++) yield pick(images, i);
    }
    return;
  }
  // W: map each key seed (with its class) once, then lerp between keys.
  const classes = classIndices(G, o.classes, o.seeds.length);
  const w = E.keep(inference(() => {
    const zs = E.fromTypedArray(keys, [o.seeds.length, dim]).to(device);
    return mapLatents(G, zs, { labels: classes ? oneHotLabels(classes, G.cfg.labelSize, device) : null, truncation: trunc });
  }));
  try {
    for (const [start, end] of batches(path.length, batch)) {
      const images = inference(() => {
        const pts = path.slice(start, end);
        const idx = (f: (p: PathPoint) => number) => E.fromTypedArray(BigInt64Array.from(pts.map((p) => BigInt(f(p)))), [pts.length]).to(device);
        const t = E.fromTypedArray(Float32Array.from(pts.map((p) => p.t)), [pts.length, 1, 1]).to(device);
        const d = w.indexSelect(0, idx((p) => p.from)).lerp(w.indexSelect(0, idx((p) => p.to)), t);
        return synthesizeImages(G, d, { noise: noiseBySeed(G, mode, frameSeeds.slice(start, end)), batch, precision });
      });
      for (let i = 0; i < images.count; i++) yield pick(images, i);
    }
  } finally {
    w.dispose();
  }
}
