/**
 * A figure of the augmentation pipeline: the first row holds 32² reals of a dataset, each further row the same reals
 * through `AugmentPipe` at strength p (fresh draws per row).
 *
 * Usage: node dist/bench/augment-figure.js DATASET OUT.png [PIPE=bgc] [P=1] [COLS=8] [ROWS=4]
 */
import * as E from '../src/engine/index.js';
import { BatchLoader } from '../src/data/loader.js';
import { AugmentPipe, augmentSpec } from '../src/train/augment.js';
import { makeGrid, toUint8, writePng } from '../src/io/images.js';

const [data, out, pipe = 'bgc', p = '1', cols = '8', rows = '4'] = process.argv.slice(2);
if (!data || !out) throw new Error('usage: augment-figure DATASET OUT.png [PIPE] [P] [COLS] [ROWS]');
const n = Number(cols);
const loader = await BatchLoader.open(data, { resolution: 32, batchSize: n, seed: 5, prefetch: 1 });
const b = await loader.next();
await loader.close();
const aug = new AugmentPipe(augmentSpec(pipe), Number(p));
const gen = new E.Generator(7);
const images = E.tidy(() => {
  const x = E.fromTypedArray(b.images, [n, b.channels, b.resolution, b.resolution], 'uint8').to('float32').div(127.5).sub(1);
  const rowsOut = [x, ...Array.from({ length: Number(rows) - 1 }, () => aug.forward(x, gen))];
  return toUint8(E.cat(rowsOut, 0));
});
await writePng(out, makeGrid(images, n));
