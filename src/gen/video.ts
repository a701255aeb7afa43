/**
 * Videos from frames: MP4 (H.264) through `ffmpeg` when it is on the PATH (raw frames piped to its stdin), animated
 * WebP or GIF through sharp otherwise. The format follows the file extension. Files are replaced atomically.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import sharp from 'sharp';
import { zoomImages, type ImageBatch } from '../io/images.js';
import { writeFileAtomic } from '../io/atomic.js';

export type VideoFormat = 'mp4' | 'webp' | 'gif';
const FORMATS: Record<string, VideoFormat> = { '.mp4': 'mp4', '.webp': 'webp', '.gif': 'gif' };

export interface VideoOptions {
  /** Frames per second (default 30). */
  fps?: number;
  /** The ffmpeg executable (default 'ffmpeg', looked up on the PATH). */
  ffmpeg?: string;
  /**
   * Enlarge every frame this many times, nearest neighbour; 'auto' enlarges small frames to a watchable size (at least
   * WATCHABLE_WIDTH pixels wide). Default 1.
   */
  zoom?: number | 'auto';
}

/** The smallest frame width 'auto' zoom aims at. */
export const WATCHABLE_WIDTH = 256;

/** The zoom that 'auto' picks for frames `width` pixels wide. */
export const autoZoom = (width: number): number => Math.max(1, Math.ceil(WATCHABLE_WIDTH / width));

export interface VideoInfo {
  path: string;
  format: VideoFormat;
  frames: number;
  width: number;
  height: number;
}

/** The format of an output file, from its extension. */
export function videoFormat(path: string): VideoFormat {
  const f = FORMATS[extname(path).toLowerCase()];
  if (!f) throw new Error(`${path}: unknown video format '${extname(path) || '(no extension)'}'; use .mp4, .webp or .gif`);
  return f;
}

const ffmpegChecked = new Map<string, boolean>();
/** Whether `ffmpeg -version` runs. */
export function hasFfmpeg(ffmpeg = 'ffmpeg'): boolean {
  if (!ffmpegChecked.has(ffmpeg)) {
    const r = spawnSync(ffmpeg, ['-version'], { stdio: 'ignore' });
    ffmpegChecked.set(ffmpeg, !r.error && r.status === 0);
  }
  return ffmpegChecked.get(ffmpeg)!;
}

type Frames = Iterable<ImageBatch> | AsyncIterable<ImageBatch>;

/** Every frame, checked to be one image of the first frame's size, then zoomed. */
async function* checked(frames: Frames, zoomSpec: number | 'auto'): AsyncGenerator<ImageBatch> {
  let first: ImageBatch | null = null;
  let zoom = 1;
  let i = 0;
  for await (const f of frames) {
    if (!first) zoom = zoomSpec === 'auto' ? autoZoom(f.width) : zoomSpec;
    first ??= f;
    if (f.count !== 1 || f.width !== first.width || f.height !== first.height || f.channels !== first.channels) {
      throw new Error(`video: frame ${i} is ${f.count}×${f.width}×${f.height}×${f.channels}, expected one ${first.width}×${first.height}×${first.channels} image`);
    }
    i++;
    yield zoomImages(f, zoom);
  }
  if (!first) throw new Error('video: no frames');
}

const frameBytes = (f: ImageBatch) => f.data.subarray(0, f.width * f.height * f.channels);

/** Writes `frames` as a video; the format is the extension's. Fails before pulling any frame if it cannot be written. */
export async function writeVideo(path: string, frames: Frames, o: VideoOptions = {}): Promise<VideoInfo> {
  const format = videoFormat(path);
  const fps = o.fps ?? 30;
  if (!(fps > 0 && fps <= 1000)) throw new Error(`video: fps must be in (0, 1000], got ${fps}`);
  const ffmpeg = o.ffmpeg ?? 'ffmpeg';
  if (format === 'mp4' && !hasFfmpeg(ffmpeg)) {
    throw new Error(`${path}: writing MP4 needs ffmpeg, which is not on the PATH (install it, or write .webp or .gif instead)`);
  }
  const zoom = o.zoom ?? 1;
  if (zoom !== 'auto' && !(Number.isInteger(zoom) && zoom >= 1)) throw new Error(`video: zoom must be an integer ≥ 1 or 'auto', got ${zoom}`);
  const all = checked(frames, zoom);
  return format === 'mp4' ? writeMp4(path, all, { fps, ffmpeg }) : writeAnimated(path, all, { format, fps });
}

async function writeAnimated(path: string, frames: AsyncIterable<ImageBatch>, { format, fps }: { format: 'webp' | 'gif'; fps: number }): Promise<VideoInfo> {
  const all: Uint8Array[] = [];
  let first: ImageBatch | null = null;
  for await (const f of frames) {
    first ??= f;
    all.push(frameBytes(f));
  }
  const { width, height, channels } = first!;
  const raw = Buffer.concat(all);
  const delay = new Array<number>(all.length).fill(Math.round(1000 / fps));
  const image = sharp(raw, { raw: { width, height: height * all.length, channels: channels as 1 | 3 | 4, pageHeight: height } });
  const out = format === 'webp'
    ? await image.webp({ loop: 0, delay, quality: 90, effort: 4 }).toBuffer()
    : await image.gif({ loop: 0, delay, keepDuplicateFrames: true }).toBuffer();
  await writeFileAtomic(path, out);
  return { path, format, frames: all.length, width, height };
}

async function writeMp4(path: string, frames: AsyncIterable<ImageBatch>, { fps, ffmpeg }: { fps: number; ffmpeg: string }): Promise<VideoInfo> {
  const target = resolve(path);
  const temporary = `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}.mp4`;
  await mkdir(dirname(target), { recursive: true });
  const it = frames[Symbol.asyncIterator]();
  const head = await it.next();
  const first = head.value as ImageBatch;
  const pixFmt = { 1: 'gray', 3: 'rgb24', 4: 'rgba' }[first.channels as 1 | 3 | 4];
  if (!pixFmt) throw new Error(`video: ${first.channels}-channel frames cannot be written as MP4`);
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', pixFmt, '-s', `${first.width}x${first.height}`,
    '-r', String(fps), '-i', 'pipe:0', '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p',
    '-crf', '18', '-movflags', '+faststart', '-f', 'mp4', temporary,
  ];
  const child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => res(code));
  });
  const write = (chunk: Uint8Array) =>
    new Promise<void>((res, rej) => child.stdin.write(chunk, (e) => (e ? rej(e) : res())));
  let count = 0;
  try {
    await write(frameBytes(first));
    count = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      await write(frameBytes(r.value));
      count++;
    }
    child.stdin.end();
    const code = await exited;
    if (code !== 0) throw new Error(`ffmpeg exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    await rename(temporary, target);
  } catch (e) {
    child.stdin.destroy();
    child.kill();
    await exited.catch(() => undefined);
    await rm(temporary, { force: true });
    throw new Error(`cannot write ${target}: ${(e as Error).message}`, { cause: e });
  }
  return { path, format: 'mp4', frames: count, width: first.width, height: first.height };
}
