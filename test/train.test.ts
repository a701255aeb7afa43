import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainingSchedule, lodBoundaryCrossed } from '../src/train/schedule.js';
import { getPreset } from '../src/train/presets.js';
import { emaBetaForHalfLife, presetEmaBeta } from '../src/train/ema.js';
import { train, latestSnapshot } from '../src/train/trainer.js';
import { readSafetensorsFile } from '../src/io/safetensors.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

const dir = tempDir('sgts-train');
let datasetPromise: Promise<string> | undefined;
/** The tiny dataset, made on first use (so that filtered runs do not leave it building after the temp dir is gone). */
const dataset = (): Promise<string> => (datasetPromise ??= tinyDataset(dir));

test('lod / resolution / minibatch / lr schedule follows the official formulas', () => {
  const sg = getPreset('stylegan-1gpu').schedule;
  // FFHQ 1024, initial 8², 600 kimg stable + 600 kimg fade per phase.
  const at = (kimg: number) => trainingSchedule(kimg * 1000, 1024, sg);
  assert.deepEqual(at(0), { kimg: 0, lod: 7, resolution: 8, minibatch: 128, gLrate: 0.001, dLrate: 0.001, tickKimg: 140 });
  assert.equal(at(599).lod, 7);
  assert.equal(at(900).lod, 6.5);
  assert.equal(at(900).resolution, 16, 'the new resolution applies during the fade');
  assert.equal(at(1200).lod, 6);
  assert.equal(at(4200).resolution, 64, 'lod 4 after 3.5 phases');
  assert.equal(at(4200).minibatch, 32);
  assert.equal(at(4800).resolution, 128);
  assert.equal(at(4800).minibatch, 16);
  assert.equal(at(4800).gLrate, 0.0015);
  assert.equal(at(7800).lod, 1);
  assert.equal(at(8100).lod, 0.5);
  assert.deepEqual(at(8100), { kimg: 8100, lod: 0.5, resolution: 1024, minibatch: 4, gLrate: 0.003, dLrate: 0.003, tickKimg: 20 });
  assert.equal(at(8400).lod, 0);
  assert.equal(at(20000).lod, 0);
  const pg = getPreset('progan-1gpu').schedule;
  const p = (kimg: number) => trainingSchedule(kimg * 1000, 1024, pg);
  assert.equal(p(0).lod, 8);
  assert.equal(p(0).resolution, 4);
  assert.equal(p(1500).lod, 7);
  assert.equal(p(2100).lod, 6.5);
  assert.equal(p(9000).minibatch, 4, '512² keeps 4');
  assert.equal(p(10000).minibatch, 4, '1024²: minibatch base 4, capped at 4');
  assert.equal(p(10000).gLrate, 0.0015);
  assert.equal(trainingSchedule(150_000, 256, { ...pg, lrateRampupKimg: 300 }).gLrate, 0.0005, 'linear warm-up');
  assert.equal(lodBoundaryCrossed(7, 6.99), true, 'a fade starts');
  assert.equal(lodBoundaryCrossed(6.5, 6.4), false, 'inside a fade');
  assert.equal(lodBoundaryCrossed(6.01, 6), true, 'a fade ends');
  assert.equal(lodBoundaryCrossed(6, 6), false);
});

test('Gs moving average: half-life of 10 kimg as the official β', () => {
  assert.ok(Math.abs(emaBetaForHalfLife(32, 10) - 0.99778) < 1e-5);
  assert.ok(Math.abs(emaBetaForHalfLife(32, 10) ** (10000 / 32) - 0.5) < 1e-12);
  assert.equal(emaBetaForHalfLife(32, 0), 0);
  assert.equal(presetEmaBeta(getPreset('progan-1gpu'), 32), 0.999, 'official ProGAN: constant β per step');
  assert.ok(Math.abs(presetEmaBeta(getPreset('progan-cpu'), 32) ** (5000 / 32) - 0.5) < 1e-12, 'CPU preset: 5 kimg half-life');
  assert.ok(Math.abs(presetEmaBeta(getPreset('stylegan-1gpu'), 32) - 0.99778) < 1e-5);
});

const smoke = async (runDir: string, extra: Record<string, unknown> = {}) =>
  train({ data: await dataset(), runDir, preset: 'smoke', seed: 3, mirror: true, gridSize: [4, 2], ...extra });

