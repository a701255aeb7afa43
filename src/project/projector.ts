/**
 * Projection of an image into a StyleGAN's latent space, as stylegan2-ada-pytorch's projector.py does it: start at
 * the average w (of 10k samples; of the chosen class on conditional networks), then `steps` Adam steps (β = 0.9,
 * 0.999) on w and on the noise maps with
 *   - learning rate 0.1 · ramp, ramp = ½ − ½cos(π · min(1, (1 − t)/0.25)) · min(1, t/0.05), t = step / steps;
 *   - Gaussian noise added to w, σ = σ_w · 0.05 · max(0, 1 − t/0.75)², σ_w the spread of the sampled ws;
 *   - loss = distance + 10⁵ · noise regularisation (squared autocorrelation at one-pixel shifts, over the pyramid of
 *     2×2-averaged maps down to 8²), noise maps renormalised to zero mean and unit variance after every step;
 *   - distance = the LPIPS distance in vgg16.pt (images scaled to 0…255, area-downsampled to 256² when larger), or
 *     with loss 'mse' the mean squared pixel error in [−1, 1] (no VGG file needed).
 * Options beyond the official script: space 'w+' optimises one w per synthesis layer; noise 'const' keeps the
 * network's stored noise maps fixed (so the projected dlatents alone reproduce the result through `generate
 * --dlatents`) instead of optimising fresh random maps ('optimize', the official behaviour).
 *
 * The loop yields to the event loop between steps, reports each step through `onStep`, and stops with an AbortError
 * when `signal` is aborted.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { StyleGANGenerator } from '../nets/stylegan.js';
import { noiseSize } from '../nets/config.js';
import { requireStyleGAN, type AnyGenerator } from '../gen/render.js';
import { wStatistics } from '../gen/w-average.js';
import { ScriptedNetwork } from '../nn/scripted.js';

export type ProjectionSpace = 'w' | 'w+';
export type ProjectionLoss = 'lpips' | 'mse';
export type ProjectionNoise = 'optimize' | 'const';

export interface ProjectStep {
  step: number;
  steps: number;
  /** The distance term (LPIPS or MSE) of this step. */
  loss: number;
  /** The current dlatents [1, numLayers, dlatentSize] (without the w noise); valid during the callback only. */
  dlatents: Tensor;
}

export interface ProjectOptions {
  steps?: number;
  space?: ProjectionSpace;
  loss?: ProjectionLoss;
  /** vgg16.pt (or a stand-in with its call); required for loss 'lpips'. */
  vggPath?: string;
  /** Class of a conditional network. */
  classIndex?: number;
  /** Seed of the initial noise maps and the w noise (default 303, the official script's). */
  seed?: number;
  noise?: ProjectionNoise;
  /** Samples for the w statistics (default 10,000). */
  wAvgSamples?: number;
  initialLearningRate?: number;
  initialNoiseFactor?: number;
  lrRampdownLength?: number;
  lrRampupLength?: number;
  noiseRampLength?: number;
  regularizeNoiseWeight?: number;
  signal?: AbortSignal;
  onStep?: (s: ProjectStep) => void | Promise<void>;
}

export interface ProjectResult {
  /** [1, numLayers, dlatentSize] on the network's device. */
  dlatents: Tensor;
  /** The last step's distance. */
  loss: number;
  /** The noise maps the result was rendered with (one [1, 1, s, s] per layer). */
  noise: Tensor[];
}

/** The official learning rate of step `step` of `steps`. */
export function projectionLearningRate(step: number, steps: number, o: ProjectOptions = {}): number {
  const t = step / steps;
  let ramp = Math.min(1, (1 - t) / (o.lrRampdownLength ?? 0.25));
  ramp = 0.5 - 0.5 * Math.cos(ramp * Math.PI);
  ramp *= Math.min(1, t / (o.lrRampupLength ?? 0.05));
  return (o.initialLearningRate ?? 0.1) * ramp;
}

/** Σ over the noise pyramid of squared mean products with one-pixel shifts (projector.py's regulariser). */
export function noiseRegularization(maps: readonly Tensor[]): Tensor {
  return E.tidy(() => {
    let reg = E.zeros([], { device: maps[0]!.device });
    for (const m of maps) {
      let x = m;
      for (;;) {
        reg = reg.add(x.mul(x.roll([1], [3])).mean().square()).add(x.mul(x.roll([1], [2])).mean().square());
        if (x.shape[2]! <= 8) break;
        x = E.avgPool2d(x, 2);
      }
    }
    return reg;
  });
}

/** Images in [−1, 1] → what the LPIPS network takes: 0…255, area-downsampled to 256² when larger. */
function vggInput(img: Tensor): Tensor {
  const x = img.add(1).mul(255 / 2);
  const size = x.shape[2]!;
  return size > 256 ? E.avgPool2d(x, size / 256) : x;
}

function checkTarget(G: StyleGANGenerator, target: Tensor): void {
  const want = [G.cfg.numChannels, G.cfg.resolution, G.cfg.resolution];
  if (target.ndim !== 3 || target.shape.some((s, i) => s !== want[i])) {
    throw new Error(`projection target must be [${want.join(', ')}] (the network's channels and resolution), got [${target.shape.join(', ')}]`);
  }
}

