/** A studio server on a free port, and headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core. */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { openNetworks } from '../../src/studio/networks.js';
import { createStudioServer } from '../../src/studio/server.js';

export const CHROMIUM = process.env.STYLEGAN_CHROMIUM ?? '/usr/bin/chromium';

/** Skip reason for node:test when Chromium is missing, or false. */
export const skipWithoutChromium = (): string | false => (existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (scripts/setup.sh installs it)`);

export interface RunningStudio {
  url: string;
  close: () => Promise<void>;
}

/** Starts a studio serving `paths` (the default network when empty) on 127.0.0.1 and a free port. */
export async function startStudio(paths: string[], vggPath: string | null = null): Promise<RunningStudio> {
  const server = createStudioServer({ networks: await openNetworks(paths, 'cpu'), vggPath });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--force-color-profile=srgb'] });

/** Waits until the main view has shown more than `after` full-resolution renders and nothing is in flight. */
export async function waitRendered(page: Page, after: number): Promise<number> {
  await page.waitForFunction((n) => {
    const v = document.getElementById('view')!;
    return Number(v.dataset.renders ?? 0) > n && v.dataset.state === 'idle' && v.dataset.preview === 'false';
  }, after);
  return page.evaluate(() => Number(document.getElementById('view')!.dataset.renders));
}

/** The RGBA pixels of an <img> as the browser decoded them (drawn to a canvas at its natural size). */
export function imagePixels(page: Page, id: string): Promise<number[]> {
  return page.evaluate((imgId) => {
    const img = document.getElementById(imgId) as HTMLImageElement;
    const c = document.createElement('canvas');
    [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
    const ctx = c.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    return Array.from(ctx.getImageData(0, 0, c.width, c.height).data);
  }, id);
}

/** A PNG file (or a region of it) as RGBA bytes (gray repeated in R, G, B; alpha 255), as a canvas reads it. */
export async function fileRgba(file: string, region?: { left: number; top: number; width: number; height: number }): Promise<number[]> {
  let img = sharp(file);
  if (region) img = img.extract(region);
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  const out: number[] = [];
  for (let p = 0; p < info.width * info.height; p++) {
    const px = data.subarray(p * info.channels, (p + 1) * info.channels);
    if (info.channels < 3) out.push(px[0]!, px[0]!, px[0]!, 255);
    else out.push(px[0]!, px[1]!, px[2]!, info.channels === 4 ? px[3]! : 255);
  }
  return out;
}
