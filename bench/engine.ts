/**
 * Engine micro-benchmarks: stylegan-ts against PyTorch on the same work, with the same threads, in one run.
 * The TypeScript side builds exactly the graphs of bench/py/engine_bench.py (its header describes each case), then
 * spawns that script with the same shapes, device, threads, iterations and seed, and compares the medians.
 *
 * Run: `node dist/bench/main.js engine [--json]`, `npm run bench`.
 */
import * as E from '../src/engine/index.js';
import type { Tensor } from '../src/engine/index.js';
import {
  compareWithPeer, flagArgs, formatComparison, peerScript, printReport, runOurSide, runPeerScript, timeCases,
  type BenchReport, type CaseTiming, type CompareOptions, type PeerOutcome,
} from './compare.js';

export type { CaseTiming, PeerOutcome, PeerReport } from './compare.js';

export const CASES = ['conv3x3_fwd', 'conv3x3_fwd_bwd', 'mlp_fwd_bwd', 'r1_step', 'tiny_add'] as const;
export type CaseName = (typeof CASES)[number];

/** The work of every case; each field is one flag of the peer (see `peerArgs`). */
export interface EngineBenchConfig {
  /** x [batch, channels, size, size], weight [channels, channels, kernel, kernel], padding kernel/2, no bias. */
  conv: { batch: number; channels: number; size: number; kernel: number };
  /** `layers` × leaky_relu(linear(·), 0.2) of width `width` on a [batch, width] input. */
  mlp: { batch: number; width: number; layers: number };
  /** R1 step through a small D: per width conv3x3 + bias → leaky ReLU 0.2 → 2× average pool; then linear → 1. */
  r1: { batch: number; size: number; channels: number[]; gamma: number };
  /** a.add(b) calls on 1-element tensors per timed iteration. */
  tinyCalls: number;
}

export const DEFAULT_CONFIG: EngineBenchConfig = {
  conv: { batch: 8, channels: 128, size: 32, kernel: 3 },
  mlp: { batch: 64, width: 512, layers: 8 },
  r1: { batch: 16, size: 32, channels: [64, 128], gamma: 10 },
  tinyCalls: 10000,
};

export interface EngineBenchOptions extends CompareOptions {
  cases: readonly string[];
  config: EngineBenchConfig;
}

export type EngineBenchReport = BenchReport<'engine'> & { config: EngineBenchConfig };

export const PEER_SCRIPT = peerScript('engine_bench.py');
const LRELU_SLOPE = 0.2;

interface Case {
  step: () => unknown;
  config: Record<string, unknown>;
  tensors: Tensor[];
}

/** N(0, 1/fan_in) weights that require grad. */
function heNormal(shape: number[], fanIn: number, device: string): Tensor {
  return E.randn(shape, { device }).div(Math.sqrt(fanIn)).requiresGrad_(true);
}

function convCases(c: EngineBenchConfig['conv'], device: string): Record<'conv3x3_fwd' | 'conv3x3_fwd_bwd', Case> {
  const x = E.randn([c.batch, c.channels, c.size, c.size], { device, requiresGrad: true });
  const w = heNormal([c.channels, c.channels, c.kernel, c.kernel], c.channels * c.kernel * c.kernel, device);
  const gy = E.randn([c.batch, c.channels, c.size, c.size], { device });
  const padding = c.kernel >> 1;
  const config = { input: [c.batch, c.channels, c.size, c.size], weight: [c.channels, c.channels, c.kernel, c.kernel], padding, bias: false };
  const tensors = [x, w, gy];
  return {
    conv3x3_fwd: { step: () => E.noGrad(() => E.conv2d(x, w, null, { padding })), config: { ...config, grads: [] }, tensors },
    conv3x3_fwd_bwd: {
      step: () => E.grad(E.conv2d(x, w, null, { padding }), [x, w], { gradOutputs: [gy] }),
      config: { ...config, grads: ['input', 'weight'] },
      tensors,
    },
  };
}

function mlpCase(c: EngineBenchConfig['mlp'], device: string): Case {
  const x = E.randn([c.batch, c.width], { device });
  const params: Tensor[] = [];
  for (let i = 0; i < c.layers; i++) params.push(heNormal([c.width, c.width], c.width, device), E.zeros([c.width], { device, requiresGrad: true }));
  const g = E.randn([c.batch, c.width], { device });
  const step = () => {
    let y = x;
    for (let i = 0; i < c.layers; i++) y = E.linear(y, params[2 * i]!, params[2 * i + 1]!).leakyRelu(LRELU_SLOPE);
    return E.grad(y, params, { gradOutputs: [g] });
  };
  const config = { input: [c.batch, c.width], layers: c.layers, width: c.width, activation: 'leaky_relu 0.2', grads: 'all weights and biases' };
  return { step, config, tensors: [x, g, ...params] };
}

