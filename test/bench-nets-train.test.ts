import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as E from '../src/engine/index.js';
import * as nets from '../bench/nets.js';
import * as train from '../bench/train.js';
import type { CompareOptions } from '../bench/compare.js';
import { PYTHON, ROOT, torchImportable } from './helpers/python.js';

/**
 * One timed call, no warm-up: the cases are tiny (8² networks). One thread: on a shared 2-core machine, small ops with
 * 2 threads wait for the other thread to be scheduled and run many times slower.
 */
const common = (over: Partial<CompareOptions> = {}): CompareOptions => ({
  device: 'cpu', threads: 1, iters: 1, warmup: 0, seed: 0, python: PYTHON, peer: true, ...over,
});
const netsOptions = (over: Partial<nets.NetsBenchConfig> = {}): nets.NetsBenchOptions => ({
  ...common(), config: { nets: ['stylegan', 'progan'], gRes: [8], gBatch: [1, 2], dRes: [8], dBatch: [4], quick: false, ...over },
});
const trainOptions = (over: Partial<train.TrainBenchConfig> = {}): train.TrainBenchOptions => ({
  ...common(), config: { res: [8], widths: ['small'], batch: 4, ema: true, quick: false, ...over },
});

const needsTorch = { skip: torchImportable() ? false : `${PYTHON} cannot import torch` };

test('nets: cases in the peer order, images/s from the median, nothing leaked', () => {
  const { results, leaked } = nets.runOurs({ ...netsOptions(), warmup: 1 });
  assert.deepEqual(Object.keys(results), [
    'stylegan_g_fwd_8_b1', 'stylegan_g_fwd_8_b2', 'stylegan_d_fwd_bwd_8_b4', 'progan_g_fwd_8_b1', 'progan_g_fwd_8_b2', 'progan_d_fwd_bwd_8_b4',
  ]);
  assert.equal(leaked, 0);
  const g = results.stylegan_g_fwd_8_b2!;
  assert.equal(g.images_per_s, 2000 / g.ms_per_iter);
  assert.equal(g.config.truncation_psi, 0.7);
  assert.equal(g.config.truncation_cutoff, 8);
});

test('the shared G-forward case samples [batch, 3, res, res] images without recording a graph', () => {
  const c = E.tidy(() => nets.generatorForwardCase(nets.officialConfig('progan', 8), 2, 'cpu'));
  const images = E.tidy(() => E.keep(c.step() as E.Tensor));
  assert.deepEqual(images.shape, [2, 3, 8, 8]);
  assert.equal(images.requiresGrad, false);
  images.dispose();
  c.dispose!();
});

test('bad net names, sizes and widths are refused before anything runs', () => {
  assert.throws(() => nets.runOurs(netsOptions({ nets: ['stylegan', 'biggan'] })), /^Error: bench nets: unknown net\(s\) biggan; known: stylegan, progan$/);
  assert.throws(() => nets.runOurs(netsOptions({ gBatch: [0] })), /^Error: bench nets: G batch must be integers >= 1, got 0$/);
  assert.throws(() => train.runOurs(trainOptions({ widths: ['tiny'] })), /^Error: bench train: unknown widths tiny; known: official, small$/);
  assert.throws(() => train.runOurs(trainOptions({ res: [48] })), /^Error: bench train: resolutions must be powers of two in 4…1024, got 48$/);
});

