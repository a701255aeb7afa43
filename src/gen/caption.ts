/**
 * Text on figures: column and row titles, and captions above video frames (kimg on a training timelapse). Text is
 * drawn by sharp from SVG (white on black, sans-serif) at the image's final pixel size, so it stays sharp when the
 * figure was zoomed first.
 */
import sharp from 'sharp';
import type { ImageBatch } from '../io/images.js';
import { grayTo } from './grid.js';

/** Height of a title or caption strip, in pixels, and the font size inside it. */
export const STRIP_HEIGHT = 16;
const FONT_SIZE = 11;
/** Approximate advance of one character at FONT_SIZE. */
const CHAR_WIDTH = 6.5;

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Texts drawn at (x, y) baselines on a black w×h canvas, as an image of `channels` channels. */
async function textImage(
  { w, h, channels }: { w: number; h: number; channels: number }, texts: { x: number; y: number; text: string; anchor?: 'start' | 'middle' }[],
): Promise<ImageBatch> {
  const body = texts.map((t) => `<text x="${t.x}" y="${t.y}" text-anchor="${t.anchor ?? 'start'}">${escapeXml(t.text)}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="${w}" height="${h}" fill="black"/>` +
    `<g font-family="sans-serif" font-size="${FONT_SIZE}" fill="white">${body}</g></svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  const gray: ImageBatch = { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), count: 1, width: info.width, height: info.height, channels: 1 };
  return channels === 1 ? gray : grayTo(gray, channels);
}

/** Places `img` at (x, y) in a black canvas of w×h (same channels), or over a copy of `under`. */
function onCanvas(img: ImageBatch, { w, h, x, y, under }: { w: number; h: number; x: number; y: number; under?: ImageBatch }): ImageBatch {
  const c = img.channels;
  const out = under ? under.data.slice() : new Uint8Array(w * h * c);
  for (let row = 0; row < img.height; row++) out.set(img.data.subarray(row * img.width * c, (row + 1) * img.width * c), ((y + row) * w + x) * c);
  return { data: out, count: 1, width: w, height: h, channels: c };
}

/** `img` with a strip of text above it (e.g. 'kimg 1200' on a timelapse frame). */
export async function withCaption(img: ImageBatch, text: string): Promise<ImageBatch> {
  const strip = await textImage({ w: img.width, h: STRIP_HEIGHT, channels: img.channels }, [{ x: 4, y: STRIP_HEIGHT - 4, text }]);
  const [w, h] = [img.width, img.height + STRIP_HEIGHT];
  return onCanvas(img, { w, h, x: 0, y: STRIP_HEIGHT, under: onCanvas(strip, { w, h, x: 0, y: 0 }) });
}

export interface Titles {
  /** One title per column of equal width, drawn above the grid. */
  columns?: readonly string[];
  /** One title per row of equal height, drawn left of the grid. */
  rows?: readonly string[];
}

/** A grid with its column titles above and row titles on the left (each centred on its column / row). */
export async function withTitles(grid: ImageBatch, t: Titles): Promise<ImageBatch> {
  const cols = t.columns ?? [];
  const rows = t.rows ?? [];
  const top = cols.length ? STRIP_HEIGHT : 0;
  const left = rows.length ? Math.ceil(Math.max(...rows.map((r) => r.length)) * CHAR_WIDTH) + 8 : 0;
  const [w, h] = [grid.width + left, grid.height + top];
  const colW = grid.width / Math.max(cols.length, 1);
  const rowH = grid.height / Math.max(rows.length, 1);
  const labels = await textImage({ w, h, channels: grid.channels }, [
    ...cols.map((text, i) => ({ x: left + (i + 0.5) * colW, y: top - 4, text, anchor: 'middle' as const })),
    ...rows.map((text, i) => ({ x: 4, y: top + (i + 0.5) * rowH + FONT_SIZE / 2 - 1, text })),
  ]);
  return onCanvas(grid, { w, h, x: left, y: top, under: labels });
}
