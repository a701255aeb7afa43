/**
 * FID of trained 32² RGB generators against their dataset, with the one image feature network this project has:
 * the Fashion-MNIST classifier (models/fmnist-classifier.safetensors, 128-d features of its Dense0 layer), applied
 * to the inverted luma (0.299 R + 0.587 G + 0.114 B) of reals and fakes alike, so that light-on-white emoji look
 * like Fashion-MNIST's light-on-black pictures. The numbers compare runs with each other; they are not comparable
 * with Inception FIDs from the papers.
 *
 * Usage: node dist/bench/fid-emoji.js DATASET NUM SNAPSHOT... → one JSON line per snapshot {snapshot, kimg, lod, num, fid}
 * (NUM generated images with random noise, truncation 1, Gs at the snapshot's lod; all reals).
 */
import path from 'node:path';
import * as E from '../src/engine/index.js';
import type { Tensor } from '../src/engine/index.js';
import { StyleGANGenerator } from '../src/nets/index.js';
import { BatchLoader } from '../src/data/loader.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { loadClassifier, imageFeatures } from '../src/metrics/fmnist-classifier.js';
import { fitGaussian, frechetDistance } from '../src/metrics/frechet.js';

/** uint8 RGB [n, 3, 32, 32] (or float in [−1, 1]) → inverted luma uint8 [n, 32, 32]. */
function invertedLuma(rgb: Tensor, signed: boolean): Uint8Array {
  return E.tidy(() => {
    const x = signed ? rgb.add(1).mul(127.5) : rgb.to('float32');
    const w = E.tensor([0.299, 0.587, 0.114]).reshape(1, 3, 1, 1);
    const y = x.mul(w).sum([1]).clamp(0, 255).round();
    return Uint8Array.from(y.neg().add(255).toFloat32Array());
  });
}

async function realFeatures(data: string): Promise<Uint8Array> {
  const l = await BatchLoader.open(data, { resolution: 32, batchSize: 1, shuffle: false, prefetch: 1, validate: 'first' });
  const n = l.info.count;
  await l.close();
  const all = await BatchLoader.open(data, { resolution: 32, batchSize: n, shuffle: false, prefetch: 1 });
  try {
    const b = await all.next();
    return E.tidy(() => invertedLuma(E.fromTypedArray(b.images, [n, 3, 32, 32], 'uint8'), false));
  } finally {
    await all.close();
  }
}

async function main(): Promise<void> {
  const [data, numArg, ...snaps] = process.argv.slice(2);
  if (!data || !numArg || !snaps.length) throw new Error('usage: fid-emoji DATASET NUM SNAPSHOT...');
  const num = Number(numArg);
  const { net } = await loadClassifier();
  const reals = await realFeatures(data);
  const realStats = E.tidy(() => fitGaussian(imageFeatures(net, reals, { count: reals.length / 1024 })));
  for (const snap of snaps) {
    const ck = await loadCheckpoint(snap, { only: ['Gs'] });
    const Gs = ck.Gs!;
    const lod = (JSON.parse(ck.metadata.train_state ?? '{}') as { prevLod?: number }).prevLod ?? 0;
    const latents = new E.Generator(123), noise = new E.Generator(124);
    const fakes = new Uint8Array(num * 1024);
    E.noGrad(() => {
      for (let s = 0; s < num; s += 250) {
        const n = Math.min(250, num - s);
        fakes.set(E.tidy(() => {
          const z = E.randn([n, Gs.cfg.latentSize], { generator: latents });
          const img = Gs instanceof StyleGANGenerator ? Gs.forward(z, { noise: 'random', generator: noise, truncationPsi: 1, lod }) : Gs.forward(z, { lod });
          return invertedLuma(img.clamp(-1, 1), true);
        }), s * 1024);
      }
    });
    const fid = E.tidy(() => frechetDistance(realStats, fitGaussian(imageFeatures(net, fakes, { count: num }))));
    process.stdout.write(`${JSON.stringify({ snapshot: path.basename(snap), kimg: Number(ck.metadata.kimg), lod, num, fid })}\n`);
    Gs.dispose();
  }
}

await main();
