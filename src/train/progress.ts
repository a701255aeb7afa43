/**
 * What a run reports while it trains: one progress record per round of minibatches (images seen over the whole
 * run, rate, the time left to `--kimg` or `--max-minutes`, whichever comes first, phase, losses, augmentation p),
 * one per tick, and a readable summary at the end.
 */
import path from 'node:path';

export interface ProgressInfo {
  kimg: number;
  totalKimg: number;
  lod: number;
  resolution: number;
  minibatch: number;
  /** Images per second over this invocation. */
  imagesPerSec: number;
  /** Seconds to the end of the run (`totalKimg` or the time limit), or null before the rate is known. */
  etaSec: number | null;
  /** What ends the run first. */
  endsBy: 'kimg' | 'time';
  lossG: number;
  lossD: number;
  augmentP: number;
  /** The latest snapshot's metrics (--metrics). */
  metrics?: Record<string, number>;
}

export interface TickInfo extends ProgressInfo {
  tick: number;
  penalty: number;
  /** E[sign(D(real))] over the tick (the overfitting heuristic r_t). */
  rt: number;
  secPerTick: number;
  secPerKimg: number;
  totalSec: number;
  rss: number;
  liveTensors: number;
  snapshot: string | null;
  grid: string | null;
}

/** Rate and time left, from images trained and seconds spent in this invocation. */
export function eta(o: { nimg: number; startNimg: number; totalNimg: number; elapsedSec: number; maxSec?: number }): Pick<ProgressInfo, 'imagesPerSec' | 'etaSec' | 'endsBy'> {
  const done = o.nimg - o.startNimg;
  const imagesPerSec = o.elapsedSec > 0 ? done / o.elapsedSec : 0;
  const byKimg = imagesPerSec > 0 ? (o.totalNimg - o.nimg) / imagesPerSec : null;
  const byTime = o.maxSec !== undefined ? Math.max(o.maxSec - o.elapsedSec, 0) : null;
  if (byTime !== null && (byKimg === null || byTime < byKimg)) return { imagesPerSec, etaSec: byTime, endsBy: 'time' };
  return { imagesPerSec, etaSec: byKimg, endsBy: 'kimg' };
}

export const formatDuration = (sec: number | null): string => {
  if (sec === null || !Number.isFinite(sec)) return '--';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

/** The progress line's fields after the bar. */
export function progressLine(p: ProgressInfo): string {
  const end = p.endsBy === 'time' ? ' (time limit)' : '';
  return `${p.kimg.toFixed(1)}/${p.totalKimg} kimg | ${p.resolution}² lod ${p.lod.toFixed(2)} | G ${p.lossG.toFixed(3)} D ${p.lossD.toFixed(3)} | ` +
    `p ${p.augmentP.toFixed(3)} | ${p.imagesPerSec.toFixed(0)} img/s | ETA ${formatDuration(p.etaSec)}${end}` +
    (p.metrics ? ` | ${metricsText(p.metrics)}` : '');
}

/** One line per tick. */
export function tickLine(t: TickInfo): string {
  return `tick ${t.tick} kimg ${t.kimg.toFixed(1)} lod ${t.lod.toFixed(2)} res ${t.resolution} mb ${t.minibatch} G ${t.lossG.toFixed(3)} ` +
    `D ${t.lossD.toFixed(3)} pen ${t.penalty.toFixed(4)} r_t ${t.rt.toFixed(3)} p ${t.augmentP.toFixed(3)} ${t.secPerKimg.toFixed(1)} s/kimg` +
    (t.metrics ? ` ${metricsText(t.metrics)}` : '') + (t.snapshot ? ` → ${t.snapshot}` : '');
}

export interface RunSummary {
  runDir: string;
  kimg: number;
  ticks: number;
  lastSnapshot: string | null;
  /** Why the run ended. */
  stoppedBy: 'kimg' | 'time' | 'ticks' | 'signal';
  seconds: number;
  augmentP: number;
  metrics?: Record<string, number>;
}

const REASONS: Record<RunSummary['stoppedBy'], string> = {
  kimg: 'reached --kimg', time: 'reached --max-minutes', ticks: 'reached the tick limit', signal: 'interrupted (snapshot written)',
};

/** The end-of-run summary for people (the log.jsonl keeps the machine-readable record). */
export function summaryText(s: RunSummary): string {
  return [
    `stopped: ${REASONS[s.stoppedBy]} after ${s.kimg.toFixed(1)} kimg, ${s.ticks} ticks, ${formatDuration(s.seconds)} this session`,
    `run directory: ${s.runDir}`,
    `last snapshot: ${s.lastSnapshot ? path.basename(s.lastSnapshot) : 'none'}`,
    ...(s.metrics ? [`metrics of the last snapshot: ${metricsText(s.metrics)}`] : []),
    ...(s.augmentP > 0 ? [`augmentation p: ${s.augmentP.toFixed(3)}`] : []),
    `continue with: stylegan train --data … --run-dir ${s.runDir} --resume true`,
  ].join('\n');
}

/** `fid50k_full 12.34 kid50k_full 0.01234` */
export const metricsText = (m: Record<string, number>): string => Object.entries(m).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(' ');
