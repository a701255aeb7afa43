import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync, copyFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from '../src/engine/index.js';
import { train, Trainer, TrainingDiverged } from '../src/train/trainer.js';
import { claimRunDir, nextRunDir, snapshotName, snapshotImages, latestSnapshot } from '../src/train/run-dir.js';
import { eta, summaryText } from '../src/train/progress.js';
import { discriminatorLayers } from '../src/train/transfer.js';
import { FixedGrid } from '../src/train/grids.js';
import { createDataset } from '../src/data/create.js';
import { openGenerator } from '../src/io/open-network.js';
import { importOfficialFile } from '../src/io/import-official.js';
import { loadCheckpoint, saveCheckpoint } from '../src/io/checkpoint.js';
import { makeGrid, writePng } from '../src/io/images.js';
import { tempDir } from './helpers/temp-dir.js';
import { snapshotMetrics } from '../src/cli/train-metrics.js';
import { tinyDataset } from './helpers/tiny-dataset.js';
import { ROOT } from './helpers/python.js';

const dir = tempDir('sgts-runs');
const fixture = (name: string) => path.join(ROOT, 'test', 'fixtures', 'pickles', name);
let grey: Promise<string> | undefined;
let rgb32: Promise<string> | undefined;
/** 16² grey, 4 classes. */
const greyData = () => (grey ??= tinyDataset(path.join(dir), 32, 16));
/** 32² RGB, unlabelled (the fixture networks' format). */
const rgbData = () => (rgb32 ??= (async () => {
  const sub = path.join(dir, 'rgb');
  mkdirSync(sub, { recursive: true });
  await tinyDataset(sub, 16, 16);
  const dest = path.join(dir, 'rgb32.zip');
  await createDataset({ source: path.join(sub, 'tiny-images-idx3-ubyte'), dest, resolution: 32, channels: 3, labels: 'none' });
  return dest;
})());
const quick = { preset: 'smoke', seed: 1, gridSize: [2, 2] as [number, number] };

