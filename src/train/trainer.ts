/**
 * The training loop of ProGAN and StyleGAN, read top to bottom: options → run directory → data → networks (fresh,
 * resumed, or transferred from a published network) → optimizers → loop (schedule, D step + Gs update, G step,
 * augmentation strength) → ticks (log, image grid, snapshot). Snapshots hold G, D, Gs, both optimizers, the random
 * stream, the loop state and the run's options, so a resumed run continues exactly where the snapshot was taken,
 * and a resume that would change the training is refused.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import * as E from '../engine/index.js';
import { buildGenerator, buildDiscriminator, styleganConfig, proganConfig, type Networks } from '../nets/index.js';
import { BatchLoader } from '../data/loader.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { networkFileKind } from '../io/open-network.js';
import { makeDirectory, writeFileAtomic } from '../io/atomic.js';
import { trainingSchedule, lodBoundaryCrossed, type ScheduleState } from './schedule.js';
import { presetEmaBeta } from './ema.js';
import { discriminatorStep, generatorStep, type StepContext } from './step.js';
import type { Preset } from './presets.js';
import { AugmentPipe, AdaController, augmentSpec } from './augment.js';
import { resolveRunOptions, effectivePreset, type RunFlags, type RunOptions } from './run-options.js';
import { claimRunDir, latestSnapshot, snapshotName, type RunDirClaim } from './run-dir.js';
import { writeTrainingSnapshot, readTrainingState, restoreOptimizer, restoreGenerator, firstNonFinite, initialLoopState, requireMetrics, type LoopState, type SnapshotMetrics } from './snapshot.js';
import { loadTransferNetworks, trainableDiscriminatorParams } from './transfer.js';
import { eta, type ProgressInfo, type TickInfo, type RunSummary } from './progress.js';
import { FixedGrid, writeReals } from './grids.js';
import { processReals, setLod } from './lod.js';
import type { DataParallelGroup } from './distributed.js';

export { latestSnapshot } from './run-dir.js';
export type { ProgressInfo, TickInfo } from './progress.js';
export type { SnapshotMetrics } from './snapshot.js';

export interface TrainOptions extends RunFlags {
  /** Dataset (zip or folder of PNGs + dataset.json). */
  data: string;
  /** Run directory (claimed; a fresh run needs it empty, `resume` continues it). */
  runDir: string;
  /** Stop after this many thousand images (default: the preset's). */
  totalKimg?: number;
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
  /** Stop, with a snapshot, within one minibatch of this many seconds. */
  maxSeconds?: number;
  /** Memory budget of the loader's decoded-image cache. */
  memoryBudget?: number;
  /** Called after every minibatch round and after every tick; warnings (e.g. a fresh D for transfer). */
  onProgress?: (p: ProgressInfo) => void;
  onTick?: (t: TickInfo) => void;
  onWarning?: (message: string) => void;
  /** Computes `metrics` on each snapshot's Gs (src/cli/train-metrics.ts; passed in from above the metrics layer). */
  snapshotMetrics?: SnapshotMetrics;
  /** Data parallelism over a process group (src/train/distributed.ts); rank 0 alone claims the directory and writes. */
  parallel?: DataParallelGroup;
}

type Nets = Required<Networks>;


export type TrainResult = RunSummary;

/** Raised when a loss or a weight stops being finite; the last good snapshot is kept. */
export class TrainingDiverged extends Error {}

export class Trainer {
  options!: RunOptions;
  preset!: Preset;
  readonly gen: E.Generator;
  private nets!: Nets;
  private gOpt!: E.Adam;
  private dOpt!: E.Adam;
  private loader!: BatchLoader;
  private claim: RunDirClaim | null = null;
  private state: LoopState = initialLoopState(0);
  private numClasses = 0;
  private classCdf: number[] = [];
  private grid!: FixedGrid;
  private totalKimg = 0;
  private augment: AugmentPipe | null = null;
  private ada: AdaController | null = null;
  private last = { g: 0, d: 0, penalty: 0, snapshot: null as string | null, metrics: undefined as Record<string, number> | undefined };
  private tickSigns = { sum: 0, count: 0 };
  private stopSignal: string | null = null;