function r1Case(c: EngineBenchConfig['r1'], device: string): Case {
  const levels = c.channels.length;
  if (c.size % 2 ** levels !== 0) throw new Error(`bench engine: r1 size ${c.size} is not divisible by 2^${levels} (one 2× average pool per width)`);
  const params: Tensor[] = [];
  let cIn = 3;
  for (const width of c.channels) {
    params.push(heNormal([width, cIn, 3, 3], cIn * 9, device), E.zeros([width], { device, requiresGrad: true }));
    cIn = width;
  }
  const flat = cIn * (c.size / 2 ** levels) ** 2;
  params.push(heNormal([1, flat], flat, device), E.zeros([1], { device, requiresGrad: true }));
  const x = E.randn([c.batch, 3, c.size, c.size], { device, requiresGrad: true });

  const discriminator = (images: Tensor): Tensor => {
    let y = images;
    for (let i = 0; i < levels; i++) {
      y = E.avgPool2d(E.conv2d(y, params[2 * i]!, params[2 * i + 1]!, { padding: 1 }).leakyRelu(LRELU_SLOPE), 2);
    }
    return E.linear(y.flatten(1), params[params.length - 2]!, params[params.length - 1]!);
  };
  const step = () => {
    const scores = discriminator(x);
    const [g] = E.grad(scores.sum(), x, { createGraph: true });
    const r1 = g!.square().sum([1, 2, 3]);
    const loss = scores.select(1, 0).neg().softplus().add(r1.mul(c.gamma / 2)).mean();
    return E.grad(loss, params);
  };
  const config = { input: [c.batch, 3, c.size, c.size], channels: [3, ...c.channels], dense_in: flat, gamma: c.gamma,
    downsample: 'avg_pool2d(2)', activation: 'leaky_relu 0.2' };
  return { step, config, tensors: [x, ...params] };
}

function tinyCase(calls: number, device: string): Case {
  const a = E.ones([1], { device });
  const b = E.ones([1], { device });
  const step = () => {
    for (let i = 0; i < calls; i++) a.add(b);
  };
  return { step, config: { shape: [1], op: 'a.add(b)', calls_per_iter: calls }, tensors: [a, b] };
}

/** Builds the selected cases in the peer's order (so one seed draws the same streams on both sides). */
function buildCases(cases: readonly CaseName[], config: EngineBenchConfig, device: string): Map<CaseName, Case> {
  const built = new Map<CaseName, Case>();
  if (cases.includes('conv3x3_fwd') || cases.includes('conv3x3_fwd_bwd')) {
    for (const [name, c] of Object.entries(convCases(config.conv, device))) built.set(name as CaseName, c);
  }
  if (cases.includes('mlp_fwd_bwd')) built.set('mlp_fwd_bwd', mlpCase(config.mlp, device));
  if (cases.includes('r1_step')) built.set('r1_step', r1Case(config.r1, device));
  if (cases.includes('tiny_add')) built.set('tiny_add', tinyCase(config.tinyCalls, device));
  return built;
}

function checkCases(cases: readonly string[]): CaseName[] {
  const unknown = cases.filter((c) => !(CASES as readonly string[]).includes(c));
  if (unknown.length) throw new Error(`bench engine: unknown case(s) ${unknown.join(', ')}; known: ${CASES.join(', ')}`);
  if (cases.length === 0) throw new Error('bench engine: no cases selected');
  return cases as CaseName[];
}

/** Times the stylegan-ts side; every tensor it creates is freed again. */
export function runOurs(o: EngineBenchOptions): { results: Record<string, CaseTiming>; leaked: number } {
  const cases = checkCases(o.cases);
  return runOurSide(o, () => {
    const built = E.tidy(() => buildCases(cases, o.config, o.device));
    try {
      const timings = timeCases(cases, (name) => built.get(name as CaseName)!, o);
      const tiny = timings.results.tiny_add;
      if (tiny) tiny.us_per_call = (tiny.ms_per_iter * 1e3) / o.config.tinyCalls;
      return timings;
    } finally {
      for (const c of built.values()) E.disposeAll(c.tensors);
    }
  });
}

/** The peer's arguments (after the interpreter) for the same work as `o`. */
export function peerArgs(o: EngineBenchOptions): string[] {
  const c = o.config;
  return [PEER_SCRIPT, ...flagArgs({
    threads: o.threads, device: o.device, iters: o.iters, warmup: o.warmup, seed: o.seed, cases: o.cases.join(','),
    'conv-batch': c.conv.batch, 'conv-channels': c.conv.channels, 'conv-size': c.conv.size, 'conv-kernel': c.conv.kernel,
    'mlp-batch': c.mlp.batch, 'mlp-width': c.mlp.width, 'mlp-layers': c.mlp.layers,
    'r1-batch': c.r1.batch, 'r1-size': c.r1.size, 'r1-channels': c.r1.channels.join(','), 'r1-gamma': c.r1.gamma,
    'tiny-calls': c.tinyCalls,
  })];
}

/** Runs the PyTorch peer; a missing interpreter, torch or device makes it 'unavailable', anything else 'failed'. */
export const runPeer = (o: EngineBenchOptions): PeerOutcome => runPeerScript(o, peerArgs(o), o.cases);

/** Runs both sides (ours first, then the peer, never at the same time) and pairs the results. */
export function runEngineBench(o: EngineBenchOptions): EngineBenchReport {
  const ours = runOurs(o);
  return { ...compareWithPeer('engine', ours, runPeer(o), o, peerArgs(o)), config: o.config };
}

/** A median in ms, or per call for the overhead case. */
const showEngine = (x: CaseTiming) => (x.us_per_call !== undefined ? `${x.us_per_call.toFixed(2)} µs/call` : `${x.ms_per_iter.toFixed(2)} ms`);

/** The human-readable table: case, our median, PyTorch's median, PyTorch time / our time (> 1: we are faster). */
export const formatTable = (r: EngineBenchReport): string => formatComparison(r, showEngine);

/** `node dist/bench/main.js engine`: runs, prints the table (and the JSON report as one line with `json`). */
export function engineBench(o: EngineBenchOptions & { json: boolean }): EngineBenchReport {
  const report = runEngineBench(o);
  printReport(report, o.json, showEngine);
  return report;
}