test('transfer from an official pickle: first grid is the imported network\'s output, lod 0, kimg from 0, FreezeD layers bit-identical', async () => {
  const run = path.join(dir, 'transfer');
  const pkl = fixture('stylegan1-32.p4.pkl');
  const r = await train({ ...quick, data: await rgbData(), runDir: run, transfer: pkl, freezeD: 2, maxTicks: 1 });
  // The grid before training, from the network opened the way `generate` opens it.
  const { G, config } = await openGenerator(pkl);
  const grid = new FixedGrid(config, { cols: 2, rows: 2, seed: 1, numClasses: 0, device: 'cpu' });
  const want = path.join(dir, 'want.png');
  await writePng(want, makeGrid(grid.images(G, 0), 2));
  assert.ok(readFileSync(path.join(run, 'fakes_init.png')).equals(readFileSync(want)), 'fakes_init.png = imported Gs');
  grid.dispose();
  G.dispose();
  const log = JSON.parse(readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n')[0]!) as Record<string, number>;
  assert.equal(log.lod, 0);
  assert.equal(log.resolution, 32);
  assert.equal(r.kimg, log.kimg);
  assert.ok(r.kimg < 0.2, 'kimg counted from 0');
  // FreezeD 2: FromRGB_lod0 and 32x32/Conv0 unchanged, the next layer trained.
  const before = await importOfficialFile(pkl, { only: ['D'] });
  const after = await loadCheckpoint(r.lastSnapshot!, { only: ['D'] });
  const layers = discriminatorLayers(after.D!);
  assert.deepEqual(layers.slice(0, 3), ['FromRGB_lod0', '32x32/Conv0', '32x32/Conv1_down']);
  const a = before.D!.stateDict(), b = after.D!.stateDict();
  for (const name of ['FromRGB_lod0/weight', 'FromRGB_lod0/bias', '32x32/Conv0/weight', '32x32/Conv0/bias']) {
    assert.ok(Buffer.from(a.get(name)!.toFloat32Array().buffer).equals(Buffer.from(b.get(name)!.toFloat32Array().buffer)), `${name} frozen`);
  }
  assert.ok(!a.get('32x32/Conv1_down/weight')!.equal(b.get('32x32/Conv1_down/weight')!), 'the third layer trains');
  before.dispose();
  after.D!.dispose();
});

test('transfer from an exported Gs-only checkpoint: G = Gs, a fresh D, and a warning', async () => {
  const pkl = fixture('stylegan1-32.p4.pkl');
  const imported = await importOfficialFile(pkl, { only: ['Gs'] });
  const file = path.join(dir, 'gs-only.safetensors');
  await saveCheckpoint(file, { config: imported.config, nets: { Gs: imported.Gs! } });
  imported.dispose();
  const warnings: string[] = [];
  const r = await train({ ...quick, data: await rgbData(), runDir: path.join(dir, 'gs-only'), transfer: file, maxSeconds: 0, onWarning: (w) => warnings.push(w) });
  assert.deepEqual(warnings, [`${file}: has no discriminator; D starts from a random initialisation`]);
  assert.equal(r.kimg, 0.008);
});

test('transfer from a ProGAN pickle (G, D, Gs) trains at full resolution; mismatches of data or architecture are refused', async () => {
  const run = path.join(dir, 'progan');
  const r = await train({ ...quick, preset: 'progan-cpu', data: await rgbData(), runDir: run, transfer: fixture('progan-32.p4.pkl'), maxSeconds: 0 });
  assert.equal(r.kimg, 0.032, 'one minibatch of the preset');
  const log = JSON.parse(readFileSync(path.join(run, 'log.jsonl'), 'utf8')) as Record<string, number>;
  assert.deepEqual([log.lod, log.resolution], [0, 32]);
  await assert.rejects(train({ ...quick, data: await greyData(), runDir: path.join(dir, 'mismatch'), transfer: fixture('stylegan1-32.p4.pkl') }), {
    message: `${await greyData()}: the dataset is 16² × 1 channels with 4 classes used, but the network ${fixture('stylegan1-32.p4.pkl')} 32² × 3 channels with 0 label(s)`,
  });
  await assert.rejects(train({ ...quick, data: await rgbData(), runDir: path.join(dir, 'arch'), transfer: fixture('progan-32.p4.pkl') }), {
    message: `--resume-from ${fixture('progan-32.p4.pkl')}: the network is progan but --preset smoke trains stylegan`,
  });
});

test('refused resumes and fresh runs name both values; the run directory is claimed atomically', async () => {
  const run = path.join(dir, 'refuse');
  const data = await greyData();
  await train({ ...quick, data, runDir: run, gamma: 5, maxSeconds: 0 });
  const snap = latestSnapshot(run)!;
  await assert.rejects(train({ ...quick, data, runDir: run, resume: true, preset: 'stylegan-cpu' }), {
    message: `${snap}: cannot resume with --preset stylegan-cpu: the run was started with --preset smoke (resume without it, or start a new run)`,
  });
  await assert.rejects(train({ ...quick, data, runDir: run, resume: true, gamma: 10 }), {
    message: `${snap}: cannot resume with --gamma 10: the run was started with --gamma 5 (resume without it, or start a new run)`,
  });
  await assert.rejects(train({ ...quick, data, runDir: run, resume: fixture('stylegan1-32.p4.pkl') }), {
    message: `${fixture('stylegan1-32.p4.pkl')}: an official pickle is not a training snapshot; start a new run from it with --resume-from`,
  });
  await assert.rejects(train({ ...quick, data, runDir: run, resume: true, aug: 'ada' }), { message: /cannot resume with --aug ada: the run was started with --aug noaug/ });
  await assert.rejects(train({ ...quick, data, runDir: run }), {
    message: `${run}: the run directory is not empty (${readdirSync(run).length} entries, newest snapshot ${path.basename(snap)}); continue it with --resume true or choose another --run-dir`,
  });
  // One holder at a time; a lock left by a dead process and stale temporary files are cleaned up.
  const held = claimRunDir(run, false);
  assert.throws(() => claimRunDir(run, false), { message: `${run}: the run directory is in use by process ${process.pid} (.lock)` });
  held.release();
  writeFileSync(path.join(run, '.lock'), '2147483646\n');
  writeFileSync(path.join(run, `${path.basename(snap)}.tmp-2147483646-0a1b2c3d4e5f`), 'partial');
  const again = claimRunDir(run, false);
  assert.deepEqual(again.removed, [`${path.basename(snap)}.tmp-2147483646-0a1b2c3d4e5f`]);
  again.release();
  // Numbered run directories are created, never shared.
  const out = path.join(dir, 'numbered');
  const names = [nextRunDir(out, 'x'), nextRunDir(out, 'x')].map((d) => path.basename(d));
  assert.deepEqual(names, ['00000-x', '00001-x']);
});

test('--max-minutes stops within one minibatch; NaN in a weight stops the run and keeps the last good snapshot', async () => {
  const run = path.join(dir, 'limits');
  const data = await greyData();
  const r = await train({ ...quick, data, runDir: run, maxSeconds: 0 });
  assert.equal(r.stoppedBy, 'time');
  assert.equal(r.kimg, 0.008, 'exactly one minibatch of 8');
  assert.equal(path.basename(r.lastSnapshot!), snapshotName(8));
  const last = path.basename(r.lastSnapshot!);
  const poisoned = async (variable: string, message: string) => {
    const t = new Trainer({ ...quick, data, runDir: run, resume: true, networkSnapshotTicks: 1 });
    await t.setup();
    E.noGrad(() => t.networks.D.stateDict().get(variable)!.fill_(Number.NaN));
    await assert.rejects(t.run(), (e: Error) => e instanceof TrainingDiverged && e.message === `training diverged at ${message}; stopped without a snapshot (the last good one is ${last})`);
    t.dispose();
  };
  // A layer in use (4², lod 2): the first D loss; a layer not yet in use (16²): the check before the next snapshot.
  await poisoned('4x4/Dense1/bias', '0.008 kimg: the D loss is NaN');
  await poisoned('16x16/Conv0/bias', '0.072 kimg: D/16x16/Conv0/bias holds NaN or Inf');
  assert.deepEqual(readdirSync(run).filter((f) => snapshotImages(f) !== null), [snapshotName(8)]);
});

test('SIGINT writes a snapshot and exits; the run resumes from it', async () => {
  const run = path.join(dir, 'sigint');
  const main = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [main, '--threads', '1', 'train', '--data', await greyData(), '--run-dir', run, '--preset', 'smoke', '--kimg', '100'], { env });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (/^tick 1 /m.test(stderr) && !child.killed) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^stopped: interrupted \(snapshot written\) after [\d.]+ kimg/);
  const snap = latestSnapshot(run)!;
  assert.ok(existsSync(snap) && !existsSync(path.join(run, '.lock')));
  const nimg = snapshotImages(snap)!;
  const r = await train({ data: await greyData(), runDir: run, resume: true, totalKimg: (nimg + 16) / 1000 });
  assert.equal(r.kimg, (nimg + 16) / 1000);
});

