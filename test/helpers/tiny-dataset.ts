/** A small labelled dataset for training tests: blobs whose position depends on the class, via IDX → createDataset. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDataset } from '../../src/data/create.js';

/** Writes `count` 16×16 gray images in 4 classes as IDX files and converts them to a dataset zip; returns its path. */
export async function tinyDataset(dir: string, count = 64, size = 16): Promise<string> {
  const images = new Uint8Array(16 + count * size * size);
  const labels = new Uint8Array(8 + count);
  const view = new DataView(images.buffer);
  view.setUint32(0, 0x00000803);
  view.setUint32(4, count);
  view.setUint32(8, size);
  view.setUint32(12, size);
  new DataView(labels.buffer).setUint32(0, 0x00000801);
  new DataView(labels.buffer).setUint32(4, count);
  for (let i = 0; i < count; i++) {
    const c = i % 4;
    labels[8 + i] = c;
    const cx = c % 2 ? size * 0.7 : size * 0.3;
    const cy = c >= 2 ? size * 0.7 : size * 0.3;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const d2 = (x - cx) ** 2 + (y - cy) ** 2;
      images[16 + i * size * size + y * size + x] = Math.round(255 * Math.exp(-d2 / (2 + (i % 3))));
    }
  }
  const img = join(dir, 'tiny-images-idx3-ubyte');
  writeFileSync(img, images);
  writeFileSync(join(dir, 'tiny-labels-idx1-ubyte'), labels);
  const dest = join(dir, `tiny-${count}.zip`);
  await createDataset({ source: img, dest, resolution: size });
  return dest;
}
