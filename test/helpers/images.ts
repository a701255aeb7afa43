/**
 * Small test images written and read with sharp (independent of our own PNG codec), and reference formulas.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { PYTHON } from './python.js';
import { execFileSync } from 'node:child_process';

/** An HWC uint8 image. */
export interface TestImage {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** Deterministic pseudo-random pixels (a 32-bit LCG, top byte). */
export function noiseImage(width: number, height: number, channels: number, seed: number): TestImage {
  const data = new Uint8Array(width * height * channels);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, channels, data };
}

/** A uniform image of one colour. */
export function solidImage(width: number, height: number, colour: number[]): TestImage {
  const data = new Uint8Array(width * height * colour.length);
  for (let i = 0; i < data.length; i++) data[i] = colour[i % colour.length];
  return { width, height, channels: colour.length, data };
}

/** Encodes with sharp: PNG (lossless, any of 1–4 channels), WebP (lossless) or JPEG. */
export async function encodeWithSharp(image: TestImage, format: 'png' | 'webp' | 'jpeg' = 'png'): Promise<Buffer> {
  let pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 2 | 3 | 4 } });
  if (image.channels <= 2) pipeline = pipeline.toColourspace('b-w');
  if (format === 'png') return pipeline.png({ adaptiveFiltering: true, compressionLevel: 6 }).toBuffer();
  if (format === 'webp') return pipeline.webp({ lossless: true }).toBuffer();
  return pipeline.jpeg({ quality: 95 }).toBuffer();
}

export async function writeImage(path: string, image: TestImage, format: 'png' | 'webp' | 'jpeg' = 'png'): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, await encodeWithSharp(image, format));
}

/** Decodes an image with sharp, keeping gray as 1 channel and gray+alpha as 2. */
export async function decodeWithSharp(bytes: Uint8Array): Promise<TestImage> {
  const meta = await sharp(bytes).metadata();
  let pipeline = sharp(bytes);
  if (meta.channels === 1) pipeline = pipeline.toColourspace('b-w');
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (meta.channels === 2) {
    // sharp returns gray+alpha as RGBA with R = G = B.
    const n = info.width * info.height;
    const out = new Uint8Array(2 * n);
    for (let p = 0; p < n; p++) {
      out[2 * p] = data[4 * p];
      out[2 * p + 1] = data[4 * p + 3];
    }
    return { width: info.width, height: info.height, channels: 2, data: out };
  }
  return { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data) };
}

/** HWC → CHW. */
export function toChw(image: TestImage): Uint8Array {
  const { width, height, channels, data } = image;
  const out = new Uint8Array(data.length);
  for (let c = 0; c < channels; c++) for (let p = 0; p < width * height; p++) out[c * width * height + p] = data[p * channels + c];
  return out;
}

/** numpy's rint: round half to even. */
export function rint(x: number): number {
  const floor = Math.floor(x);
  const frac = x - floor;
  if (frac !== 0.5) return frac < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

let pilAvailable: boolean | undefined;
/** Skip reason when the system Python lacks numpy or PIL, else false. */
export function skipWithoutPil(): string | false {
  if (pilAvailable === undefined) {
    try {
      execFileSync(PYTHON, ['-c', 'import numpy, PIL'], { stdio: 'ignore' });
      pilAvailable = true;
    } catch {
      pilAvailable = false;
    }
  }
  return pilAvailable ? false : `${PYTHON} with numpy and PIL is not available`;
}