test('progress: ETA to --kimg or to the time limit, whichever is first; a readable summary', () => {
  assert.deepEqual(eta({ nimg: 3000, startNimg: 1000, totalNimg: 11000, elapsedSec: 20 }), { imagesPerSec: 100, etaSec: 80, endsBy: 'kimg' });
  assert.deepEqual(eta({ nimg: 3000, startNimg: 1000, totalNimg: 11000, elapsedSec: 20, maxSec: 50 }), { imagesPerSec: 100, etaSec: 30, endsBy: 'time' });
  assert.equal(summaryText({ runDir: 'runs/x', kimg: 12.3456, ticks: 4, lastSnapshot: 'runs/x/network-snapshot-000012.345.safetensors', stoppedBy: 'time', seconds: 125, augmentP: 0.05 }), [
    'stopped: reached --max-minutes after 12.3 kimg, 4 ticks, 2m05s this session', 'run directory: runs/x',
    'last snapshot: network-snapshot-000012.345.safetensors', 'augmentation p: 0.050', 'continue with: stylegan train --data … --run-dir runs/x --resume true',
  ].join('\n'));
  assert.equal(snapshotName(12345), 'network-snapshot-000012.345.safetensors');
  assert.equal(snapshotImages('network-snapshot-000012.safetensors'), 12000, 'older whole-kimg names');
});

test('--metrics: each snapshot\'s Gs measured into metric-<name>.jsonl, shown in the summary, recorded and checked on resume', async () => {
  const run = path.join(dir, 'metrics');
  const data = await greyData();
  const detectors = path.join(dir, 'detectors');
  mkdirSync(detectors, { recursive: true });
  // A missing detector file is reported before any training, naming the file.
  await assert.rejects(train({ ...quick, data, runDir: path.join(dir, 'no-detector'), metrics: ['fid'], snapshotMetrics: snapshotMetrics({ data, runDir: '', detectorDir: detectors, device: 'cpu' }), maxSeconds: 0 }), {
    message: new RegExp(`^--metrics fid: ${path.join(detectors, 'inception-2015-12-05.pt').replace(/[.]/g, '\\.')}: detector file missing`),
  });
  copyFileSync(path.join(ROOT, 'test/fixtures/detectors/inception-standin.pt'), path.join(detectors, 'inception-2015-12-05.pt'));
  const opts = { ...quick, data, runDir: run, snapshotMetrics: snapshotMetrics({ data, runDir: run, detectorDir: detectors, device: 'cpu', numGen: 8, maxReal: 16 }) };
  const r = await train({ ...opts, metrics: ['fid', 'kid2k'], maxSeconds: 0 });
  const lines = (name: string) => readFileSync(path.join(run, `metric-${name}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const [fid] = lines('fid');
  assert.deepEqual(Object.keys(fid!), ['results', 'metric', 'total_time', 'total_time_str', 'num_gpus', 'snapshot_pkl', 'timestamp']);
  assert.equal(fid!.snapshot_pkl, snapshotName(8));
  const value = (fid!.results as { fid: number }).fid;
  assert.ok(value > 0);
  assert.deepEqual(Object.keys(lines('kid2k')[0]!.results as object), ['kid2k']);
  assert.deepEqual(r.metrics, { fid: value, kid2k: (lines('kid2k')[0]!.results as { kid2k: number }).kid2k });
  assert.match(summaryText(r), new RegExp(`\nmetrics of the last snapshot: fid ${value.toPrecision(4)} kid2k `));
  assert.deepEqual((JSON.parse(readFileSync(path.join(run, 'training_options.json'), 'utf8')) as { metrics: string[] }).metrics, ['fid', 'kid2k']);
  await assert.rejects(train({ ...opts, resume: true, metrics: [] }), {
    message: `${latestSnapshot(run)}: cannot resume with --metrics []: the run was started with --metrics ["fid","kid2k"] (resume without it, or start a new run)`,
  });
  const resumed = await train({ ...opts, resume: true, maxSeconds: 0 });
  assert.equal(lines('fid').length, 2, 'the resumed run measures its snapshot too');
  assert.deepEqual(Object.keys(resumed.metrics!), ['fid', 'kid2k']);
});
