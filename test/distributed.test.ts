import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { distributedConfigFromEnv, full, tensor, DistributedError, type ProcessGroup } from '../src/engine/index.js';
import { buckets, DataParallelGroup } from '../src/train/distributed.js';
import { freePort } from '../src/cli/launch.js';
import { readSafetensorsFile, type SafetensorsContents } from '../src/io/safetensors.js';
import { BatchLoader } from '../src/data/loader.js';
import { snapshotName } from '../src/train/run-dir.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { shardedMetricScenario } from './helpers/sharded-metric.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const workerScript = path.join(here, 'helpers', 'dist-worker.js');
const mainScript = path.join(here, '..', 'src', 'cli', 'main.js');
const dir = tempDir('sgts-dist');
let datasetPromise: Promise<string> | undefined;
const dataset = (): Promise<string> => (datasetPromise ??= tinyDataset(dir));

interface Exit { code: number | null; signal: string | null; stdout: string; stderr: string; seconds: number }

/** Runs `node args…` to its end (killed after `limitS`), collecting its output. */
function run(args: string[], env: Record<string, string> = {}, limitS = 120, onStderr?: (text: string, pid: number) => void): Promise<Exit> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, STYLEGAN_THREADS: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      out.stderr += d.toString();
      onStderr?.(out.stderr, child.pid!);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ...out, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** Two ranks of the test worker over 127.0.0.1; their JSON lines by rank. */
async function twoRanks(scenario: string, timeoutS = 20, env: Record<string, string> = {}): Promise<{ exits: Exit[]; results: Record<string, unknown>[] }> {
  const port = await freePort();
  const exits = await Promise.all([0, 1].map((rank) => run([workerScript, scenario], {
    MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), WORLD_SIZE: '2', RANK: String(rank), LOCAL_RANK: String(rank),
    STYLEGAN_DIST_TIMEOUT: String(timeoutS), ...env,
  }, 60)));
  return { exits, results: exits.map((e) => (e.stdout.trim() ? JSON.parse(e.stdout.trim()) as Record<string, unknown> : {})) };
}

test('torchrun environment: defaults, and clear errors for bad values', () => {
  assert.equal(distributedConfigFromEnv({}), null, 'no WORLD_SIZE: one process');
  assert.deepEqual(distributedConfigFromEnv({ WORLD_SIZE: '4', RANK: '3', LOCAL_RANK: '1' }), {
    masterAddr: '127.0.0.1', masterPort: 29500, worldSize: 4, rank: 3, localRank: 1,
  });
  assert.throws(() => distributedConfigFromEnv({ WORLD_SIZE: '2', RANK: '2' }), new DistributedError('RANK=2 is not below WORLD_SIZE=2'));
  assert.throws(() => distributedConfigFromEnv({ WORLD_SIZE: 'two' }), new DistributedError('WORLD_SIZE=two: expected an integer ≥ 1'));
  assert.throws(() => distributedConfigFromEnv({ WORLD_SIZE: '2', MASTER_PORT: '70000' }), new DistributedError('MASTER_PORT=70000 is not a TCP port'));
});

test('gradient buckets: consecutive, bounded, a large tensor alone', () => {
  const ts = [full([10], 1), full([10], 1), full([100], 1), full([5], 1)];
  assert.deepEqual(buckets(ts, 80).map((b) => b.map((t) => t.numel)), [[10, 10], [100], [5]]);
  ts.forEach((t) => t.dispose());
});

test('Gloo over 127.0.0.1: all-reduce, broadcast, all-gather, barrier, store, several collectives in flight', async () => {
  const { exits, results } = await twoRanks('collectives');
  assert.deepEqual(exits.map((e) => e.code), [0, 0], exits.map((e) => e.stderr).join('\n'));
  for (const [rank, r] of results.entries()) {
    assert.deepEqual(r, {
      rank, size: 2, backend: 'gloo', sum: [3, 30, -1], max: [1, 0], broadcast: [7, 8, 9], gathered: [[0.5, 0.5], [2.5, 2.5]],
      inFlight: [1, 3, 5], store: `from ${1 - rank}`,
    });
  }
});

