/**
 * The progressive training loop of ProGAN and StyleGAN, read top to bottom: config → data → networks → optimizers →
 * loop (schedule, D step + Gs update, G step, repeated `minibatchRepeats` times per schedule evaluation) → ticks
 * (log, image grid, snapshot). Snapshots hold G, D, Gs, both optimizers, the random stream and the loop state, so a
 * resumed run continues exactly where the snapshot was taken.
 */
import { existsSync, readdirSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import {
  buildGenerator, buildDiscriminator, styleganConfig, proganConfig, StyleGANGenerator,
  type Networks,
} from '../nets/index.js';
import { upscale2d, downscale2d } from '../nn/ops.js';
import { BatchLoader } from '../data/loader.js';
import type { Batch } from '../data/batches.js';
import { RandomState } from '../engine/numpy-random.js';
import { saveCheckpoint, loadCheckpoint, recordToTensor } from '../io/checkpoint.js';
import { makeDirectory, writeFileAtomic } from '../io/atomic.js';
import { toUint8, makeGrid, writePng } from '../io/images.js';
import { trainingSchedule, lodBoundaryCrossed, type ScheduleState } from './schedule.js';
import { presetEmaBeta } from './ema.js';
import { discriminatorStep, generatorStep, type StepContext } from './step.js';
import { getPreset, type Preset } from './presets.js';
import type { DataParallelGroup } from './distributed.js';

export interface TrainOptions {
  /** Dataset (zip or folder of PNGs + dataset.json). */
  data: string;
  /** Run directory (created; an existing one is resumed with `resume: true`). */
  runDir: string;
  preset: string | Preset;
  /** Architecture overrides on top of the preset. */
  net?: Record<string, unknown>;
  /** Stop after this many thousand images (default: the preset's). */
  totalKimg?: number;
  /** Use the dataset's labels (class-conditional networks); default: when the dataset has labels. */
  conditional?: boolean;
  mirror?: boolean;
  seed?: number;
  /** Continue from a snapshot file, or from the newest snapshot of `runDir` when true. */
  resume?: string | boolean;
  /** Image grid every N ticks (default 1) and snapshot every N ticks (default: the preset's). */
  imageSnapshotTicks?: number;
  networkSnapshotTicks?: number;
  /** Grid of fixed latents [columns, rows]. */
  gridSize?: [number, number];
  device?: string;
  /** Stop after this many ticks of this invocation (for tests and time-boxed runs). */
  maxTicks?: number;
  /** Stop (after the current tick, with a snapshot) once this many seconds have passed. */
  maxSeconds?: number;
  /** Memory budget of the loader's decoded-image cache. */
  memoryBudget?: number;
  /** Called after every round of minibatch repeats and after every tick. */
  onProgress?: (p: ProgressInfo) => void;
  onTick?: (t: TickInfo) => void;
  /** Data parallelism over a process group (src/train/distributed.ts); rank 0 alone writes. */
  parallel?: DataParallelGroup;
}

export interface ProgressInfo {
  kimg: number;
  totalKimg: number;
  lod: number;
  resolution: number;
  minibatch: number;
}

export interface TickInfo extends ProgressInfo {
  tick: number;
  lossG: number;
  lossD: number;
  penalty: number;
  secPerTick: number;
  secPerKimg: number;
  imagesPerSec: number;
  totalSec: number;
  rss: number;
  liveTensors: number;
  snapshot: string | null;
  grid: string | null;
}

/** Everything needed to continue a run exactly. */
interface LoopState {
  curNimg: number;
  tick: number;
  tickStartNimg: number;
  prevLod: number;
  loaderPosition: number;
  totalSec: number;
}

type Nets = Required<Networks>;

export interface TrainResult {
  runDir: string;
  kimg: number;
  ticks: number;
  lastSnapshot: string | null;
}

const snapshotName = (nimg: number) => `network-snapshot-${String(Math.floor(nimg / 1000)).padStart(6, '0')}.safetensors`;

/** The newest snapshot of a run directory, or null. */
export function latestSnapshot(runDir: string): string | null {
  if (!existsSync(runDir)) return null;
  const snaps = readdirSync(runDir).filter((f) => /^network-snapshot-\d+\.safetensors$/.test(f)).sort();
  return snaps.length ? path.join(runDir, snaps[snaps.length - 1]!) : null;
}

export class Trainer {
  readonly preset: Preset;
  readonly gen: E.Generator;
  private nets!: Nets;
  private gOpt!: E.Adam;
  private dOpt!: E.Adam;
  private loader!: BatchLoader;
  private state: LoopState = { curNimg: 0, tick: 0, tickStartNimg: 0, prevLod: -1, loaderPosition: 0, totalSec: 0 };
  private numClasses = 0;
  private classCdf: number[] = [];
  private gridLatents!: Tensor;
  private gridLabels: Tensor | null = null;
  private readonly totalKimg: number;
  private lastLosses = { g: 0, d: 0, penalty: 0 };

  constructor(readonly o: TrainOptions) {
    this.preset = typeof o.preset === 'string' ? getPreset(o.preset) : o.preset;
    this.totalKimg = o.totalKimg ?? this.preset.totalKimg;
    this.gen = new E.Generator(o.seed ?? 0);
  }

  private get device(): string {
    return this.o.device ?? 'cpu';
  }

  /** Whether this process writes logs, grids and snapshots (the only one, or rank 0). */
  private get writer(): boolean {
    return !this.o.parallel || this.o.parallel.isWriter;
  }

  /** Opens the data, builds (or restores) networks and optimizers. */
  async setup(): Promise<void> {
    const o = this.o;
    makeDirectory(o.runDir);
    const resumeFrom = typeof o.resume === 'string' ? o.resume : o.resume ? latestSnapshot(o.runDir) : null;
    if (o.resume === true && !resumeFrom) throw new Error(`--resume: no network-snapshot-*.safetensors in ${o.runDir}`);
    const probe = await BatchLoader.open(o.data, { resolution: 4, batchSize: 1, validate: 'first', memoryBudget: 0, prefetch: 1 });
    const info = probe.info;
    await probe.close();
    const conditional = o.conditional ?? info.labelled;
    if (conditional && !info.labelled) throw new Error(`${o.data}: --cond needs a labelled dataset (dataset.json has no labels)`);
    this.numClasses = conditional ? info.numClasses : 0;
    const total = info.classCounts.reduce((a, b) => a + b, 0);
    let acc = 0;
    this.classCdf = info.classCounts.map((c) => (acc += c) / Math.max(total, 1));

    if (resumeFrom) {
      const ck = await loadCheckpoint(resumeFrom, { device: this.device });
      if (!ck.G || !ck.D || !ck.Gs) throw new Error(`${resumeFrom}: a training snapshot needs G, D and Gs`);
      this.nets = { G: ck.G, D: ck.D, Gs: ck.Gs, config: ck.config };
      this.state = JSON.parse(ck.metadata.train_state ?? 'null') as LoopState;
      if (!this.state) throw new Error(`${resumeFrom}: no train_state in metadata (not a training snapshot)`);
      this.makeOptimizers();
      const restore = (opt: E.Adam, tag: string) => {
        const step = Number(ck.metadata[`opt_${tag}_step`] ?? 0);
        const get = (k: string) => {
          const r = ck.extra.get(k);
          if (!r) throw new Error(`${resumeFrom}: missing optimizer tensor '${k}'`);
          return recordToTensor(r, `${resumeFrom}: ${k}`);
        };
        E.tidy(() => opt.loadState({ step, expAvg: opt.params.map((_, i) => get(`opt/${tag}/m/${i}`)), expAvgSq: opt.params.map((_, i) => get(`opt/${tag}/v/${i}`)) }));
      };
      restore(this.gOpt, 'G');
      restore(this.dOpt, 'D');
      const rng = ck.extra.get('rng/train');
      if (!rng) throw new Error(`${resumeFrom}: missing 'rng/train'`);
      E.tidy(() => this.gen.setState(recordToTensor(rng)));
    } else {
      const base: Record<string, unknown> = { resolution: info.resolution, numChannels: info.channels, labelSize: this.numClasses, ...this.preset.net, ...(o.net ?? {}) };
      const config = this.preset.arch === 'stylegan' ? styleganConfig(base) : proganConfig(base);
      const seed = o.seed ?? 0;
      const G = buildGenerator(config, seed * 3 + 1, this.device);
      const Gs = buildGenerator(config, seed * 3 + 1, this.device);
      const D = buildDiscriminator(config, seed * 3 + 2, this.device);
      this.nets = { G, D, Gs, config };
      this.makeOptimizers();
    }
    this.o.parallel?.broadcast([this.nets.G, this.nets.D, this.nets.Gs].flatMap((n) => [...n.stateDict().values()]));
    if (this.nets.config.resolution !== info.resolution || this.nets.config.numChannels !== info.channels) {
      throw new Error(`${o.data}: dataset is ${info.resolution}² × ${info.channels} but the networks are ${this.nets.config.resolution}² × ${this.nets.config.numChannels}`);
    }
    // Fixed grid latents, drawn as the official loop does (numpy RandomState), and cycling class labels.
    const [cols, rows] = o.gridSize ?? [8, 4];
    const latent = this.nets.config.latentSize;
    const rs = new RandomState(o.seed ?? 0);
    this.gridLatents = E.keep(E.fromTypedArray(Float32Array.from(rs.randn(cols * rows, latent)), [cols * rows, latent]).to(this.device));
    if (this.numClasses) this.gridLabels = E.keep(E.oneHot(Int32Array.from({ length: cols * rows }, (_, i) => Math.floor(i / cols) % this.numClasses), this.numClasses, this.device));
    const sched = this.schedule();
    this.loader = await BatchLoader.open(o.data, {
      resolution: sched.resolution, batchSize: sched.minibatch, seed: o.seed ?? 0, xflip: o.mirror ?? false,
      position: this.state.loaderPosition, memoryBudget: o.memoryBudget,
      shard: o.parallel && { rank: o.parallel.rank, size: o.parallel.size },
    });
  }

  private makeOptimizers(): void {
    const a = this.preset.adam;
    this.gOpt = new E.Adam(this.nets.G.parameters(), { lr: 0.001, ...a });
    this.dOpt = new E.Adam(this.nets.D.parameters(), { lr: 0.001, ...a });
  }

  private schedule(): ScheduleState {
    return trainingSchedule(this.state.curNimg, this.nets.config.resolution, this.preset.schedule);
  }

  /** uint8 batch → [−1, 1] at the working resolution, with the fade of the official process_reals. */
  private processReals(batch: Batch, lod: number): Tensor {
    return E.tidy(() => {
      const x = E.fromTypedArray(batch.images, [batch.batchSize, batch.channels, batch.resolution, batch.resolution], 'uint8')
        .to(this.device).to('float32').div(127.5).sub(1);
      const frac = lod - Math.floor(lod);
      return frac > 0 && batch.resolution > 4 ? x.lerp(upscale2d(downscale2d(x)), frac) : x;
    });
  }

  /** What the step functions work on. */
  private get stepContext(): StepContext {
    return {
      parallel: this.o.parallel,
      nets: this.nets, gOpt: this.gOpt, dOpt: this.dOpt, gen: this.gen, device: this.device, loss: this.preset.loss,
      emaBeta: (minibatch) => presetEmaBeta(this.preset, minibatch), numClasses: this.numClasses, classCdf: this.classCdf,
    };
  }

  /** One D step (and the Gs update that the official loop runs with it). */
  private dStep(batch: Batch, s: ScheduleState): void {
    const { loss, penalty } = E.tidy(() => discriminatorStep(this.stepContext, this.processReals(batch, s.lod), batch.labels ?? null, s));
    this.lastLosses.d = loss;
    this.lastLosses.penalty = penalty;
  }

  private gStep(s: ScheduleState): void {
    this.lastLosses.g = generatorStep(this.stepContext, s);
  }

  private setLod(lod: number): void {
    const nets = [this.nets.G, this.nets.Gs];
    E.noGrad(() => {
      for (const g of nets) (g instanceof StyleGANGenerator ? [g.own.vars.get('lod'), g.synthesis.vars.get('lod')] : [g.vars.get('lod')]).forEach((t) => t.fill_(lod));
      this.nets.D.vars.get('lod').fill_(lod);
    });
  }

  /** The fixed-latent grid from Gs at the current lod (const noise, no truncation), as a PNG. */
  async writeGrid(file: string): Promise<void> {
    const Gs = this.nets.Gs;
    const [cols] = this.o.gridSize ?? [8, 4];
    const imgs = E.tidy(() => E.noGrad(() => {
      const lod = this.schedule().lod;
      return toUint8(Gs instanceof StyleGANGenerator
        ? Gs.forward(this.gridLatents, { labels: this.gridLabels, noise: 'const', lod })
        : Gs.forward(this.gridLatents, { labels: this.gridLabels, lod }));
    }));
    await writePng(file, makeGrid(imgs, cols));
  }

  async writeReals(file: string): Promise<void> {
    const [cols, rows] = this.o.gridSize ?? [8, 4];
    const r = this.nets.config.resolution;
    const l = await BatchLoader.open(this.o.data, { resolution: r, batchSize: cols * rows, seed: 1, shuffle: true, validate: 'first', prefetch: 1 });
    try {
      const b = await l.next();
      const imgs = E.tidy(() => toUint8(E.fromTypedArray(b.images, [b.batchSize, b.channels, r, r], 'uint8').to('float32'), [0, 255]));
      await writePng(file, makeGrid(imgs, cols));
    } finally {
      await l.close();
    }
  }

  /** Writes G, D, Gs, optimizer moments, RNG and loop state atomically. */
  async snapshot(file: string): Promise<void> {
    const extra = new Map<string, Tensor>();
    const add = (opt: E.Adam, tag: string) => {
      const st = opt.state();
      st.expAvg.forEach((t, i) => extra.set(`opt/${tag}/m/${i}`, t));
      st.expAvgSq.forEach((t, i) => extra.set(`opt/${tag}/v/${i}`, t));
    };
    add(this.gOpt, 'G');
    add(this.dOpt, 'D');
    const rng = this.gen.getState();
    extra.set('rng/train', rng);
    try {
      await saveCheckpoint(file, {
        config: this.nets.config, nets: { G: this.nets.G, D: this.nets.D, Gs: this.nets.Gs }, extra,
        metadata: {
          train_state: JSON.stringify({ ...this.state, loaderPosition: this.loader.position }),
          opt_G_step: String(this.gOpt.stepCount), opt_D_step: String(this.dOpt.stepCount),
          preset: JSON.stringify(this.preset), kimg: (this.state.curNimg / 1000).toFixed(3),
        },
      });
    } finally {
      rng.dispose();
    }
  }

  private log(entry: Record<string, unknown>): void {
    if (this.writer) appendFileSync(path.join(this.o.runDir, 'log.jsonl'), JSON.stringify(entry) + '\n');
  }

  /** Runs until totalKimg (or maxTicks / maxSeconds). */
  async run(): Promise<TrainResult> {
    const o = this.o;
    const resumed = this.state.curNimg > 0;
    if (!resumed && this.writer) {
      await writeFileAtomic(path.join(o.runDir, 'training_options.json'), JSON.stringify({
        data: o.data, preset: this.preset.name, net: this.nets.config, totalKimg: this.totalKimg, mirror: o.mirror ?? false,
        seed: o.seed ?? 0, conditional: this.numClasses > 0, schedule: this.preset.schedule, loss: this.preset.loss,
        processes: o.parallel?.size ?? 1,
      }, null, 2));
      await this.writeReals(path.join(o.runDir, 'reals.png'));
      await this.writeGrid(path.join(o.runDir, 'fakes_init.png'));
    }
    let lastSnapshot: string | null = null;
    let ticksThisRun = 0;
    const start = Date.now();
    let tickStart = Date.now();
    const secondsBefore = this.state.totalSec;
    const totalNimg = Math.round(this.totalKimg * 1000);
    try {
      while (this.state.curNimg < totalNimg) {
        const s = this.schedule();
        const cur = this.loader.settings;
        if (cur.resolution !== s.resolution || cur.batchSize !== s.minibatch) this.loader.configure({ resolution: s.resolution, batchSize: s.minibatch });
        if (this.state.prevLod >= 0 && lodBoundaryCrossed(this.state.prevLod, s.lod)) {
          this.gOpt.reset();
          this.dOpt.reset();
        }
        this.state.prevLod = s.lod;
        this.setLod(s.lod);
        for (let r = 0; r < this.preset.minibatchRepeats; r++) {
          const batch = await this.loader.next();
          this.dStep(batch, s);
          this.state.curNimg += s.minibatch;
          this.gStep(s);
        }
        this.state.loaderPosition = this.loader.position;
        o.onProgress?.({ kimg: this.state.curNimg / 1000, totalKimg: this.totalKimg, lod: s.lod, resolution: s.resolution, minibatch: s.minibatch });
        const done = this.state.curNimg >= totalNimg;
        if (this.state.curNimg < this.state.tickStartNimg + s.tickKimg * 1000 && !done) continue;
        // ---- tick ----
        this.state.tick += 1;
        ticksThisRun += 1;
        const now = Date.now();
        const secPerTick = (now - tickStart) / 1000;
        const tickKimg = (this.state.curNimg - this.state.tickStartNimg) / 1000;
        this.state.tickStartNimg = this.state.curNimg;
        this.state.totalSec = secondsBefore + (now - start) / 1000;
        tickStart = now;
        const outOfTime = o.maxSeconds !== undefined && (now - start) / 1000 >= o.maxSeconds;
        const stopLocal = done || (o.maxTicks !== undefined && ticksThisRun >= o.maxTicks) || outOfTime;
        const stopping = o.parallel ? o.parallel.any(stopLocal) : stopLocal;
        let grid: string | null = null;
        if (this.writer && (this.state.tick % (o.imageSnapshotTicks ?? 1) === 0 || stopping)) {
          grid = path.join(o.runDir, `fakes${String(Math.floor(this.state.curNimg / 1000)).padStart(6, '0')}.png`);
          await this.writeGrid(grid);
        }
        let snap: string | null = null;
        if (this.writer && (this.state.tick % (o.networkSnapshotTicks ?? this.preset.networkSnapshotTicks) === 0 || stopping)) {
          snap = path.join(o.runDir, snapshotName(this.state.curNimg));
          await this.snapshot(snap);
          lastSnapshot = snap;
        }
        const mem = E.memoryStats();
        const info: TickInfo = {
          tick: this.state.tick, kimg: this.state.curNimg / 1000, totalKimg: this.totalKimg, lod: s.lod, resolution: s.resolution,
          minibatch: s.minibatch, lossG: this.lastLosses.g, lossD: this.lastLosses.d, penalty: this.lastLosses.penalty,
          secPerTick, secPerKimg: secPerTick / Math.max(tickKimg, 1e-9), imagesPerSec: (tickKimg * 1000) / Math.max(secPerTick, 1e-9),
          totalSec: this.state.totalSec, rss: mem.rss, liveTensors: mem.liveTensors, snapshot: snap ? path.basename(snap) : null,
          grid: grid ? path.basename(grid) : null,
        };
        this.log({ ...info, time: new Date().toISOString() });
        o.onTick?.(info);
        if (stopping) break;
      }
    } finally {
      await this.loader.close();
    }
    return { runDir: o.runDir, kimg: this.state.curNimg / 1000, ticks: this.state.tick, lastSnapshot };
  }

  get networks(): Nets {
    return this.nets;
  }

  dispose(): void {
    for (const n of [this.nets.G, this.nets.D, this.nets.Gs]) n.dispose();
    this.gOpt.dispose();
    this.dOpt.dispose();
    this.gridLatents.dispose();
    this.gridLabels?.dispose();
  }
}

/** Sets up and runs a training run; returns where it ended. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const t = new Trainer(o);
  await t.setup();
  try {
    return await t.run();
  } finally {
    t.dispose();
  }
}