test('end-to-end smoke: grows 4² → 16², writes log, grids and loadable snapshots', async () => {
  const run = path.join(dir, 'smoke');
  const r = await smoke(run);
  assert.equal(r.kimg, 0.384);
  const files = readdirSync(run);
  for (const f of ['training_options.json', 'reals.png', 'fakes_init.png', 'log.jsonl']) assert.ok(files.includes(f), f);
  assert.ok(files.some((f) => /^fakes\d{6}\.png$/.test(f)));
  const log = readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  assert.equal(log.length, 6);
  assert.deepEqual(log.map((l) => l.resolution), [4, 8, 8, 16, 16, 16]);
  assert.equal(log.at(-1)!.lod, 0);
  for (const l of log) for (const k of ['lossG', 'lossD', 'penalty', 'secPerKimg', 'rss']) assert.ok(Number.isFinite(l[k]), `${k} finite`);
  const ck = await loadCheckpoint(r.lastSnapshot!, { only: ['Gs'] });
  assert.equal(ck.config.labelSize, 4, 'conditional on the dataset labels');
  assert.equal(ck.config.numChannels, 1);
  ck.Gs!.dispose();
});

// Skipped: since the training, data-parallel and structure work merged, G/dlatent_avg (and so the weights) after a
// resume differs from the uninterrupted run in about two runs out of three, with 1 or 2 threads and with either CPU
// allocator. Resume works and is tested elsewhere (train-runs, distributed); bit-exactness must be restored first.
test('resume: N ticks in one go = N/2 ticks, snapshot, resume N/2 (bit-identical weights)', async () => {
  const full = path.join(dir, 'full');
  const half = path.join(dir, 'half');
  const a = await smoke(full);
  await smoke(half, { maxTicks: 3 });
  const b = await smoke(half, { resume: true });
  assert.equal(a.kimg, b.kimg);
  const [ta, tb] = [await readSafetensorsFile(a.lastSnapshot!), await readSafetensorsFile(b.lastSnapshot!)];
  assert.equal(ta.tensors.size, tb.tensors.size);
  for (const [name, rec] of ta.tensors) {
    const other = tb.tensors.get(name);
    assert.ok(other, name);
    assert.ok(Buffer.from(rec.data).equals(Buffer.from(other.data)), `${name} differs after resume`);
  }
});

test('a run killed mid-training leaves only whole snapshots, and resumes from the newest', async () => {
  const run = path.join(dir, 'killed');
  const here = path.dirname(fileURLToPath(import.meta.url));
  const trainer = path.resolve(here, '..', 'src', 'train', 'trainer.js');
  const script = `import { train } from ${JSON.stringify(trainer)};
    await train({ data: ${JSON.stringify(await dataset())}, runDir: ${JSON.stringify(run)}, preset: 'smoke', seed: 3, networkSnapshotTicks: 1, totalKimg: 100 });`;
  const file = path.join(dir, 'killed-run.mjs');
  writeFileSync(file, script);
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // a plain child, not a test-runner subprocess
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // Kill it after three snapshots were logged, at an arbitrary moment (possibly mid-write of the next one).
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      const log = path.join(run, 'log.jsonl');
      const n = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"snapshot":"network')).length : 0;
      if (n >= 3) {
        clearInterval(poll);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code !== null) reject(new Error(`training child exited early with ${code}: ${stderr}`));
    });
  });
  await new Promise((r) => child.once('exit', r));
  const snaps = readdirSync(run).filter((f) => /^network-snapshot-\d{6}\.\d{3}\.safetensors$/.test(f));
  assert.ok(snaps.length >= 1, 'snapshots at their final names');
  for (const s of snaps) assert.ok((await readSafetensorsFile(path.join(run, s))).tensors.size > 0, `${s} is whole`);
  const from = latestSnapshot(run)!;
  const kimgBefore = Number((await readSafetensorsFile(from)).metadata.kimg);
  const r = await train({ data: await dataset(), runDir: run, preset: 'smoke', seed: 3, resume: true, totalKimg: kimgBefore + 0.128 });
  assert.ok(Math.abs(r.kimg - (kimgBefore + 0.128)) < 0.01, `resumed from ${kimgBefore} to ${r.kimg}`);
});
