/**
 * Tiny randomly initialised generators for the generate/explore tests, saved as checkpoints: a 16² RGB StyleGAN, a
 * 16² one-channel conditional StyleGAN (3 classes) and a 16² ProGAN. Noise strengths and the average w are set to
 * non-zero values so that noise and truncation visibly change the images.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../src/engine/index.js';
import { StyleGANGenerator, ProGANGenerator, styleganConfig, proganConfig, type StyleGANConfig } from '../../src/nets/index.js';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import type { ImageBatch } from '../../src/io/images.js';

export const tinyStyleGANConfig = (o: Partial<StyleGANConfig> = {}): StyleGANConfig =>
  styleganConfig({ resolution: 16, fmapBase: 32, fmapMax: 8, latentSize: 8, dlatentSize: 8, mappingFmaps: 8, mappingLayers: 2, ...o });

/** A tiny StyleGAN with noise strength 0.5 everywhere (or `noise`) and a random average w. */
export function tinyStyleGAN(o: Partial<StyleGANConfig> = {}, seed = 3, noise = 0.5): StyleGANGenerator {
  const G = new StyleGANGenerator(tinyStyleGANConfig(o), seed);
  E.noGrad(() => {
    for (const n of G.synthesis.vars.names()) if (n.endsWith('Noise/weight')) G.synthesis.vars.get(n).fill_(noise);
    G.dlatentAvg.copy_(E.tidy(() => E.randn([G.cfg.dlatentSize], { generator: new E.Generator(seed + 100) })));
  });
  return G;
}

export const tinyProGAN = (seed = 5): ProGANGenerator => new ProGANGenerator(proganConfig({ resolution: 16, fmapBase: 32, fmapMax: 8 }), seed);

/** Saves the three tiny networks in `dir`; returns their paths. */
export async function saveTinyNetworks(dir: string): Promise<{ rgb: string; cond: string; progan: string }> {
  mkdirSync(dir, { recursive: true });
  const paths = { rgb: join(dir, 'rgb.safetensors'), cond: join(dir, 'cond.safetensors'), progan: join(dir, 'progan.safetensors') };
  const rgb = tinyStyleGAN();
  const cond = tinyStyleGAN({ numChannels: 1, labelSize: 3 }, 4);
  const progan = tinyProGAN();
  await saveCheckpoint(paths.rgb, { config: rgb.cfg, nets: { Gs: rgb } });
  await saveCheckpoint(paths.cond, { config: cond.cfg, nets: { Gs: cond } });
  await saveCheckpoint(paths.progan, { config: progan.cfg, nets: { Gs: progan } });
  for (const G of [rgb, cond, progan]) G.dispose();
  return paths;
}

/** Image i of a batch, as bytes. */
export const imageBytes = (b: ImageBatch, i = 0): Uint8Array => {
  const size = b.width * b.height * b.channels;
  return b.data.subarray(i * size, (i + 1) * size);
};

/** The largest absolute difference of two equally long byte arrays. */
export function maxDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`maxDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
