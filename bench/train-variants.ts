/**
 * The StyleGAN training step (bench/train.ts's case: the trainer's D step with R1, Gs update, G step) in several
 * variants on the same networks, interleaved round by round so that a machine whose load changes during the run
 * affects every variant alike:
 *
 *   fp32 unfused   float32, the synthesis epilogue as separate differentiable ops
 *   fp32 fused     float32, the epilogue as one native autograd function (E.fusedEpilogue)
 *   bf16 unfused   bf16 mixed precision (src/nn/autocast.ts), separate ops
 *   bf16 fused     bf16 mixed precision, the fused epilogue
 *
 * Each round runs `steps` steps of every variant in turn (the order rotates per round); the report is the median
 * step time per variant over all timed steps and its ratio to fp32 unfused. Weights change as the steps train them,
 * which every variant sees alike. Run: `node dist/bench/main.js train-variants [--res 32,64,128] [--rounds 4]`.
 */
import { performance } from 'node:perf_hooks';
import * as E from '../src/engine/index.js';
import { trainingEpilogue } from '../src/nets/synthesis-layer.js';
import { instanceNorm, styleMod, applyNoise, lrelu } from '../src/nn/ops.js';
import { trainingStepCase, defaultBatch, WIDTHS, type WidthsName } from './train.js';

export interface Variant {
  name: string;
  precision: 'fp32' | 'bf16';
  fused: boolean;
}

export const VARIANTS: Variant[] = [
  { name: 'fp32 unfused', precision: 'fp32', fused: false },
  { name: 'fp32 fused', precision: 'fp32', fused: true },
  { name: 'bf16 unfused', precision: 'bf16', fused: false },
  { name: 'bf16 fused', precision: 'bf16', fused: true },
];

export interface TrainVariantsOptions {
  res: readonly number[];
  widths: WidthsName;
  batch: number | null;
  rounds: number;
  steps: number;
  warmup: number;
  threads: number;
  variants: readonly Variant[];
  progress?: (line: string) => void;
}

export type VariantTimes = Record<string, { msPerStep: number; ratio: number; steps: number }>;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Times the variants at one resolution, interleaved. */
export function timeVariants(resolution: number, o: TrainVariantsOptions): VariantTimes {
  const batch = o.batch ?? defaultBatch(o.widths, resolution, 'cpu');
  const c = E.tidy(() => trainingStepCase(resolution, o.widths, batch, true, 'cpu'));
  const times = new Map<string, number[]>(o.variants.map((v) => [v.name, []]));
  const setting = trainingEpilogue.fused;
  try {
    const run = (v: Variant, timed: boolean) => {
      c.ctx.precision = v.precision;
      trainingEpilogue.fused = v.fused;
      const t0 = performance.now();
      E.tidy(() => c.step());
      if (timed) times.get(v.name)!.push(performance.now() - t0);
    };
    for (const v of o.variants) for (let i = 0; i < o.warmup; i++) run(v, false);
    for (let r = 0; r < o.rounds; r++) {
      o.progress?.(`${resolution}²: round ${r + 1}/${o.rounds}`);
      for (let k = 0; k < o.variants.length; k++) {
        const v = o.variants[(k + r) % o.variants.length]!;
        for (let i = 0; i < o.steps; i++) run(v, true);
      }
    }
  } finally {
    trainingEpilogue.fused = setting;
    c.dispose?.();
  }
  const base = median(times.get(o.variants[0]!.name)!);
  return Object.fromEntries(o.variants.map((v) => {
    const m = median(times.get(v.name)!);
    return [v.name, { msPerStep: m, ratio: m / base, steps: times.get(v.name)!.length }];
  }));
}

/**
 * The epilogue alone at the top synthesis layer of `resolution` (its channels under the width preset), forward +
 * backward w.r.t. x, strength, bias and style: [separate ops ms, fused ms], medians of interleaved calls.
 */
export function timeEpilogue(resolution: number, o: TrainVariantsOptions): [number, number] {
  const batch = o.batch ?? defaultBatch(o.widths, resolution, 'cpu');
  const w = WIDTHS[o.widths];
  const c = Math.min(Math.floor(w.fmapBase / 2 ** (Math.log2(resolution) - 1)), w.fmapMax);
  const g = new E.Generator(0);
  const [x, noise, strength, bias, style] = E.tidy(() => [[batch, c, resolution, resolution], [batch, 1, resolution, resolution], [c], [c], [batch, 2 * c]]
    .map((s) => E.keep(E.randn(s, { generator: g }))));
  const separate = (i: E.Tensor[]) => styleMod(instanceNorm(lrelu(applyNoise(i[0]!, noise!, i[1]!).add(i[2]!.reshape(1, -1, 1, 1)))), i[3]!);
  const fused = (i: E.Tensor[]) => E.fusedEpilogue(i[0]!, { noise: { map: noise!, strength: i[1]! }, bias: i[2]!, instanceNorm: true, style: i[3]! });
  const times: [number[], number[]] = [[], []];
  try {
    for (let r = 0; r < 2 * o.rounds + 2; r++) {
      [separate, fused].forEach((f, k) => E.tidy(() => {
        const inputs = [x!, strength!, bias!, style!].map((t) => t.detach().requiresGrad_(true));
        const t0 = performance.now();
        E.grad(f(inputs).sum(), inputs);
        if (r >= 2) times[k].push(performance.now() - t0);
      }));
    }
  } finally {
    for (const t of [x, noise, strength, bias, style]) t!.dispose();
  }
  return [median(times[0]), median(times[1])];
}

/** Runs every resolution and prints one table (ms per step, ratio to the first variant). */
export function trainVariantsBench(o: TrainVariantsOptions & { json: boolean }): Record<number, VariantTimes> {
  E.setNumThreads(o.threads);
  if (!(o.widths in WIDTHS)) throw new Error(`bench train-variants: unknown widths ${o.widths}; known: ${Object.keys(WIDTHS).join(', ')}`);
  const out: Record<number, VariantTimes> = {};
  const names = o.variants.map((v) => v.name);
  process.stdout.write(`| case | ${names.map((n) => `${n} ms (×)`).join(' | ')} |\n|---|${names.map(() => '---').join('|')}|\n`);
  for (const r of o.res) {
    // Each row as soon as its resolution is done.
    const t = out[r] = timeVariants(r, o);
    const batch = o.batch ?? defaultBatch(o.widths, r, 'cpu');
    const cells = names.map((n) => `${t[n]!.msPerStep.toFixed(0)} (${t[n]!.ratio.toFixed(2)})`);
    process.stdout.write(`| train_${r}_${o.widths}_b${batch} | ${cells.join(' | ')} |\n`);
  }
  process.stdout.write('\n| epilogue alone (top layer), forward + backward | separate ops ms | fused ms (×) |\n|---|---|---|\n');
  const epilogue: Record<number, [number, number]> = {};
  for (const r of o.res) {
    const [a, b] = epilogue[r] = timeEpilogue(r, o);
    process.stdout.write(`| ${r}² | ${a.toFixed(1)} | ${b.toFixed(1)} (${(b / a).toFixed(2)}) |\n`);
  }
  if (o.json) process.stdout.write(`${JSON.stringify({ bench: 'train-variants', threads: o.threads, rounds: o.rounds, steps: o.steps, results: out, epilogue })}\n`);
  return out;
}
