/**
 * G and D against the independent PyTorch peer (bench/py/stylegan_nets.py, written from the architecture facts): the
 * same variables, latents and images give the same outputs. Weights are perturbed first so that noise strengths,
 * biases and styles all matter (they start at zero).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/engine/index.js';
import { buildGenerator, buildDiscriminator, styleganConfig, proganConfig, StyleGANGenerator, type NetworkConfig } from '../src/nets/index.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { PYTHON, ROOT, runPython, torchImportable } from './helpers/python.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('sgts-parity');
const skip = torchImportable() ? false : `${PYTHON} cannot import torch`;

/** Our outputs and the peer's for the same variables: G(z) (stored noise, no truncation) and D(reals). */
async function both(cfg: NetworkConfig, name: string) {
  const G = buildGenerator(cfg, 1);
  const D = buildDiscriminator(cfg, 2);
  const gen = new E.Generator(3);
  try {
    E.noGrad(() => {
      for (const net of [G, D]) for (const p of net.parameters()) p.add_(E.randn(p.shape, { generator: gen }).mul(0.2));
    });
    const z = E.keep(E.randn([4, cfg.latentSize], { generator: gen }));
    const reals = E.keep(E.randn([4, cfg.numChannels, cfg.resolution, cfg.resolution], { generator: gen }));
    const path = join(dir, `${name}.safetensors`);
    await saveCheckpoint(path, { config: cfg, nets: { G, D }, extra: new Map([['z', z], ['reals', reals]]) });
    runPython(join(ROOT, 'test/helpers/nets_parity.py'), [path], true);
    const f32 = (what: string) => {
      const b = readFileSync(`${path}.${what}.f32`);
      return Array.from(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4));
    };
    const peer = { images: f32('images'), scores: f32('scores') };
    const ours = E.noGrad(() => ({
      images: Array.from((G instanceof StyleGANGenerator ? G.forward(z, { noise: 'const' }) : G.forward(z)).toFloat32Array()),
      scores: Array.from(D.forward(reals).toFloat32Array()),
    }));
    z.dispose();
    reals.dispose();
    return { ours, peer };
  } finally {
    G.dispose();
    D.dispose();
  }
}

const maxDiff = (a: number[], b: number[]) => (a.length === b.length ? a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0) : Infinity);
const scale = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

for (const [name, cfg] of [
  ['StyleGAN 128² (fused resampling at 128²)', styleganConfig({ resolution: 128, fmapBase: 1024, fmapMax: 8, latentSize: 8, dlatentSize: 8, mappingFmaps: 8, mappingLayers: 2 })],
  ['ProGAN 32²', proganConfig({ resolution: 32, fmapBase: 64, fmapMax: 16, latentSize: 16 })],
] as const) {
  test(`${name}: G and D match the PyTorch peer`, { skip }, async () => {
    const { ours, peer } = await both(cfg, cfg.arch);
    assert.equal(ours.images.length, 4 * cfg.numChannels * cfg.resolution ** 2);
    assert.ok(scale(ours.images) > 0.1 && scale(ours.scores) > 0.01, `outputs are not trivially small: ${scale(ours.images)}, ${scale(ours.scores)}`);
    assert.ok(maxDiff(ours.images, peer.images) <= 1e-4 * scale(ours.images), `G: max |Δ| ${maxDiff(ours.images, peer.images)} at scale ${scale(ours.images)}`);
    assert.ok(maxDiff(ours.scores, peer.scores) <= 1e-4 * scale(ours.scores), `D: max |Δ| ${maxDiff(ours.scores, peer.scores)} at scale ${scale(ours.scores)}`);
  });
}