  constructor(readonly o: TrainOptions) {
    this.gen = new E.Generator(o.seed ?? 0);
  }

  private get device(): string {
    return this.o.device ?? 'cpu';
  }

  /** Whether this process writes logs, grids and snapshots (the only one, or rank 0). */
  private get writer(): boolean {
    return !this.o.parallel || this.o.parallel.isWriter;
  }

  /** Asks the loop to stop after the current minibatch, with a snapshot (SIGINT / SIGTERM). */
  requestStop(reason: string): void {
    this.stopSignal = reason;
  }

  /** Claims the run directory, opens the data, builds (or restores, or transfers) networks and optimizers. */
  async setup(): Promise<void> {
    const o = this.o;
    makeDirectory(o.runDir);
    const resumeFrom = typeof o.resume === 'string' ? o.resume : o.resume ? latestSnapshot(o.runDir) : null;
    if (o.resume === true && !resumeFrom) throw new Error(`${o.runDir}: --resume: no network-snapshot-*.safetensors to continue from`);
    if (resumeFrom && o.transfer) throw new Error(`--resume-from ${o.transfer}: cannot be combined with --resume (a resumed run continues its own snapshot)`);
    this.claim = this.writer ? claimRunDir(o.runDir, !o.resume) : null;
    try {
      await this.open(resumeFrom);
    } catch (e) {
      this.claim?.release();
      this.claim = null;
      throw e;
    }
  }

  private flags(): RunFlags {
    const o = this.o;
    return { preset: o.preset, net: o.net, gamma: o.gamma, batch: o.batch, glr: o.glr, dlr: o.dlr, mirror: o.mirror, aug: o.aug, augpipe: o.augpipe, target: o.target, p: o.p, freezeD: o.freezeD, metrics: o.metrics, conditional: o.conditional, seed: o.seed, transfer: o.transfer, precision: o.precision };
  }

