/** `stylegan export --onnx DIR`: the generator of any network file as ONNX graphs plus network.json. */
import { performance } from 'node:perf_hooks';
import { openNetwork } from '../gen/network.js';
import { exportOnnx, type OnnxExportResult } from '../io/onnx/index.js';

export interface OnnxExportCommandOptions {
  fp16?: boolean;
  lod?: number;
  /** Print nothing (default: one line per file written and a summary). */
  quiet?: boolean;
}

/** Opens `network` (undefined = the default network), writes its ONNX export into `dir` and reports what it wrote. */
export async function exportNetworkOnnx(network: string | undefined, dir: string, o: OnnxExportCommandOptions = {}): Promise<OnnxExportResult & { seconds: number }> {
  const t0 = performance.now();
  const { G, config, source } = await openNetwork(network);
  try {
    const result = await exportOnnx(G, config, { dir, fp16: o.fp16, lod: o.lod, source });
    const seconds = (performance.now() - t0) / 1000;
    if (!o.quiet) {
      for (const [name, bytes] of result.sizes) process.stdout.write(`${dir}/${name}: ${(bytes / 1024).toFixed(0)} KiB\n`);
      process.stdout.write(`ONNX export of ${source} (${config.arch} ${config.resolution}², lod ${result.info.lod}, ${result.info.weights} weights) in ${seconds.toFixed(2)} s\n`);
    }
    return { ...result, seconds };
  } finally {
    G.dispose();
  }
}
