import { test } from 'node:test';
import assert from 'node:assert/strict';
import { styleganConfig } from '../src/nets/index.js';
import { caseList, memoryModel, peerArgs, type GenerateBenchOptions } from '../bench/generate.js';
import { runPeerScript } from '../bench/compare.js';
import { PYTHON, torchImportable } from './helpers/python.js';

const options = (res: number[], batch: number[]): GenerateBenchOptions => ({
  device: 'cpu', threads: 1, iters: 1, warmup: 0, seed: 0, python: PYTHON, peer: true, config: { res, batch },
});


test('bench generate: cases largest resolution first, then by batch; bad sizes refused', () => {
  assert.deepEqual(caseList({ res: [256, 1024], batch: [8, 1] }).map((c) => c.name), [
    'stylegan_g_fwd_1024_b1', 'stylegan_g_fwd_1024_b8', 'stylegan_g_fwd_256_b1', 'stylegan_g_fwd_256_b8',
  ]);
  assert.throws(() => caseList({ res: [256], batch: [0] }), /^Error: bench generate: batch must be a list of integers >= 1, got '0'$/);
  assert.throws(() => caseList({ res: [], batch: [1] }), /^Error: bench generate: resolution must be a list of integers >= 1, got ''$/);
});

test('bench generate: the memory model counts the variables and each layer output by hand', () => {
  // 8²: 8 channels everywhere, latent/dlatent 8, 2 mapping layers.
  const cfg = styleganConfig({ resolution: 8, fmapBase: 32, fmapMax: 8, latentSize: 8, dlatentSize: 8, mappingFmaps: 8, mappingLayers: 2 });
  const m = memoryModel(cfg, 2);
  // 4²: const, epilogue, conv, epilogue (8 × 16 each) + ToRGB (3 × 16); 8²: conv, blur, epilogue, conv, epilogue (8 × 64) + ToRGB (3 × 64).
  assert.equal(m.all_activations_bytes, (4 * 8 * 16 + 3 * 16 + 5 * 8 * 64 + 3 * 64) * 4 * 2);
  assert.equal(m.largest_activation_bytes, 8 * 64 * 4 * 2);
  // Mapping 2 × (64 + 8); own lod + dlatent_avg (1 + 8); synthesis: lod, 4 noise maps (16, 16, 64, 64), const 128,
  // 4 epilogues × (noise 8 + bias 8 + StyleMod 8·16 + 16), 3 convs 3·3·8·8, 2 ToRGB (8·3 + 3).
  const expected = 2 * 72 + 9 + 1 + 160 + 128 + 4 * 160 + 3 * 576 + 2 * 27;
  assert.equal(m.weights_bytes, expected * 4);
});

test('bench generate: the PyTorch peer through peak_rss.py reports the case with its memory', { skip: torchImportable() ? false : `${PYTHON} cannot import torch` }, () => {
  const o = options([8], [1]);
  const r = runPeerScript(o, peerArgs(o, 8, 1), ['stylegan_g_fwd_8_b1']);
  assert.equal(r.status, 'ok', r.status === 'ok' ? '' : r.reason);
  if (r.status !== 'ok') return;
  const env = r.report.env as Record<string, number>;
  assert.ok(env.baseline_rss_bytes! > 10 * 2 ** 20 && env.peak_rss_bytes! >= env.baseline_rss_bytes!, JSON.stringify(env));
  assert.deepEqual(Object.keys(r.report.results), ['stylegan_g_fwd_8_b1'], 'no D cases');
  assert.equal(r.report.results.stylegan_g_fwd_8_b1!.config.truncation_psi, 0.7);
});