  private async open(resumeFrom: string | null): Promise<void> {
    const o = this.o;
    const probe = await BatchLoader.open(o.data, { resolution: 4, batchSize: 1, validate: 'first', memoryBudget: 0, prefetch: 1 });
    const info = probe.info;
    await probe.close();
    if (resumeFrom && await networkFileKind(resumeFrom) === 'pickle') {
      throw new Error(`${resumeFrom}: an official pickle is not a training snapshot; start a new run from it with --resume-from`);
    }
    let ck = resumeFrom ? await loadCheckpoint(resumeFrom, { device: this.device }) : null;
    try {
      let stored: RunOptions | null = null;
      if (ck) {
        const t = readTrainingState(ck);
        this.state = t.state;
        stored = t.options ?? resolveRunOptions({ preset: t.presetName ?? undefined }, null);
      }
      this.options = resolveRunOptions(this.flags(), stored, resumeFrom ?? undefined);
      this.preset = effectivePreset(this.options);
      if (this.options.metrics.length) requireMetrics(o.snapshotMetrics).check(this.options.metrics);
      this.totalKimg = o.totalKimg ?? this.preset.totalKimg;
      const opts = this.options;
      const conditional = opts.conditional ?? info.labelled;
      if (conditional && !info.labelled) throw new Error(`${o.data}: --cond needs a labelled dataset (dataset.json has no labels)`);
      this.numClasses = conditional ? info.numClasses : 0;
      const total = info.classCounts.reduce((a, b) => a + b, 0);
      let acc = 0;
      this.classCdf = info.classCounts.map((c) => (acc += c) / Math.max(total, 1));
      if (ck) {
        this.nets = { G: ck.G!, D: ck.D!, Gs: ck.Gs!, config: ck.config };
      } else if (opts.transfer) {
        const t = await loadTransferNetworks(opts.transfer, { device: this.device, seed: opts.seed });
        this.nets = t;
        t.warnings.forEach((w) => o.onWarning?.(w));
        if (t.config.arch !== this.preset.arch) {
          this.disposeNets();
          throw new Error(`--resume-from ${opts.transfer}: the network is ${t.config.arch} but --preset ${opts.preset} trains ${this.preset.arch}`);
        }
      } else {
        const base: Record<string, unknown> = { resolution: info.resolution, numChannels: info.channels, labelSize: this.numClasses, ...this.preset.net, ...opts.net };
        const config = this.preset.arch === 'stylegan' ? styleganConfig(base) : proganConfig(base);
        const G = buildGenerator(config, opts.seed * 3 + 1, this.device);
        const Gs = buildGenerator(config, opts.seed * 3 + 1, this.device);
        const D = buildDiscriminator(config, opts.seed * 3 + 2, this.device);
        this.nets = { G, D, Gs, config };
      }
      const c = this.nets.config;
      if (c.resolution !== info.resolution || c.numChannels !== info.channels || c.labelSize !== this.numClasses) {
        const net = opts.transfer && !ck ? `the network ${opts.transfer}` : 'the networks';
        this.disposeNets();
        throw new Error(`${o.data}: the dataset is ${info.resolution}² × ${info.channels} channels with ${this.numClasses} classes used, but ${net} ` +
          `${c.resolution}² × ${c.numChannels} channels with ${c.labelSize} label(s)`);
      }
      o.parallel?.broadcast([this.nets.G, this.nets.D, this.nets.Gs].flatMap((n) => [...n.stateDict().values()]));
      const a = this.preset.adam;
      this.gOpt = new E.Adam(this.nets.G.parameters(), { lr: 0.001, ...a });
      this.dOpt = new E.Adam(trainableDiscriminatorParams(this.nets.D, opts.freezeD), { lr: 0.001, ...a });
      if (ck) {
        restoreOptimizer(ck, this.gOpt, 'G');
        restoreOptimizer(ck, this.dOpt, 'D');
        restoreGenerator(ck, this.gen);
      } else {
        this.state = initialLoopState(opts.aug === 'noaug' ? 0 : opts.p);
      }
      ck = null;
    } catch (e) {
      if (ck && !this.nets) for (const n of [ck.G, ck.D, ck.Gs]) n?.dispose();
      throw e;
    }
    if (this.options.aug !== 'noaug') this.augment = new AugmentPipe(augmentSpec(this.options.augpipe), this.state.augmentP);
    if (this.options.aug === 'ada') (this.ada = new AdaController(this.options.target)).state = this.state.ada;
    const [cols, rows] = o.gridSize ?? [8, 4];
    this.grid = new FixedGrid(this.nets.config, { cols, rows, seed: this.options.seed, numClasses: this.numClasses, device: this.device });
    const sched = this.schedule();
    this.loader = await BatchLoader.open(o.data, {
      resolution: sched.resolution, batchSize: sched.minibatch, seed: this.options.seed, xflip: this.options.mirror,
      position: this.state.loaderPosition, memoryBudget: o.memoryBudget, shard: o.parallel && { rank: o.parallel.rank, size: o.parallel.size },
    });
  }

  /** The schedule; a transferred network trains at full resolution from the start (no growing). */
  private schedule(): ScheduleState {
    const s = this.preset.schedule;
    return trainingSchedule(this.state.curNimg, this.nets.config.resolution, this.options.transfer ? { ...s, lodInitialResolution: this.nets.config.resolution } : s);
  }

  /** What the step functions work on. */
  private get stepContext(): StepContext {
    const aug = this.augment;
    return {
      parallel: this.o.parallel, nets: this.nets, gOpt: this.gOpt, dOpt: this.dOpt, gen: this.gen, device: this.device, loss: this.preset.loss,
      emaBeta: (minibatch) => presetEmaBeta(this.preset, minibatch), numClasses: this.numClasses, classCdf: this.classCdf,
      augment: aug && aug.p > 0 ? (x) => aug.forward(x, this.gen) : undefined, precision: this.options.precision,
    };
  }

  private diverged(what: string): never {
    const last = this.last.snapshot ?? latestSnapshot(this.o.runDir);
    const message = `training diverged at ${(this.state.curNimg / 1000).toFixed(3)} kimg: ${what}; stopped without a snapshot ` +
      `(the last good one is ${last ? path.basename(last) : 'none'})`;
    this.log({ event: 'diverged', kimg: this.state.curNimg / 1000, message, time: new Date().toISOString() });
    throw new TrainingDiverged(message);
  }