test('gradient buckets reduced during backward (c10d Reducer) equal those reduced after it: the mean over ranks, R1-like penalty, unused parameter', async () => {
  const { exits, results } = await twoRanks('reducer');
  assert.deepEqual(exits.map((e) => e.code), [0, 0], exits.map((e) => e.stderr).join('\n'));
  type Grads = (number[] | null)[];
  const [r0, r1] = results as { overlap: Grads[]; after: Grads[]; local: Grads; badBuckets: string[] }[];
  const close = (x: Grads, y: Grads, what: string) => x.forEach((g, i) => {
    assert.equal(g === null, y[i] === null, `${what}: parameter ${i}`);
    g?.forEach((v, j) => assert.ok(Math.abs(v - y[i]![j]!) <= 1e-5 * Math.max(1, Math.abs(v)), `${what}: parameter ${i}[${j}]: ${v} vs ${y[i]![j]}`));
  });
  const mean = r0!.local.map((g, i) => g && g.map((v, j) => (v + r1!.local[i]![j]!) / 2));
  close(r0!.overlap[0]!, mean, 'step 1 overlapped vs the mean of the ranks\' own gradients');
  for (const step of [0, 1]) {
    close(r0!.overlap[step]!, r0!.after[step]!, `step ${step + 1}: overlapped vs after backward`);
    assert.deepEqual(r1!.overlap[step], r0!.overlap[step], 'both ranks hold the same gradients');
  }
  assert.equal(r0!.overlap[0]![2], null, 'a parameter no rank uses keeps a null gradient');
  assert.notDeepEqual(r0!.overlap[0], r0!.overlap[1], 'the second step reduces its own gradients');
  assert.deepEqual(r0!.badBuckets, [
    'reducer: bad or repeated parameter index 1 in the buckets', 'reducer: the buckets hold 3 of 4 parameters',
  ]);
});

test('a peer that dies fails the next collective at once with a clear error', async () => {
  const { exits, results } = await twoRanks('peer-dies');
  assert.equal(exits[1]!.signal, 'SIGKILL');
  const r = results[0]!;
  assert.equal(r.errorName, 'DistributedError');
  assert.match(String(r.error), /^rank 0 of 2 \(gloo\): all-reduce \(sum\) failed: .*(Connection reset by peer|Connection closed by peer).* \(a peer process died\)$/);
  assert.ok(Number(r.seconds) < 20, `reported after ${String(r.seconds)} s, within the 20 s timeout`);
});

test('a peer that dies fails the gradient all-reduce inside backward with the same clear error', async () => {
  const { exits, results } = await twoRanks('reducer-peer-dies');
  assert.equal(exits[1]!.signal, 'SIGKILL');
  assert.equal(results[0]!.errorName, 'DistributedError');
  assert.match(String(results[0]!.error), /^rank 0 of 2 \(gloo\): all-reduce \(gradients\) failed: .*(Connection reset by peer|Connection closed by peer).* \(a peer process died\)$/);
});

test('a peer that stays silent times the collective out with a clear error', async () => {
  const { exits, results } = await twoRanks('peer-silent', 2);
  assert.deepEqual(exits.map((e) => e.code), [0, 0]);
  assert.equal(results[0]!.error, 'rank 0 of 2 (gloo): all-reduce (sum) failed: Operation timed out! (no answer from every rank within 2 s; STYLEGAN_DIST_TIMEOUT sets it)');
  assert.ok(Number(results[0]!.seconds) >= 1.9 && Number(results[0]!.seconds) < 10);
});

test('metric images generated in 2 shards give the 1-process FID, KID, IS and PPL (sums all-reduced, rows all-gathered in batch order)', async () => {
  const data = await dataset();
  const { exits, results } = await twoRanks('metric-shards', 60, { DATA: data });
  assert.deepEqual(exits.map((e) => e.code), [0, 0], exits.map((e) => e.stderr).join('\n'));
  const one = await shardedMetricScenario(data);
  const [fid, kid, is, ppl] = results[0]!.results as Record<string, number>[];
  assert.ok(Math.abs(fid!.fid! - one[0]!.fid!) < 1e-9 * one[0]!.fid!, `FID ${fid!.fid} sharded, ${one[0]!.fid} whole`);
  assert.ok(one[0]!.fid! > 0);
  assert.deepEqual([kid, is], [one[1], one[2]], 'the gathered rows are the whole run\'s, in order');
  assert.deepEqual(ppl, one[3], 'PPL: the pair distances of both shards are the whole run\'s, exactly');
  assert.ok(one[3]!.ppl_wfull! > 0);
  assert.deepEqual(results[1]!.results, [{}, {}, one[2], one[3]], 'rank 1 returns no FID / KID (rank 0 reads the real images), IS and PPL whole');
});

const trainArgs = async (runDir: string, kimg: number, ...extra: string[]) =>
  [mainScript, '--threads', '1', '--device', 'cpu', 'train', '--data', await dataset(), '--run-dir', runDir, '--preset', 'smoke',
    '--seed', '3', '--mirror', '--grid', '4x2', '--kimg', String(kimg), ...extra];

const weights = (c: SafetensorsContents, name: string): Float32Array => {
  const r = c.tensors.get(name)!;
  return new Float32Array(r.data.buffer.slice(r.data.byteOffset, r.data.byteOffset + r.data.byteLength));
};

