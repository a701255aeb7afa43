/**
 * StyleGAN's synthesis network g (StyleGAN §2, G_synthesis): the learned 4×4 constant, then one block per resolution
 * (an upsampling layer and a layer, each with its style and noise inputs) and a ToRGB per resolution for progressive
 * growing.
 */
import * as E from '../engine/index.js';
import type { Tensor, Generator } from '../engine/index.js';
import { Network, type Variables } from '../nn/module.js';
import { ToRGB } from '../nn/layers.js';
import { type StyleGANConfig, nf, isFused, log2Resolution, numStyleLayers, noiseSize } from './config.js';
import { resolveLod, growOutput, type GrowthState } from './progressive.js';
import { SynthesisLayer, type Compute, type LayerInput } from './synthesis-layer.js';

/** The default bound on one activation of a CPU inference pass (see SynthesisNetwork.inferenceChunk). */
const INFERENCE_CHUNK_BYTES = 128 * 2 ** 20;

/** How a synthesis layer gets its noise: a fresh sample, the stored map, none, or an explicit [N|1, 1, H, W] tensor. */
export type NoiseMode = 'random' | 'const' | 'none';
export type NoiseInput = NoiseMode | Tensor | null;
/** One mode for all layers, or one entry per layer (null = 'none'). */
export type NoiseSpec = NoiseMode | NoiseInput[];

export interface SynthesisOptions {
  noise?: NoiseSpec;
  /** Generator of the random noise maps. */
  generator?: Generator;
  /** Level of detail (0 = full resolution); defaults to the network's `lod` variable. */
  lod?: number;
  /** Return the image at the working resolution 2^(R − floor(lod)) instead of upscaling it to full size. */
  native?: boolean;
  /**
   * Arithmetic of an inference pass (no autograd) on the CPU: 'fp32' (default) or 'bf16' (bfloat16 activations and
   * convolutions, float32 statistics and image). Passes with autograd always run in float32.
   */
  precision?: Precision;
  /** Activations in channels-last (NHWC) memory on the CPU in inference, where oneDNN's convolutions are faster (default true). */
  channelsLast?: boolean;
  /**
   * CPU inference runs a large batch a few images at a time, so that no activation exceeds this many bytes (default
   * 128 MiB; the images equal those of one pass up to float rounding).
   */
  maxActivationBytes?: number;
}

export type Precision = 'fp32' | 'bf16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16'];

/** How an inference pass computes (dtype, layout), or undefined for the plain float32 NCHW path (autograd, CUDA). */
export function computeFor(device: string, o: Pick<SynthesisOptions, 'precision' | 'channelsLast'>): Compute | undefined {
  if (o.precision !== undefined && !PRECISIONS.includes(o.precision)) throw new Error(`precision must be one of ${PRECISIONS.join(', ')}, got '${String(o.precision)}'`);
  if (E.isGradEnabled() || !device.startsWith('cpu')) return undefined;
  return { dtype: o.precision === 'bf16' ? 'bfloat16' : 'float32', format: o.channelsLast ?? true ? 'channels_last' : 'contiguous' };
}

/** The per-layer inputs of a forward pass: layer i's dlatent [N, dlatentSize] and noise map (or null). */
export type LayerInputs = (layer: number) => LayerInput;

/** One resolution 2^res of the synthesis network: two synthesis layers and the ToRGB of that resolution. */
export class SynthesisBlock {
  readonly conv0: SynthesisLayer;
  readonly conv1: SynthesisLayer;
  readonly toRgb: ToRGB;

  /** The block of resolution 2^res (res = 2: the constant and a conv; above: upsampling conv and conv). */
  constructor(vars: Variables, cfg: StyleGANConfig, readonly res: number) {
    const size = `${2 ** res}x${2 ** res}`;
    const [cin, c] = [nf(cfg, Math.max(res - 2, 1)), nf(cfg, res - 1)];
    const first = 2 * res - 4;
    this.conv0 = res === 2
      ? new SynthesisLayer(vars, cfg, { scope: '4x4/Const', index: 0, input: 'const', cin: c, channels: c })
      : new SynthesisLayer(vars, cfg, { scope: `${size}/Conv0_up`, index: first, input: 'up', cin, channels: c, fused: isFused(cfg, 2 ** res) });
    this.conv1 = new SynthesisLayer(vars, cfg, { scope: `${size}/${res === 2 ? 'Conv' : 'Conv1'}`, index: first + 1, input: 'conv', cin: c, channels: c });
    this.toRgb = new ToRGB(vars, `ToRGB_lod${log2Resolution(cfg) - res}`, { cin: c, channels: cfg.numChannels });
  }

  get layers(): [SynthesisLayer, SynthesisLayer] {
    return [this.conv0, this.conv1];
  }

  /** Features from the resolution below (null for 4²) → this resolution's features and image. */
  forward(x: Tensor | null, inputs: LayerInputs): GrowthState {
    const run = (layer: SynthesisLayer, input: Tensor | null) => layer.forward(input, inputs(layer.index));
    const y = run(this.conv1, run(this.conv0, x));
    return { x: y, img: this.toRgb.forward(y) };
  }
}