/** Projects `target` ([C, H, W] in [−1, 1] at the network's resolution) into W or W+ (see the module comment). */
export async function project(net: AnyGenerator | { G: AnyGenerator }, target: Tensor, opts: ProjectOptions = {}): Promise<{ dlatents: Tensor; loss: number }> {
  const r = await projectWithNoise(net, target, opts);
  E.disposeAll(r.noise);
  return { dlatents: r.dlatents, loss: r.loss };
}

/** `project`, also returning the noise maps the result renders with. */
export async function projectWithNoise(net: AnyGenerator | { G: AnyGenerator }, target: Tensor, opts: ProjectOptions = {}): Promise<ProjectResult> {
  const G = requireStyleGAN('G' in net ? net.G : net, 'projection');
  checkTarget(G, target);
  const steps = opts.steps ?? 1000;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`projection steps must be an integer ≥ 1, got ${steps}`);
  const space = opts.space ?? 'w';
  const lossKind = opts.loss ?? 'lpips';
  const noiseKind = opts.noise ?? 'optimize';
  if (lossKind === 'lpips' && !opts.vggPath) throw new Error("projection with loss 'lpips' needs the VGG16 file (vggPath); use loss 'mse' without it");
  const L = G.numLayers;
  const D = G.cfg.dlatentSize;
  const device = G.synthesis.device;
  const { avg, std: wStd } = wStatistics(G, { classIndex: G.cfg.labelSize > 0 ? opts.classIndex ?? null : opts.classIndex, samples: opts.wAvgSamples });
  const vgg = lossKind === 'lpips' ? ScriptedNetwork.load(opts.vggPath!, { resize_images: false, return_lpips: true }, device) : null;
  const gen = new E.Generator(opts.seed ?? 303);
  const frozen = G.parameters().filter((p) => p.requiresGrad);
  for (const p of frozen) p.requiresGrad_(false);
  const owned: Tensor[] = [];
  const own = <T extends Tensor>(t: T): T => (owned.push(E.keep(t)), t);
  try {
    const targetImages = own(E.tidy(() => target.to(device).to('float32').unsqueeze(0)));
    const targetFeatures = vgg ? own(E.tidy(() => E.noGrad(() => vgg.run(vggInput(targetImages))))) : null;
    const rows = space === 'w+' ? L : 1;
    const wOpt = own(E.tidy(() => E.fromTypedArray(avg, [1, 1, D]).repeat(1, rows, 1).to(device).contiguous()).requiresGrad_(true));
    const noise = Array.from({ length: L }, (_, i) => own(E.tidy(() =>
      noiseKind === 'optimize' ? E.randn([1, 1, noiseSize(i), noiseSize(i)], { generator: gen }).to(device) : G.synthesis.vars.get(`noise${i}`).clone())));
    if (noiseKind === 'optimize') for (const n of noise) n.requiresGrad_(true);
    const optimizer = new E.Adam(noiseKind === 'optimize' ? [wOpt, ...noise] : [wOpt], { lr: opts.initialLearningRate ?? 0.1, beta1: 0.9, beta2: 0.999 });
    let loss = NaN;
    try {
      for (let step = 0; step < steps; step++) {
        opts.signal?.throwIfAborted();
        const t = step / steps;
        const wNoiseScale = wStd * (opts.initialNoiseFactor ?? 0.05) * Math.max(0, 1 - t / (opts.noiseRampLength ?? 0.75)) ** 2;
        optimizer.lr = projectionLearningRate(step, steps, opts);
        loss = E.tidy(() => {
          const wNoise = E.randn(wOpt.shape, { generator: gen }).to(device).mul(wNoiseScale);
          const ws = wOpt.add(wNoise).expand(1, L, D);
          const synth = G.synthesis.forward(ws, { noise });
          const dist = vgg ? targetFeatures!.sub(vgg.run(vggInput(synth))).square().sum() : synth.sub(targetImages).square().mean();
          const total = noiseKind === 'optimize' ? dist.add(noiseRegularization(noise).mul(opts.regularizeNoiseWeight ?? 1e5)) : dist;
          optimizer.zeroGrad();
          total.backward();
          optimizer.step();
          return dist.item();
        });
        optimizer.zeroGrad();
        if (noiseKind === 'optimize') {
          E.noGrad(() => E.tidy(() => {
            for (const n of noise) {
              n.copy_(n.sub(n.mean()));
              n.mul_(n.square().mean().rsqrt());
            }
          }));
        }
        if (opts.onStep) {
          const dlatents = E.tidy(() => wOpt.detach().expand(1, L, D).contiguous());
          try {
            await opts.onStep({ step, steps, loss, dlatents });
          } finally {
            dlatents.dispose();
          }
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      optimizer.dispose();
    }
    const dlatents = E.tidy(() => wOpt.detach().expand(1, L, D).contiguous());
    return { dlatents, loss, noise: noise.map((n) => E.tidy(() => n.detach().clone())) };
  } finally {
    for (const p of frozen) p.requiresGrad_(true);
    E.disposeAll(owned);
    vgg?.dispose();
  }
}