/** Trains `name` in 1 process and in 2 (`extra` arguments for both); both final snapshots and the variable names. */
async function oneAndTwo(name: string, kimg: number, ...extra: string[]) {
  const one = path.join(dir, `${name}-one`);
  const two = path.join(dir, `${name}-two`);
  const a = await run(await trainArgs(one, kimg, ...extra));
  assert.equal(a.code, 0, a.stderr);
  const b = await run(await trainArgs(two, kimg, ...extra, '--nproc', '2'));
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /worker rank 1 of 2: pid \d+/);
  const last = snapshotName(Math.round(kimg * 1000));
  assert.match(b.stdout, new RegExp(`^stopped: reached --kimg after ${kimg.toFixed(1)} kimg, 1 ticks, .*\nrun directory: ${two}\nlast snapshot: ${last.replace(/\./g, '\\.')}\n`));
  assert.deepEqual(readdirSync(two).sort(), readdirSync(one).sort(), 'rank 0 alone writes, and writes everything');
  const processes = (d: string) => (JSON.parse(readFileSync(path.join(d, 'training_options.json'), 'utf8')) as { processes: number }).processes;
  assert.deepEqual([processes(one), processes(two)], [1, 2]);
  const [A, B] = await Promise.all([one, two].map((d) => readSafetensorsFile(path.join(d, last))));
  const names = [...A!.tensors.keys()].filter((k) => /^(G|D|Gs)\//.test(k));
  assert.ok(names.length > 50);
  return { A: A!, B: B!, names };
}

let styleganPromise: ReturnType<typeof oneAndTwo> | undefined;
/** The StyleGAN smoke run in 1 and 2 processes, made on first use (two tests compare with it). */
const styleganRuns = () => (styleganPromise ??= oneAndTwo('stylegan', 0.064));

test('ProGAN: 2 processes × minibatch 16 give the weights of 1 process × minibatch 32 after 4 steps (WGAN-GP, AC-GAN labels)', async () => {
  const { A, B, names } = await oneAndTwo('progan', 0.128, '--preset', 'progan-cpu', '--net', 'fmapBase=64,fmapMax=16,latentSize=16');
  for (const name of names) {
    const x = weights(A, name);
    const y = weights(B, name);
    const worst = x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
    assert.ok(worst < 1e-4, `${name}: differs by ${worst}`);
  }
});

test('StyleGAN: 2 processes × minibatch 4 follow 1 process × minibatch 8: same G, D, Gs after 8 steps (Gloo, 127.0.0.1)', async () => {
  const { A, B, names } = await styleganRuns();
  // Float reductions differ (sums over 4 + 4 samples vs 8; Gloo's sum), and Adam with β1 = 0 turns a gradient's
  // rounding into a full ±lr step where the gradient is near zero: a handful of such elements may differ by a few lr.
  // The same run in one process with 2 threads instead of 1 diverges by more. Everything else agrees to 1e-4.
  let total = 0;
  let loose = 0;
  for (const name of names) {
    const x = weights(A, name);
    const y = weights(B, name);
    let worst = 0;
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(x[i]! - y[i]!);
      worst = Math.max(worst, d);
      if (d > 1e-4) loose++;
    }
    total += x.length;
    assert.ok(worst < 0.01, `${name}: differs by ${worst}`);
  }
  assert.ok(loose / total < 0.002, `${loose} of ${total} weights differ by more than 1e-4`);
  const avgA = weights(A, 'G/dlatent_avg');
  const avgB = weights(B, 'G/dlatent_avg');
  assert.ok(avgA.every((v, i) => Math.abs(v - avgB[i]!) < 1e-5), 'the w-average is averaged over ranks');
  assert.ok(avgA.some((v) => Math.abs(v) > 1e-3), 'the w-average moved');
});

test('a killed worker stops the run with a clear error; the last snapshot resumes with a different --nproc', async () => {
  const runDir = path.join(dir, 'fault');
  let killed = false;
  const snapshot = path.join(runDir, snapshotName(64));
  const r = await run(await trainArgs(runDir, 10, '--snap', '1', '--nproc', '2'), { STYLEGAN_DIST_TIMEOUT: '30' }, 120, (text) => {
    const pid = /worker rank 1 of 2: pid (\d+)/.exec(text);
    // Once the first tick's snapshot is reported, kill rank 1 (the next tick line proves it was written).
    if (!killed && pid && /tick 1 .*→ network-snapshot-000000/.test(text)) {
      killed = true;
      process.kill(Number(pid[1]), 'SIGKILL');
    }
  });
  assert.ok(killed);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /stylegan: rank 0 of 2 \(gloo\): (all-reduce \(\w+\)|broadcast from rank 0|barrier) failed: .* \(a peer process died\)\n/);
  assert.match(r.stderr, /stylegan: train: worker rank 1 \(pid \d+\) was killed by SIGKILL; the run stopped \(continue it with --resume true from its last snapshot, any --nproc\)\n/);
  assert.ok(r.seconds < 60, `the run stopped ${r.seconds} s after it started`);
  assert.ok(existsSync(snapshot));
  const resumed = await run(await trainArgs(runDir, 0.192, '--resume', 'true', '--nproc', '1'));
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /^stopped: reached --kimg after 0\.2 kimg, 3 ticks, /);
  assert.ok(resumed.stdout.includes(`last snapshot: ${snapshotName(192)}\n`), resumed.stdout);
});