test('one training step updates D and G, and Gs toward G, through the trainer step functions', () => {
  const c = E.tidy(() => train.trainingStepCase(8, 'small', 4, true, 'cpu'));
  const { D, G, Gs } = c.nets;
  // Trainable variables only: dlatent_avg follows the mapping outputs of every G pass and is copied to Gs outright.
  const snapshot = (net: { stateDict(): Map<string, E.Tensor> }) =>
    new Map([...net.stateDict()].filter(([, t]) => t.requiresGrad).map(([k, t]) => [k, Array.from(t.toFloat32Array())]));
  const [d0, g0, gs0] = [snapshot(D), snapshot(G), snapshot(Gs!)];
  assert.deepEqual(gs0, g0, 'Gs starts as a copy of G');
  E.tidy(() => void c.step());
  const [d1, g1, gs1] = [snapshot(D), snapshot(G), snapshot(Gs!)];
  assert.notDeepEqual(d1.get('8x8/Conv0/weight'), d0.get('8x8/Conv0/weight'), 'D changed');
  assert.notDeepEqual(g1.get('G_synthesis/8x8/Conv1/weight'), g0.get('G_synthesis/8x8/Conv1/weight'), 'G changed');
  // The Gs update runs after the D step, before the G step: Gs = lerp(G0, G0, β) = G0.
  assert.deepEqual(gs1, g0);
  E.tidy(() => void c.step());
  // Second update: Gs = lerp(G1, Gs1, β); for a bias that starts at 0 that is (1 − β)·G1.
  const beta = c.config.ema_beta as number;
  const name = 'G_synthesis/4x4/Conv/bias';
  const moved = snapshot(Gs!).get(name)!;
  g1.get(name)!.forEach((g, i) => {
    assert.notEqual(g, 0);
    assert.ok(Math.abs(moved[i]! - (1 - beta) * g) <= 1e-4 * Math.abs((1 - beta) * g), `${name}[${i}]: ${moved[i]} vs ${(1 - beta) * g}`);
  });
  c.dispose!();
});

test('train: batch defaults per width on CPU, flags pass through to the peer, nothing leaked', () => {
  const { results, leaked } = train.runOurs({ ...trainOptions(), warmup: 1 });
  assert.deepEqual(Object.keys(results), ['train_8_small_b4']);
  assert.equal(leaked, 0);
  assert.deepEqual(train.trainCases({ ...train.DEFAULT_CONFIG }, 'cpu').map((c) => c.name),
    ['train_32_official_b4', 'train_32_small_b16', 'train_64_official_b4', 'train_64_small_b16']);
  assert.deepEqual(train.trainCases({ ...train.DEFAULT_CONFIG, widths: ['official'] }, 'cuda').map((c) => c.name),
    ['train_32_official_b64', 'train_64_official_b32']);
  const args = train.peerArgs({ ...trainOptions({ batch: null, ema: false, quick: true }), iters: 2, warmup: 1 }).slice(1).join(' ');
  assert.equal(args, `--threads 1 --device cpu --iters 2 --warmup 1 --seed 0 --res 8 --widths small --no-ema --quick`);
  assert.ok(nets.peerArgs(netsOptions({ quick: true })).join(' ').endsWith('--g-res 8 --g-batch 1,2 --d-res 8 --d-batch 4 --quick'));
});

test('the PyTorch peers accept our flags and describe the same work for every case', needsTorch, () => {
  const compare = (ours: Record<string, { config: Record<string, unknown> }>, peer: ReturnType<typeof nets.runPeer>) => {
    assert.equal(peer.status, 'ok', peer.status === 'ok' ? '' : peer.reason);
    if (peer.status !== 'ok') return;
    assert.deepEqual(Object.keys(peer.report.results), Object.keys(ours));
    for (const [name, t] of Object.entries(ours)) {
      const { ema_beta: a, ...mine } = t.config;
      const { ema_beta: b, ...theirs } = peer.report.results[name]!.config;
      assert.deepEqual(mine, theirs, name);
      if (a !== undefined) assert.ok(Math.abs((a as number) - (b as number)) < 1e-15, `${name}: ema_beta ${a} vs ${b}`);
    }
  };
  const n = netsOptions({ gBatch: [1] });
  compare(nets.runOurs(n).results, nets.runPeer(n));
  const t = trainOptions();
  compare(train.runOurs(t).results, train.runPeer(t));
});

test('node dist/bench/main.js nets runs the nets benchmark; --quick is 1 warm-up + 1 call', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'main.js'), 'nets', '--threads', '1', '--no-peer', '--quick', '--nets', 'progan', '--g-res', '8',
    '--g-batch', '1', '--d-res', '8', '--d-batch', '4', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'nets bench: cpu, 1 threads, float32, median of 1 after 1 warm-up');
  assert.match(lines[4]!, /^progan_g_fwd_8_b1 +\d+\.\d+ img\/s \(\d+(\.\d\d)? ms\) +— +—$/);
  const report = JSON.parse(lines.at(-1)!) as nets.NetsBenchReport;
  assert.equal(report.peer.status, 'skipped');
  assert.deepEqual(Object.keys(report.results), ['progan_g_fwd_8_b1', 'progan_d_fwd_bwd_8_b4']);
  assert.equal(report.leaked_tensors, 0);
});
