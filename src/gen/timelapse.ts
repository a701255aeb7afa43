/**
 * A training timelapse: the fixed-latent grids a training run writes (`fakes_init.png` at the start, then
 * `fakesNNNNNN.png` named after the thousands of images shown so far) as video frames, in kimg order.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readImage, type ImageBatch } from '../io/images.js';
import { grayTo } from './grid.js';
import { withCaption } from './caption.js';
import { writeVideo, type VideoInfo, type VideoOptions } from './video.js';

export interface RunGrid {
  file: string;
  /** Thousands of images shown when the grid was written (−1 for fakes_init.png, written before the first step). */
  kimg: number;
}

/** The grids of a run directory, in kimg order. */
export function runGrids(runDir: string): RunGrid[] {
  let names: string[];
  try {
    if (!statSync(runDir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(runDir);
  } catch (e) {
    throw new Error(`${runDir}: cannot read the run directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const grids: RunGrid[] = [];
  for (const name of names) {
    const m = /^fakes(?:(\d+)|_init)\.png$/.exec(name);
    if (m) grids.push({ file: join(runDir, name), kimg: m[1] === undefined ? -1 : Number(m[1]) });
  }
  if (grids.length === 0) throw new Error(`${runDir}: no fakes*.png grids (is this a training run directory?)`);
  return grids.sort((a, b) => a.kimg - b.kimg);
}

/**
 * The grids as frames; every grid must have the size of the first. Gray grids are expanded to RGB when the run also
 * has RGB ones (a run resumed across versions can hold both).
 */
export async function* timelapseFrames(runDir: string, o: { captions?: boolean } = {}): AsyncGenerator<ImageBatch> {
  const frames: { file: string; kimg: number; img: ImageBatch }[] = [];
  for (const g of runGrids(runDir)) {
    const img = await readImage(g.file);
    const first = frames[0]?.img ?? img;
    if (img.width !== first.width || img.height !== first.height) {
      throw new Error(`${g.file}: ${img.width}×${img.height}×${img.channels}, but the first grid is ${first.width}×${first.height}×${first.channels}`);
    }
    frames.push({ file: g.file, kimg: g.kimg, img });
  }
  const channels = Math.max(...frames.map((f) => f.img.channels));
  for (const { img, kimg } of frames) {
    const frame = img.channels === channels ? img : grayTo(img, channels);
    yield o.captions ? await withCaption(frame, kimg < 0 ? 'kimg 0 (initial)' : `kimg ${kimg}`) : frame;
  }
}

export interface TimelapseOptions extends VideoOptions {
  /** A 'kimg N' caption above every frame (default true). */
  captions?: boolean;
}

/** Writes the timelapse video of a run (format from the extension; default 10 fps, kimg captions). */
export async function timelapse(runDir: string, out: string, o: TimelapseOptions = {}): Promise<VideoInfo> {
  runGrids(runDir); // fail on a bad directory before touching the output
  return writeVideo(out, timelapseFrames(runDir, { captions: o.captions ?? true }), { ...o, fps: o.fps ?? 10 });
}