/** G_synthesis: dlatents [N, numLayers, dlatentSize] → images, one block per resolution. */
export class SynthesisNetwork extends Network {
  readonly numLayers: number;
  readonly resolutionLog2: number;
  /** Blocks from 4² up (blocks[i] has resolution 2^(i+2)). */
  readonly blocks: SynthesisBlock[] = [];

  constructor(readonly cfg: StyleGANConfig, seed = 0, device = 'cpu') {
    super(seed, device);
    const R = log2Resolution(cfg);
    this.resolutionLog2 = R;
    this.numLayers = numStyleLayers(cfg);
    const v = this.vars;
    v.add('lod', E.zeros([]), { trainable: false });
    for (let i = 0; i < this.numLayers; i++) v.add(`noise${i}`, v.randn([1, 1, noiseSize(i), noiseSize(i)]), { trainable: false });
    for (let res = 2; res <= R; res++) this.blocks.push(new SynthesisBlock(v, cfg, res));
  }

  /** Every synthesis layer in order of its style index. */
  get layers(): SynthesisLayer[] {
    return this.blocks.flatMap((b) => b.layers);
  }

  /** The noise map of layer i for a batch of n, or null for none. */
  noiseFor(i: number, { n, spec, generator }: { n: number; spec: NoiseSpec; generator?: Generator }): Tensor | null {
    const entry = typeof spec === 'string' ? spec : spec[i] ?? null;
    if (entry === null || entry === 'none') return null;
    if (entry === 'const') return this.vars.get(`noise${i}`);
    const s = noiseSize(i);
    if (entry === 'random') return E.randn([n, 1, s, s], { generator, device: this.device });
    if (entry.ndim !== 4 || entry.shape[1] !== 1 || entry.shape[2] !== s || entry.shape[3] !== s) {
      throw new Error(`noise for layer ${i} must be [N|1, 1, ${s}, ${s}], got [${entry.shape.join(', ')}]`);
    }
    return entry;
  }

  /** dlatents [N, numLayers, dlatentSize] → images [N, C, H, W] in ≈[−1, 1]. */
  forward(dlatents: Tensor, o: SynthesisOptions = {}): Tensor {
    const [n, layers] = dlatents.shape as [number, number, number];
    if (dlatents.ndim !== 3 || layers !== this.numLayers || dlatents.shape[2] !== this.cfg.dlatentSize) {
      throw new Error(`G_synthesis: dlatents must be [N, ${this.numLayers}, ${this.cfg.dlatentSize}], got [${dlatents.shape.join(', ')}]`);
    }
    const spec = o.noise ?? 'random';
    const R = this.resolutionLog2;
    const { lod, workRes } = resolveLod(o.lod ?? this.vars.get('lod').item(), R);
    const compute = computeFor(this.device, o);
    const chunk = compute ? this.inferenceChunk(workRes, { compute, maxBytes: o.maxActivationBytes ?? INFERENCE_CHUNK_BYTES }) : n;
    if (chunk < n) return this.forwardInChunks(dlatents, o, { chunk, workRes });
    const inputs: LayerInputs = (i) => ({ w: dlatents.select(1, i), noise: this.noiseFor(i, { n, spec, generator: o.generator }), compute });
    return E.tidy(() => {
      const first = E.tidy(() => this.blocks[0]!.forward(null, inputs));
      const img = growOutput(first, (res, x) => this.blocks[res - 2]!.forward(x, inputs), { lod, R, workRes, native: o.native ?? false });
      return compute ? img.to('float32').contiguous() : img;
    });
  }

  /**
   * Images per pass in CPU inference: as many as keep the largest activation within `maxBytes`. At 1024² one
   * fp32 activation is 64 MiB per image, so a batch of 8 would make 512 MiB ones, which overflow the CPU allocator's
   * cache and pay fresh page faults on every layer; two at a time run as fast per image as one.
   */
  private inferenceChunk(workRes: number, { compute, maxBytes }: { compute: Compute; maxBytes: number }): number {
    const bytes = compute.dtype === 'bfloat16' ? 2 : 4;
    let perImage = 0;
    for (let res = 2; res <= workRes; res++) perImage = Math.max(perImage, nf(this.cfg, res - 1) * 4 ** res * bytes);
    return Math.max(1, Math.floor(maxBytes / perImage));
  }

  /**
   * A large inference batch `chunk` images at a time. Each image goes through the network on its own, and the noise is
   * drawn for the whole batch first, layer by layer as one pass draws it, so the images are those of a single pass (up
   * to float rounding: a convolution may pick another kernel for another batch size).
   */
  private forwardInChunks(dlatents: Tensor, o: SynthesisOptions, { chunk, workRes }: { chunk: number; workRes: number }): Tensor {
    const n = dlatents.shape[0]!;
    const spec = o.noise ?? 'random';
    return E.tidy(() => {
      const layersRun = 2 * (workRes - 1);
      const noise = Array.from({ length: this.numLayers }, (_, i) => (i < layersRun ? this.noiseFor(i, { n, spec, generator: o.generator }) : null));
      const parts: Tensor[] = [];
      for (let start = 0; start < n; start += chunk) {
        const k = Math.min(chunk, n - start);
        const rows = noise.map((t) => (t === null ? 'none' : t.shape[0] === 1 ? t : t.narrow(0, start, k)));
        parts.push(this.forward(dlatents.narrow(0, start, k), { ...o, noise: rows }));
      }
      return E.cat(parts, 0);
    });
  }
}