  /** One minibatch: D step (+ Gs update), the augmentation controller, G step. */
  private async minibatch(s: ScheduleState): Promise<void> {
    const batch = await this.loader.next();
    const r = E.tidy(() => discriminatorStep(this.stepContext, processReals(batch, s.lod, this.device), { realClasses: batch.labels ?? null, schedule: s }));
    if (!Number.isFinite(r.loss)) this.diverged(`the D loss is ${r.loss}`);
    if (this.o.parallel) { // r_t over the global minibatch: the mean of every rank's (sum, count)
      const t = E.tensor([r.realSigns, r.count]);
      this.o.parallel.allReduceMean([t]);
      [r.realSigns, r.count] = Array.from(t.toFloat32Array());
      t.dispose();
    }
    Object.assign(this.last, { d: r.loss, penalty: r.penalty });
    this.tickSigns.sum += r.realSigns;
    this.tickSigns.count += r.count;
    if (this.ada && this.augment) {
      this.augment.p = this.state.augmentP = this.ada.update(this.state.augmentP, { signSum: r.realSigns, count: r.count, batchSize: s.minibatch });
      this.state.ada = this.ada.state;
    }
    this.state.curNimg += s.minibatch;
    this.last.g = generatorStep(this.stepContext, s);
    if (!Number.isFinite(this.last.g)) this.diverged(`the G loss is ${this.last.g}`);
  }

  async writeGrid(file: string): Promise<void> {
    await this.grid.write(file, this.nets.Gs, this.schedule().lod);
  }

  /** Writes G, D, Gs, optimizer moments, RNG, loop state and options atomically (after a finiteness check). */
  async snapshot(file: string): Promise<void> {
    const bad = firstNonFinite({ G: this.nets.G, D: this.nets.D, Gs: this.nets.Gs });
    if (bad) this.diverged(`${bad} holds NaN or Inf`);
    await writeTrainingSnapshot(file, {
      nets: this.nets, gOpt: this.gOpt, dOpt: this.dOpt, gen: this.gen, options: this.options, preset: this.preset,
      state: { ...this.state, loaderPosition: this.loader.position },
    });
    this.last.snapshot = file;
  }

  private log(entry: Record<string, unknown>): void {
    if (this.writer) appendFileSync(path.join(this.o.runDir, 'log.jsonl'), JSON.stringify(entry) + '\n');
  }

