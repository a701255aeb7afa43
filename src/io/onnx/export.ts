/**
 * ONNX export of a generator: StyleGAN as mapping.onnx + synthesis.onnx, ProGAN as generator.onnx, plus
 * network.json with what a caller needs to drive them without the network file: the config, the w average for the
 * truncation trick, each synthesis layer's resolution and stored noise map, and the class count.
 *
 * The graphs are built from the network config and the official variables (stateDict names), not from the network
 * classes, so they follow the official semantics whatever the classes look like inside.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { type NetworkConfig, numStyleLayers } from '../../nets/config.js';
import { writeFileAtomic } from '../atomic.js';
import type { WeightArray, WeightSource } from './layers.js';
import { mappingGraph, synthesisGraph, layerResolution, layerScope } from './stylegan.js';
import { proganGeneratorGraph } from './progan.js';

export const ONNX_FORMAT = 'stylegan-ts-onnx';
export const ONNX_FORMAT_VERSION = 1;

export interface OnnxExportOptions {
  /** Store the weights as float16 (cast to float32 in the graph). */
  fp16?: boolean;
  /** Level of detail to export (default: the network's own `lod`). */
  lod?: number;
  /** Where the network came from, recorded in network.json. */
  source?: string;
}

/** One synthesis layer as network.json describes it. */
export interface OnnxLayerInfo {
  index: number;
  scope: string;
  resolution: number;
  /** The stored noise map of the layer ([1, 1, r, r] float32, little-endian, base64): the official 'const' noise. */
  noise: string;
}

/** The contents of network.json. */
export interface OnnxNetworkInfo {
  format: typeof ONNX_FORMAT;
  version: number;
  arch: NetworkConfig['arch'];
  config: NetworkConfig;
  resolution: number;
  channels: number;
  /** Number of classes (0 = unconditional); conditional graphs take one-hot `c` [N, classes]. */
  classes: number;
  latentSize: number;
  lod: number;
  weights: 'float32' | 'float16';
  source?: string;
  /** Graph files by role: StyleGAN { mapping, synthesis }, ProGAN { generator }. */
  files: Record<string, string>;
  /** StyleGAN only. */
  dlatentSize?: number;
  numLayers?: number;
  dlatentAvg?: number[];
  truncationPsi?: number;
  truncationCutoff?: number;
  layers?: OnnxLayerInfo[];
}

/** A network's variables by official name, read once as float32 arrays. */
export function weightSource(state: Map<string, Tensor>, where: string): WeightSource {
  const cache = new Map<string, WeightArray>();
  return (name) => {
    let w = cache.get(name);
    if (!w) {
      const t = state.get(name);
      if (!t) throw new Error(`${where}: the network has no variable '${name}'`);
      w = { shape: t.shape, data: E.tidy(() => t.toFloat32Array()) };
      cache.set(name, w);
    }
    return w;
  };
}

const base64 = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** The graphs (file name → bytes) and network.json of a generator, without writing anything. */
export function buildOnnx(state: Map<string, Tensor>, config: NetworkConfig, o: OnnxExportOptions = {}): { graphs: Map<string, Uint8Array>; info: OnnxNetworkInfo } {
  const W = weightSource(state, o.source ?? 'ONNX export');
  const fp16 = o.fp16 ?? false;
  const common = {
    format: ONNX_FORMAT, version: ONNX_FORMAT_VERSION, arch: config.arch, config, resolution: config.resolution,
    channels: config.numChannels, classes: config.labelSize, latentSize: config.latentSize,
    weights: fp16 ? 'float16' : 'float32', ...(o.source ? { source: o.source } : {}),
  } as const;
  if (config.arch === 'progan') {
    const lod = o.lod ?? W('lod').data[0]!;
    const graphs = new Map([['generator.onnx', proganGeneratorGraph(config, W, { fp16, lod })]]);
    return { graphs, info: { ...common, lod, files: { generator: 'generator.onnx' } } };
  }
  const lod = o.lod ?? W('G_synthesis/lod').data[0]!;
  const graphs = new Map([
    ['mapping.onnx', mappingGraph(config, W, fp16)],
    ['synthesis.onnx', synthesisGraph(config, W, { fp16, lod })],
  ]);
  const numLayers = numStyleLayers(config);
  const layers = Array.from({ length: numLayers }, (_, i) => ({
    index: i, scope: layerScope(i), resolution: layerResolution(i), noise: base64(W(`G_synthesis/noise${i}`).data),
  }));
  return {
    graphs,
    info: {
      ...common, lod, files: { mapping: 'mapping.onnx', synthesis: 'synthesis.onnx' }, dlatentSize: config.dlatentSize,
      numLayers, dlatentAvg: Array.from(W('dlatent_avg').data), truncationPsi: config.truncationPsi,
      truncationCutoff: config.truncationCutoff, layers,
    },
  };
}

export interface OnnxExportResult {
  info: OnnxNetworkInfo;
  /** Files written (name → bytes on disk). */
  sizes: Map<string, number>;
}

/**
 * Writes the ONNX graphs and network.json of a generator (its official-name state and config) into `dir` (created if
 * needed; each file replaced atomically).
 */
export async function exportOnnx(G: { stateDict(): Map<string, Tensor> }, config: NetworkConfig, { dir, ...o }: OnnxExportOptions & { dir: string }): Promise<OnnxExportResult> {
  const { graphs, info } = buildOnnx(G.stateDict(), config, o);
  await mkdir(dir, { recursive: true }).catch((e: Error) => {
    throw new Error(`${dir}: cannot create the output directory (${e.message})`, { cause: e });
  });
  const sizes = new Map<string, number>();
  for (const [name, bytes] of graphs) {
    await writeFileAtomic(join(dir, name), bytes);
    sizes.set(name, bytes.byteLength);
  }
  await writeFileAtomic(join(dir, 'network.json'), `${JSON.stringify(info, null, 1)}\n`);
  sizes.set('network.json', (await stat(join(dir, 'network.json'))).size);
  return { info, sizes };
}
