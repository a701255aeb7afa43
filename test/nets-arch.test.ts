import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StyleGANGenerator, Discriminator, ProGANGenerator, styleganConfig, proganConfig } from '../src/nets/index.js';

/** The official networks' variables (name [shape], in creation order), listed from NVIDIA's TF networks at 1024². */
const variableList = (name: string) => readFileSync(fileURLToPath(new URL(`../../test/fixtures/variables/${name}`, import.meta.url)), 'utf8').split('\n');
const shapes = (m: Map<string, { shape: number[] }>) => [...m].map(([k, v]) => `${k} [${v.shape.join(', ')}]`);

test('parameter counts at 1024 match the official networks', () => {
  const sg = styleganConfig({ resolution: 1024 });
  const G = new StyleGANGenerator(sg);
  const D = new Discriminator(sg);
  const PG = new ProGANGenerator(proganConfig({ resolution: 1024 }));
  const PD = new Discriminator(proganConfig({ resolution: 1024 }));
  try {
    assert.equal(G.numParams(), 26_219_627);
    assert.equal(G.mapping.numParams(), 2_101_248);
    assert.equal(G.synthesis.numParams(), 24_118_379);
    assert.equal(D.numParams(), 23_087_249);
    assert.equal(PG.numParams(), 23_079_115);
    assert.equal(PD.numParams(), 23_087_249);

    // Official variable names, shapes and creation order.
    const lines = variableList('variables-stylegan1-1024.txt').filter((l) => /^\S+ \[/.test(l));
    const split = lines.indexOf('lod []');
    assert.equal(split, 143);
    assert.deepEqual(shapes(G.stateDict()).slice(2), lines.slice(0, split));
    assert.deepEqual(shapes(G.stateDict()).slice(0, 2), ['lod []', 'dlatent_avg [512]']);
    assert.deepEqual(shapes(D.stateDict()), lines.slice(split));
    const pg = variableList('variables-progan-1024.txt');
    const of = (p: string) => pg.filter((l) => l.startsWith(p)).map((l) => l.slice(2));
    assert.equal(of('G ').length, 55);
    assert.deepEqual(shapes(PG.stateDict()), of('G '));
    assert.deepEqual(shapes(PD.stateDict()), of('D '));
  } finally {
    for (const n of [G, D, PG, PD]) n.dispose();
  }
});

test('every power-of-two resolution 4…1024 builds with consistent channels; 1 or 3 channels; labels', () => {
  for (const resolution of [4, 8, 16, 32, 64, 128, 256]) {
    const cfg = styleganConfig({ resolution, fmapBase: 256, fmapMax: 32, latentSize: 16, dlatentSize: 16, mappingFmaps: 16, mappingLayers: 2 });
    const G = new StyleGANGenerator(cfg);
    assert.equal(G.numLayers, 2 * Math.log2(resolution) - 2);
    G.dispose();
  }
  assert.throws(() => styleganConfig({ resolution: 48 }), /power of two in 4…1024, got 48/);
  assert.throws(() => styleganConfig({ resolution: 2048 }), /power of two/);
  const c = styleganConfig({ resolution: 16, numChannels: 1, labelSize: 10, fmapBase: 64, fmapMax: 16, latentSize: 8, dlatentSize: 8, mappingFmaps: 8 });
  const G = new StyleGANGenerator(c);
  assert.deepEqual(G.mapping.vars.info.get('LabelConcat/weight')!.shape, [10, 8]);
  assert.deepEqual(G.mapping.vars.info.get('Dense0/weight')!.shape, [16, 8]);
  assert.deepEqual(G.synthesis.vars.info.get('ToRGB_lod0/weight')!.shape, [1, 1, 8, 1], 'nf(3) = 64 / 8');
  const D = new Discriminator(c);
  assert.deepEqual(D.vars.info.get('4x4/Dense1/weight')!.shape, [16, 10]);
  const PD = new Discriminator(proganConfig({ resolution: 16, labelSize: 10, fmapBase: 64, fmapMax: 16 }));
  assert.deepEqual(PD.vars.info.get('4x4/Dense1/weight')!.shape, [16, 11]);
  const legacy = new ProGANGenerator(proganConfig({ resolution: 16, fusedScale: false, fmapBase: 64, fmapMax: 16 }));
  assert.ok(legacy.vars.has('8x8/Conv0/weight') && !legacy.vars.has('8x8/Conv0_up/weight'));
  const fused = new ProGANGenerator(proganConfig({ resolution: 16, fmapBase: 64, fmapMax: 32 }));
  assert.deepEqual(fused.vars.info.get('16x16/Conv0_up/weight')!.shape, [3, 3, 8, 16], 'ProGAN fused up-conv is [k, k, Cout, Cin]');
  for (const n of [G, D, PD, legacy, fused]) n.dispose();
});
