/** FID, KID, IS and PPL of a tiny StyleGAN on the stand-in detectors: in one process, or sharded over a process group. */
import path from 'node:path';
import { buildGenerator, styleganConfig } from '../../src/nets/index.js';
import { calcMetric } from '../../src/metrics/calc.js';
import type { ProcessGroup } from '../../src/engine/index.js';
import { ROOT } from './python.js';

export async function shardedMetricScenario(data: string, group?: ProcessGroup): Promise<Record<string, number>[]> {
  const G = buildGenerator(styleganConfig({ resolution: 16, numChannels: 1, fmapBase: 64, fmapMax: 16, latentSize: 8, dlatentSize: 8, mappingLayers: 2, mappingFmaps: 8 }), 5);
  const detectorFile = path.join(ROOT, 'test/fixtures/detectors/inception-standin.pt');
  const vggFile = path.join(ROOT, 'test/fixtures/detectors/vgg16-standin.pt');
  try {
    const out: Record<string, number>[] = [];
    // 10 images in batches of 4: rank 0 generates batches 0 and 2 (4 + 2 images), rank 1 batch 1.
    for (const name of ['fid', 'kid', 'is1k']) {
      out.push((await calcMetric(name, { G, data, numGen: 10, maxReal: 16, batch: 4, detectorFile, cacheDir: null, seed: 3, group })).results);
    }
    // 7 pairs in batches of 2: rank 0 measures batches 0 and 2 (2 + 2 pairs), rank 1 batches 1 and 3 (2 + 1).
    out.push((await calcMetric('ppl_wfull', { G, data, numGen: 7, detectorFile: vggFile, cacheDir: null, seed: 3, group })).results);
    return out;
  } finally {
    G.dispose();
  }
}