test('shards are strided rows of the global minibatch: loader batches (the stream advances globally) and random draws', async () => {
  const data = await dataset();
  const opts = { resolution: 16, batchSize: 8, seed: 5, xflip: true, position: 4, validate: 'first' as const, prefetch: 1 };
  const whole = await BatchLoader.open(data, opts);
  const part = await BatchLoader.open(data, { ...opts, shard: { rank: 1, size: 2 } });
  try {
    for (let k = 0; k < 2; k++) {
      const [w, p] = await Promise.all([whole.next(), part.next()]);
      const rows = [1, 3, 5, 7];
      const per = 16 * 16;
      assert.equal(p.batchSize, 4);
      assert.equal(p.position, w.position);
      assert.deepEqual(Array.from(p.indices), rows.map((r) => w.indices[r]));
      assert.deepEqual(Array.from(p.flipped), rows.map((r) => w.flipped[r]));
      assert.deepEqual(Array.from(p.labels!), rows.map((r) => w.labels![r]));
      assert.deepEqual(p.images, Uint8Array.from(rows.flatMap((r) => Array.from(w.images.subarray(r * per, (r + 1) * per)))));
      assert.equal(part.position, whole.position);
    }
    assert.equal(part.position, 4 + 16);
  } finally {
    await Promise.all([whole.close(), part.close()]);
  }
  const dp = new DataParallelGroup({ rank: 1, size: 2 } as ProcessGroup);
  const t = tensor([[0, 0], [1, 1], [2, 2], [3, 3]]);
  assert.deepEqual(Array.from(dp.shard(t).toFloat32Array()), [1, 1, 3, 3]);
  assert.deepEqual(Array.from(dp.shardArray(Int32Array.from([4, 5, 6, 7]))), [5, 7]);
  assert.throws(() => dp.shardArray(Int32Array.from([1, 2, 3])), new Error('minibatch 3 is not divisible by the 2 processes'));
  t.dispose();
});

test('two nodes (--nnodes 2 --node-rank 0|1 --master-addr --master-port) train as the 2 processes of one node', async () => {
  const port = String(await freePort());
  const runDir = path.join(dir, 'nodes');
  const node = async (k: number) => run(await trainArgs(runDir, 0.064, '--nproc', '1', '--nnodes', '2', '--node-rank', String(k), '--master-addr', '127.0.0.1', '--master-port', port));
  const [n0, n1] = await Promise.all([node(0), node(1)]);
  assert.deepEqual([n0.code, n1.code], [0, 0], n0.stderr + n1.stderr);
  assert.match(n0.stderr, /worker rank 0 of 2: pid/);
  assert.match(n1.stderr, /worker rank 1 of 2: pid/);
  assert.equal(n1.stdout, '', 'rank 1 prints no result');
  const A = await readSafetensorsFile(path.join(runDir, snapshotName(64)));
  const { B, names } = await styleganRuns();
  for (const name of names) {
    const x = weights(A, name);
    const y = weights(B, name);
    assert.ok(x.every((v, i) => Math.abs(v - y[i]!) < 1e-6), `${name}: the same 2-rank run`);
  }
});

test('launcher flags: several nodes need a port and a run directory; the node rank must be below the node count', async () => {
  const data = await dataset();
  const args = ['--threads', '1', '--device', 'cpu', 'train', '--data', data, '--preset', 'smoke'];
  const cases: [string[], string][] = [
    [['--nnodes', '2', '--run-dir', path.join(dir, 'x')], '--nnodes > 1 needs --master-port (the same on every node)'],
    [['--nnodes', '2', '--master-port', '29999'], '--nnodes > 1 needs --run-dir (the same directory, on storage every node sees)'],
    [['--nnodes', '2', '--node-rank', '2', '--master-port', '29999', '--run-dir', path.join(dir, 'x')], '--node-rank 2 is not below --nnodes 2'],
  ];
  for (const [extra, message] of cases) {
    const r = await run([mainScript, ...args, ...extra]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('stylegan:')).join('\n'), `stylegan: ${message}`);
  }
});
