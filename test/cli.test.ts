import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cudaAvailable, cudaDeviceCount, memoryStats, randn } from '../src/engine/index.js';
import { checkDevice } from '../src/cli/options.js';
import { convProbe, referenceConv2d } from '../src/cli/conv-probe.js';
import { median, timeCase } from '../src/cli/timing.js';
import { convFlops } from '../src/cli/selfcheck.js';
import { ROOT } from './helpers/python.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the reference convolution matches hand-computed box sums and their gradients', () => {
  // x = 1..16 on a 4×4 grid, a 3×3 all-ones kernel with padding 1, upstream gradient all ones.
  const x = Array.from({ length: 16 }, (_, i) => i + 1);
  const r = referenceConv2d({ x, weight: new Array(9).fill(1), gy: new Array(16).fill(1) }, { n: 1, c: 1, h: 4, w: 4, o: 1, k: 3, pad: 1 });
  assert.deepEqual(Array.from(r.y), [14, 24, 30, 22, 33, 54, 63, 45, 57, 90, 99, 69, 46, 72, 78, 54]);
  // d/dx: how many 3×3 windows cover each pixel.
  assert.deepEqual(Array.from(r.dx), [4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4]);
  // d/dw[a][b]: the sum of x over the pixels that kernel tap (a, b) reaches.
  assert.deepEqual(Array.from(r.dw), [54, 78, 63, 96, 136, 108, 90, 126, 99]);
});

test('the convolution probe agrees with the reference on the CPU', () => {
  const before = memoryStats().liveTensors;
  const p = convProbe('cpu');
  assert.ok(p.ok, p.worst);
  assert.ok(p.maxError < 1e-5, `max error ${p.maxError}`);
  assert.equal(memoryStats().liveTensors, before);
});

test('median, and timeCase calls warmup + iters times and frees what each call creates', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /median of no samples/);
  let calls = 0;
  const before = memoryStats().liveTensors;
  const t = timeCase(() => {
    calls++;
    return randn([4]).mul(2);
  }, { device: 'cpu', warmup: 2, iters: 5 });
  assert.equal(calls, 7);
  assert.equal(t.iters, 5);
  assert.equal(t.samples_ms.length, 5);
  assert.equal(t.ms_per_iter, median(t.samples_ms));
  assert.ok(t.ms_min <= t.ms_per_iter && t.ms_per_iter <= t.ms_max);
  assert.equal(memoryStats().liveTensors, before);
  assert.throws(() => timeCase(() => 0, { device: 'cpu', warmup: 0, iters: 0 }), /^Error: timing: iters must be an integer >= 1, got 0$/);
});

test('convFlops counts two flops per multiply-add', () => {
  assert.equal(convFlops({ batch: 8, channels: 128, size: 32, kernel: 3 }), 2 * 8 * 128 * 32 * 32 * 128 * 9);
});

test('stylegan selfcheck reports libtorch, device, threads, the probe and the convolution timing', () => {
  const r = cli(['--threads', '1', '--device', 'cpu', 'selfcheck', '--iters', '1', '--warmup', '0']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^libtorch +\d+\.\d+\.\d+ \(parallel backend: .+\)$/);
  assert.match(lines[1]!, /^device +cpu \(CUDA devices: \d+\)$/);
  assert.equal(lines[2], 'threads   1 intra-op');
  assert.match(lines[3]!, /^probe +ok: conv2d forward \+ input\/weight gradients vs a float64 reference, max relative error \d\.\de-\d+$/);
  assert.match(lines[4]!, /^conv +3×3 128→128 on 8×128×32×32, forward: \d+\.\d\d ms \(median of 1\), \d+\.\d GFLOP\/s$/);
  assert.equal(r.stderr, '');
});

test('--device is checked against what the linked libtorch offers', () => {
  assert.equal(checkDevice('cpu'), 'cpu');
  assert.throws(() => checkDevice('tpu'), /^Error: --device: expected 'cpu', 'cuda' or 'cuda:N', got 'tpu'$/);
  if (cudaAvailable()) assert.throws(() => checkDevice(`cuda:${cudaDeviceCount()}`), /only \d+ CUDA device\(s\) present$/);
  else assert.throws(() => checkDevice('cuda'), /^Error: --device cuda: CUDA is not available \(libtorch \S+ was built without CUDA or sees no GPU\)$/);
});

test('CLI errors: one line `stylegan: <message>` on stderr, exit 1, stack only with STYLEGAN_DEBUG=1', () => {
  const parse = cli(['--threads', '0', 'selfcheck']);
  assert.equal(parse.code, 1);
  assert.equal(parse.stderr.split('\n')[0], "stylegan: option '--threads <n>' argument '0' is invalid. expected an integer >= 1, got '0'");
  assert.equal(parse.stdout, '');

  const thrown = cli(['--device', 'tpu', 'selfcheck']);
  assert.equal(thrown.code, 1);
  assert.equal(thrown.stderr, "stylegan: --device: expected 'cpu', 'cuda' or 'cuda:N', got 'tpu'\n");
  assert.equal(thrown.stdout, '');

  const debug = cli(['--device', 'tpu', 'selfcheck'], { STYLEGAN_DEBUG: '1' });
  assert.equal(debug.code, 1);
  assert.match(debug.stderr, /^stylegan: Error: --device: expected 'cpu', 'cuda' or 'cuda:N', got 'tpu'\n {4}at /);
});
