import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as E from '../src/engine/index.js';
import { StyleGANGenerator, Discriminator, ProGANGenerator, styleganConfig, proganConfig } from '../src/nets/index.js';
import { saveCheckpoint, loadCheckpoint, loadGenerator, recordToTensor } from '../src/io/checkpoint.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../src/io/safetensors.js';

const cfg = styleganConfig({ resolution: 8, fmapBase: 16, fmapMax: 8, latentSize: 8, dlatentSize: 8, mappingFmaps: 8, mappingLayers: 2 });

test('checkpoint round trip: G, D, Gs with config metadata, extra tensors, identical outputs', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sgts-ck-'));
  try {
    const G = new StyleGANGenerator(cfg, 1);
    const D = new Discriminator(cfg, 2);
    G.dlatentAvg.copy_(E.randn([8]));
    const file = path.join(dir, 'net.safetensors');
    const opt = E.keep(E.randn([3]));
    await saveCheckpoint(file, { config: cfg, nets: { G, D, Gs: G }, metadata: { kimg: '12.5' }, extra: new Map([['opt/G/m0', opt]]) });
    const ck = await loadCheckpoint(file);
    assert.deepEqual(ck.config, cfg);
    assert.equal(ck.metadata.kimg, '12.5');
    assert.ok(ck.G && ck.D && ck.Gs);
    for (const [k, v] of G.stateDict()) assert.ok(ck.G.stateDict().get(k)!.equal(v), `G ${k}`);
    for (const [k, v] of D.stateDict()) assert.ok(ck.D.stateDict().get(k)!.equal(v), `D ${k}`);
    E.tidy(() => {
      const z = E.randn([2, 8], { generator: new E.Generator(3) });
      assert.ok(G.forward(z, { noise: 'const' }).equal((ck.Gs as StyleGANGenerator).forward(z, { noise: 'const' })));
      assert.ok(recordToTensor(ck.extra.get('opt/G/m0')!).equal(opt));
    });
    const { G: only } = await loadGenerator(file);
    assert.ok(only instanceof StyleGANGenerator);
    // fp16 storage halves the floats and loads back (cast) within fp16 precision.
    const half = path.join(dir, 'half.safetensors');
    await saveCheckpoint(half, { config: cfg, nets: { Gs: G }, dtype: 'float16' });
    const st = await readSafetensorsFile(half);
    assert.equal(st.tensors.get('Gs/G_mapping/Dense0/weight')!.dtype, 'float16');
    const h = (await loadGenerator(half)).G as StyleGANGenerator;
    E.tidy(() => {
      const w = G.mapping.vars.get('Dense0/weight');
      const rel = h.mapping.vars.get('Dense0/weight').sub(w).abs().amax().item() / w.abs().amax().item();
      assert.ok(rel < 1e-3, `fp16 relative error ${rel}`);
      assert.equal(h.mapping.vars.get('Dense0/weight').dtype, 'float32');
    });
    // ProGAN too.
    const pc = proganConfig({ resolution: 8, fmapBase: 16, fmapMax: 8 });
    const P = new ProGANGenerator(pc, 4);
    const pf = path.join(dir, 'pg.safetensors');
    await saveCheckpoint(pf, { config: pc, nets: { G: P } });
    const pl = await loadGenerator(pf);
    assert.ok(pl.G instanceof ProGANGenerator);
    for (const n of [G, D, P, ck.G, ck.D, ck.Gs, only, h, pl.G]) n.dispose();
    opt.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('checkpoint errors name the file and every mismatch', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sgts-ck-'));
  try {
    const G = new StyleGANGenerator(cfg, 1);
    const file = path.join(dir, 'g.safetensors');
    await saveCheckpoint(file, { config: cfg, nets: { Gs: G } });
    // Tamper: drop one tensor, reshape another, add a stranger.
    const st = await readSafetensorsFile(file);
    const t = new Map(st.tensors);
    t.delete('Gs/G_mapping/Dense1/bias');
    t.set('Gs/G_synthesis/4x4/Conv/bias', { dtype: 'float32', shape: [4], data: new Uint8Array(16) });
    t.set('Gs/G_synthesis/Stranger/weight', { dtype: 'float32', shape: [1], data: new Uint8Array(4) });
    const bad = path.join(dir, 'bad.safetensors');
    await writeSafetensorsFile(bad, t, st.metadata);
    await assert.rejects(loadCheckpoint(bad), (e: Error) => {
      assert.match(e.message, /bad\.safetensors \(Gs\)/);
      assert.match(e.message, /missing variable 'Dense1\/bias'/);
      assert.match(e.message, /'4x4\/Conv\/bias': shape \[4\] but the network has \[8\]/);
      assert.match(e.message, /unexpected variable 'Stranger\/weight'/);
      return true;
    });
    await assert.rejects(loadCheckpoint(file, { only: ['D'] }), /g\.safetensors: has no D network \(it holds Gs\)/);
    const other = path.join(dir, 'other.safetensors');
    await writeSafetensorsFile(other, new Map(), { format: 'something-else' });
    await assert.rejects(loadCheckpoint(other), /other\.safetensors: not a stylegan-ts checkpoint/);
    writeFileSync(path.join(dir, 'junk.safetensors'), 'not a file');
    await assert.rejects(loadCheckpoint(path.join(dir, 'junk.safetensors')), /junk\.safetensors/);
    assert.ok(readFileSync(file).length > 0);
    G.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
