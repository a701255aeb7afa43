import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { getNumThreads } from '../src/engine/index.js';
import { CASES, formatTable, peerArgs, runOurs, runPeer, type EngineBenchOptions, type EngineBenchReport } from '../bench/engine.js';
import { PYTHON, ROOT, torchImportable } from './helpers/python.js';

/** Tiny shapes: the cases run in milliseconds. */
const options = (over: Partial<EngineBenchOptions> = {}): EngineBenchOptions => ({
  device: 'cpu',
  threads: getNumThreads(),
  iters: 1,
  warmup: 0,
  seed: 0,
  cases: CASES,
  python: PYTHON,
  peer: true,
  config: {
    conv: { batch: 1, channels: 4, size: 6, kernel: 3 },
    mlp: { batch: 2, width: 8, layers: 3 },
    r1: { batch: 2, size: 8, channels: [4, 6], gamma: 10 },
    tinyCalls: 50,
  },
  ...over,
});


test('the TypeScript side times every case and frees every tensor it made', () => {
  const { results, leaked } = runOurs(options());
  assert.deepEqual(Object.keys(results), [...CASES]);
  assert.equal(leaked, 0);
  for (const t of Object.values(results)) assert.ok(t.ms_per_iter > 0 && t.samples_ms.length === 1);
  assert.equal(results.tiny_add!.us_per_call, (results.tiny_add!.ms_per_iter * 1e3) / 50);
  assert.deepEqual(results.r1_step!.config.channels, [3, 4, 6]);
  assert.equal(results.r1_step!.config.dense_in, 6 * 2 * 2);
});

test('bad case names and an R1 size the pooling cannot halve are refused', () => {
  assert.throws(() => runOurs(options({ cases: ['conv3x3_fwd', 'nope'] })),
    /^Error: bench engine: unknown case\(s\) nope; known: conv3x3_fwd, conv3x3_fwd_bwd, mlp_fwd_bwd, r1_step, tiny_add$/);
  const config = options().config;
  assert.throws(() => runOurs(options({ cases: ['r1_step'], config: { ...config, r1: { ...config.r1, size: 6 } } })),
    /^Error: bench engine: r1 size 6 is not divisible by 2\^2 \(one 2× average pool per width\)$/);
});

test('the PyTorch peer accepts our flags and describes the same work for every case', { skip: torchImportable() ? false : `${PYTHON} cannot import torch` }, () => {
  const o = options();
  const peer = runPeer(o);
  assert.equal(peer.status, 'ok', peer.status === 'ok' ? '' : peer.reason);
  if (peer.status !== 'ok') return;
  assert.equal(peer.report.env.threads, o.threads);
  const ours = runOurs(o).results;
  for (const name of CASES) assert.deepEqual(ours[name]!.config, peer.report.results[name]!.config, name);
});

test('a missing interpreter makes the peer unavailable, not a failure; --no-peer skips it', () => {
  const missing = runPeer(options({ python: '/nonexistent/python3' }));
  assert.deepEqual(missing, { status: 'unavailable', reason: '/nonexistent/python3 not found' });
  assert.deepEqual(runPeer(options({ peer: false })), { status: 'skipped', reason: 'disabled with --no-peer' });
  assert.ok(peerArgs(options()).join(' ').endsWith('--r1-channels 4,6 --r1-gamma 10 --tiny-calls 50'));
});

test('the table shows both medians and PyTorch time / our time, or why the peer is missing', () => {
  const timing = (ms: number, extra = {}) => ({ config: {}, ms_per_iter: ms, ms_mean: ms, ms_min: ms, ms_max: ms, iters: 5, warmup: 1, samples_ms: [ms], ...extra });
  const report: EngineBenchReport = {
    bench: 'engine',
    env: { stylegan_ts: { torch: '1.13.0', node: '20.0.0', device: 'cpu', threads: 2 }, pytorch: { torch: '1.13.0a0', python: '3.11.2', threads: 2 } },
    peer: { status: 'ok', command: 'python3 engine_bench.py' },
    config: options().config,
    results: {
      conv3x3_fwd: { stylegan_ts: timing(10), pytorch: timing(15), ratio: 1.5 },
      tiny_add: { stylegan_ts: timing(20, { us_per_call: 2 }), pytorch: timing(10, { us_per_call: 1 }), ratio: 0.5 },
    },
    leaked_tensors: 0,
  };
  const lines = formatTable(report).split('\n');
  assert.equal(lines[0], 'engine bench: cpu, 2 threads, float32, median of 5 after 1 warm-up');
  assert.equal(lines[1], 'stylegan-ts: libtorch 1.13.0, Node 20.0.0 | PyTorch 1.13.0a0 (Python 3.11.2, 2 threads)');
  assert.deepEqual(lines.slice(3), [
    'case           stylegan-ts        PyTorch   PyTorch/TS',
    'conv3x3_fwd       10.00 ms       15.00 ms         1.50',
    'tiny_add      2.00 µs/call   1.00 µs/call         0.50',
  ]);
  const alone = formatTable({
    ...report,
    env: { ...report.env, pytorch: null },
    peer: { status: 'unavailable', reason: '/usr/bin/python3 cannot import torch', command: '' },
    results: { conv3x3_fwd: { stylegan_ts: timing(10), pytorch: null, ratio: null } },
  }).split('\n');
  assert.equal(alone[1], 'stylegan-ts: libtorch 1.13.0, Node 20.0.0 | PyTorch peer unavailable: /usr/bin/python3 cannot import torch');
  assert.equal(alone[4], 'conv3x3_fwd      10.00 ms         —            —');
});

test('node dist/bench/engine.js runs the benchmark as `node dist/bench/main.js engine`', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'main.js'), 'engine', '--no-peer', '--iters', '1', '--warmup', '0', '--cases', 'tiny_add'],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^engine bench: cpu, \d+ threads, float32, median of 1 after 0 warm-up\n/);
  assert.match(r.stdout, /PyTorch peer skipped: disabled with --no-peer/);
  assert.match(r.stdout, /\ntiny_add +\d+\.\d\d µs\/call +— +—\n$/);
});