  /** Runs until totalKimg, maxTicks, maxSeconds or requestStop. */
  async run(): Promise<TrainResult> {
    const o = this.o;
    if (this.state.curNimg === 0 && this.state.tick === 0 && this.writer) {
      await writeFileAtomic(path.join(o.runDir, 'training_options.json'), JSON.stringify({
        data: o.data, ...this.options, preset: this.preset.name, totalKimg: this.totalKimg, net: this.nets.config,
        schedule: this.preset.schedule, loss: this.preset.loss, conditional: this.numClasses > 0, processes: o.parallel?.size ?? 1,
      }, null, 2));
      await writeReals(path.join(o.runDir, 'reals.png'), { data: o.data, resolution: this.nets.config.resolution, cols: this.grid.cols, rows: this.grid.rows });
      await this.writeGrid(path.join(o.runDir, 'fakes_init.png'));
    }
    let ticksThisRun = 0;
    const start = Date.now();
    let tickStart = Date.now();
    const startNimg = this.state.curNimg;
    const secondsBefore = this.state.totalSec;
    const totalNimg = Math.round(this.totalKimg * 1000);
    const elapsed = () => (Date.now() - start) / 1000;
    let stoppedBy: RunSummary['stoppedBy'] = 'kimg';
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
        setLod(this.nets, s.lod);
        let interrupted: RunSummary['stoppedBy'] | null = null;
        for (let r = 0; r < this.preset.minibatchRepeats && !interrupted; r++) {
          await this.minibatch(s);
          const local = this.stopSignal ? 'signal' : o.maxSeconds !== undefined && elapsed() >= o.maxSeconds ? 'time' : null;
          // Under data parallelism every rank stops at the same minibatch.
          interrupted = o.parallel ? (o.parallel.any(local !== null) ? local ?? 'signal' : null) : local;
        }
        this.state.loaderPosition = this.loader.position;
        const rate = eta({ nimg: this.state.curNimg, startNimg, totalNimg, elapsedSec: elapsed(), maxSec: o.maxSeconds });
        const progress: ProgressInfo = {
          kimg: this.state.curNimg / 1000, totalKimg: this.totalKimg, lod: s.lod, resolution: s.resolution, minibatch: s.minibatch,
          ...rate, lossG: this.last.g, lossD: this.last.d, augmentP: this.state.augmentP, metrics: this.last.metrics,
        };
        o.onProgress?.(progress);
        const done = this.state.curNimg >= totalNimg;
        if (!interrupted && !done && this.state.curNimg < this.state.tickStartNimg + s.tickKimg * 1000) continue;
        // ---- tick ----
        this.state.tick += 1;
        ticksThisRun += 1;
        const now = Date.now();
        const secPerTick = (now - tickStart) / 1000;
        const tickKimg = (this.state.curNimg - this.state.tickStartNimg) / 1000;
        this.state.tickStartNimg = this.state.curNimg;
        this.state.totalSec = secondsBefore + (now - start) / 1000;
        tickStart = now;
        stoppedBy = interrupted ?? (done ? 'kimg' : o.maxTicks !== undefined && ticksThisRun >= o.maxTicks ? 'ticks' : stoppedBy);
        const stopLocal = interrupted !== null || done || stoppedBy === 'ticks';
        const stopping = o.parallel ? o.parallel.any(stopLocal) : stopLocal;
        let grid: string | null = null;
        if (this.writer && (this.state.tick % (o.imageSnapshotTicks ?? 1) === 0 || stopping)) {
          grid = path.join(o.runDir, `fakes${String(Math.floor(this.state.curNimg / 1000)).padStart(6, '0')}.png`);
          await this.writeGrid(grid);
        }
        const snapTick = this.state.tick % (o.networkSnapshotTicks ?? this.preset.networkSnapshotTicks) === 0 || stopping;
        const snap = snapTick ? path.join(o.runDir, snapshotName(this.state.curNimg)) : null;
        if (this.writer && snap) await this.snapshot(snap);
        if (snap && this.options.metrics.length) {
          this.last.metrics = await o.snapshotMetrics!.measure(this.options.metrics, this.nets.Gs, snap);
        }
        const mem = E.memoryStats();
        const info: TickInfo = {
          ...progress, tick: this.state.tick, penalty: this.last.penalty, rt: this.tickSigns.sum / Math.max(this.tickSigns.count, 1),
          secPerTick, secPerKimg: secPerTick / Math.max(tickKimg, 1e-9), imagesPerSec: (tickKimg * 1000) / Math.max(secPerTick, 1e-9),
          totalSec: this.state.totalSec, rss: mem.rss, liveTensors: mem.liveTensors, snapshot: snap && this.writer ? path.basename(snap) : null,
          grid: grid ? path.basename(grid) : null, metrics: this.last.metrics,
        };
        this.tickSigns = { sum: 0, count: 0 };
        this.log({ ...info, augment_p: this.state.augmentP, time: new Date().toISOString() });
        o.onTick?.(info);
        if (stopping) break;
      }
    } finally {
      await this.loader.close();
    }
    return {
      runDir: o.runDir, kimg: this.state.curNimg / 1000, ticks: this.state.tick, lastSnapshot: this.last.snapshot, stoppedBy,
      seconds: elapsed(), augmentP: this.state.augmentP, metrics: this.last.metrics,
    };
  }

  get networks(): Nets {
    return this.nets;
  }

  private disposeNets(): void {
    for (const n of [this.nets.G, this.nets.D, this.nets.Gs]) n.dispose();
  }

  dispose(): void {
    this.disposeNets();
    this.gOpt?.dispose();
    this.dOpt?.dispose();
    this.grid?.dispose();
    this.claim?.release();
    this.claim = null;
  }
}

/** Sets up and runs a training run; returns where it ended. `onTrainer` sees it before it runs (signal handlers). */
export async function train(o: TrainOptions, onTrainer?: (t: Trainer) => void): Promise<TrainResult> {
  const t = new Trainer(o);
  await t.setup();
  onTrainer?.(t);
  try {
    return await t.run();
  } finally {
    t.dispose();
  }
}
