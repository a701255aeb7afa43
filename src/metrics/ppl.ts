/**
 * Perceptual path length (StyleGAN §4.2) as stylegan2-ada-pytorch computes it: for pairs of latents (z0, z1) and
 * t ~ U(0, 1) ('full') or t = 0 ('end'), the LPIPS distance between the images at t and t + ε along the path —
 * slerp in Z, lerp in W — divided by ε². Images are optionally centre-cropped to the face region (rows 3/8…7/8,
 * columns 2/8…6/8), box-downsampled to 256² when larger, scaled to 0…255 (gray repeated to RGB) and measured by
 * vgg16.pt with return_lpips=True. All images of one batch share one freshly drawn set of noise maps. The result is
 * the mean of the distances between their 1st ('lower') and 99th ('higher') percentiles.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { StyleGANGenerator } from '../nets/stylegan.js';
import { noiseSize } from '../nets/config.js';
import type { Detector } from './detector.js';

export type PplSpace = 'z' | 'w';
export type PplSampling = 'full' | 'end';

export interface PplConfig {
  space: PplSpace;
  sampling: PplSampling;
  crop: boolean;
  epsilon?: number;
}

/** Spherical interpolation of batches of vectors [N, D] with t [N, 1] (the official `slerp`, on normalised vectors). */
export function slerpBatch(a: Tensor, b: Tensor, t: Tensor): Tensor {
  return E.tidy(() => {
    const unit = (x: Tensor) => x.div(x.norm(2, [-1], true));
    const an = unit(a);
    const bn = unit(b);
    const d = an.mul(bn).sum(-1, true);
    const p = t.mul(d.acos());
    const c = unit(bn.sub(d.mul(an)));
    return unit(an.mul(p.cos()).add(c.mul(p.sin())));
  });
}

/** The image preparation of the PPL sampler: crop, downsample to 256², [−1, 1] → [0, 255], gray → RGB. */
export function pplImages(img: Tensor, crop: boolean): Tensor {
  return E.tidy(() => {
    let x = img;
    if (crop) {
      const [, , h, w] = x.shape as [number, number, number, number];
      if (h !== w) throw new Error(`PPL: the crop needs square images, got ${h}×${w}`);
      const c = Math.floor(h / 8);
      x = x.slice(2, c * 3, c * 7).slice(3, c * 2, c * 6);
    }
    const factor = Math.floor(img.shape[2]! / 256);
    if (factor > 1) {
      const [n, ch, h, w] = x.shape as [number, number, number, number];
      x = x.reshape(n, ch, h / factor, factor, w / factor, factor).mean([3, 5]);
    }
    x = x.add(1).mul(255 / 2);
    return x.shape[1] === 1 ? x.repeat(1, 3, 1, 1) : x;
  });
}

export interface PplBatchOptions extends PplConfig {
  /** One-hot labels [n, labelSize] of conditional networks (null otherwise). */
  labels: Tensor | null;
  generator?: E.Generator;
}

/** Distances [n] of one batch of n pairs. */
export function pplBatch(G: StyleGANGenerator, vgg: Detector, { n, ...o }: PplBatchOptions & { n: number }): Tensor {
  const eps = o.epsilon ?? 1e-4;
  const device = G.synthesis.device;
  return E.tidy(() => E.noGrad(() => {
    const gen = o.generator;
    const t = E.rand([n], { generator: gen }).mul(o.sampling === 'full' ? 1 : 0).to(device);
    const z = E.randn([n * 2, G.cfg.latentSize], { generator: gen }).to(device);
    const [z0, z1] = [z.narrow(0, 0, n), z.narrow(0, n, n)];
    const labels2 = o.labels ? E.cat([o.labels, o.labels], 0) : null;
    let wt: Tensor;
    if (o.space === 'w') {
      const w = G.mapping.forward(z, labels2);
      const [w0, w1] = [w.narrow(0, 0, n), w.narrow(0, n, n)];
      const tt = t.unsqueeze(1);
      wt = E.cat([w0.lerp(w1, tt), w0.lerp(w1, tt.add(eps))], 0);
    } else {
      const tt = t.unsqueeze(1);
      wt = G.mapping.forward(E.cat([slerpBatch(z0, z1, tt), slerpBatch(z0, z1, tt.add(eps))], 0), labels2);
    }
    const ws = wt.unsqueeze(1).expand(-1, G.numLayers, -1);
    const noise = Array.from({ length: G.numLayers }, (_, i) => E.randn([1, 1, noiseSize(i), noiseSize(i)], { generator: gen }).to(device));
    const img = pplImages(G.synthesis.forward(ws, { noise }), o.crop);
    const lpips = vgg.run(img);
    return lpips.narrow(0, 0, n).sub(lpips.narrow(0, n, n)).square().sum(1).div(eps * eps).to('cpu').to('float64');
  }));
}

/** Mean of the distances between the 1st percentile ('lower') and the 99th ('higher'), as the official metric. */
export function pplFromDistances(dist: Float64Array): number {
  const sorted = Float64Array.from(dist).sort();
  const n = sorted.length;
  const lo = sorted[Math.floor(0.01 * (n - 1))]!;
  const hi = sorted[Math.ceil(0.99 * (n - 1))]!;
  let sum = 0;
  let count = 0;
  for (const d of dist) {
    if (d >= lo && d <= hi) {
      sum += d;
      count++;
    }
  }
  return sum / count;
}
