/**
 * Generation throughput and memory: `generateImages` (seeds → z as numpy, mapping, truncation ψ 0.7 on the layers
 * below 8, fresh random noise, synthesis, uint8 images) on the official StyleGAN architecture with random weights,
 * against PyTorch's Gs forward on the same architecture (bench/py/nets_bench.py, case `stylegan_g_fwd_<res>_b<batch>`),
 * with the same threads, in one run. Each PyTorch case runs in its own process (bench/py/peak_rss.py) so that its peak
 * resident set size is its own; ours run largest first in this process, so the peak after a largest-resolution case is
 * that case's. The memory table sets the peaks beside the weights and the activations of one forward pass.
 *
 * Run: `node dist/bench/main.js generate [--res 1024,256] [--batch 1,8] [--iters 1] [--json]` (`npm run bench:generate`).
 */
import * as E from '../src/engine/index.js';
import { StyleGANGenerator, styleganConfig, nf, type StyleGANConfig } from '../src/nets/index.js';
import { generateImages } from '../src/gen/index.js';
import {
  compareWithPeer, flagArgs, peerScript, printReport, runOurSide, runPeerScript, timeCases,
  type BenchCase, type BenchReport, type CaseTiming, type CompareOptions, type PeerOutcome,
} from './compare.js';

export interface GenerateBenchConfig {
  /** Resolutions (official StyleGAN config at each) and batch sizes; every combination. */
  res: readonly number[];
  batch: readonly number[];
}

export const DEFAULT_CONFIG: GenerateBenchConfig = { res: [1024, 256], batch: [1, 8] };

export interface GenerateBenchOptions extends CompareOptions {
  config: GenerateBenchConfig;
}

/** Bytes: the network's variables, and the activations of one forward pass at a batch size. */
export interface MemoryModel {
  weights_bytes: number;
  /** The largest single activation tensor (a layer output at full resolution). */
  largest_activation_bytes: number;
  /** Every synthesis layer's output (conv, blur for Conv0_up, epilogue) and the ToRGB outputs, summed. */
  all_activations_bytes: number;
}

export interface CaseMemory {
  model: MemoryModel;
  stylegan_ts: { baseline_rss_bytes: number; peak_rss_bytes: number } | null;
  pytorch: { baseline_rss_bytes: number; peak_rss_bytes: number } | null;
}

export type GenerateBenchReport = BenchReport<'generate'> & { config: GenerateBenchConfig; memory: Record<string, CaseMemory> };

export const NETS_PEER = peerScript('nets_bench.py');
export const RSS_WRAPPER = peerScript('peak_rss.py');

const caseName = (res: number, batch: number) => `stylegan_g_fwd_${res}_b${batch}`;

/** Cases largest resolution first, then by batch (so a peak measured after a case belongs to it at the top size). */
export function caseList(c: GenerateBenchConfig): { name: string; res: number; batch: number }[] {
  for (const [what, list] of Object.entries({ resolution: c.res, batch: c.batch })) {
    const bad = list.filter((v) => !Number.isInteger(v) || v < 1);
    if (bad.length || list.length === 0) throw new Error(`bench generate: ${what} must be a list of integers >= 1, got '${list.join(',')}'`);
  }
  const res = [...c.res].sort((a, b) => b - a);
  const batch = [...c.batch].sort((a, b) => a - b);
  return res.flatMap((r) => batch.map((b) => ({ name: caseName(r, b), res: r, batch: b })));
}

/** Weights and forward-pass activations of the official StyleGAN G at a batch size (float32). */
export function memoryModel(cfg: StyleGANConfig, batch: number): MemoryModel {
  const G = new StyleGANGenerator(cfg);
  const weights = [...G.stateDict().values()].reduce((a, t) => a + t.numel * 4, 0);
  G.dispose();
  const R = Math.log2(cfg.resolution);
  let all = 0;
  let largest = 0;
  const add = (elements: number) => {
    all += elements * 4 * batch;
    largest = Math.max(largest, elements * 4 * batch);
  };
  for (let r = 2; r <= R; r++) {
    const [c, s] = [nf(cfg, r - 1), (2 ** r) ** 2];
    add(c * s); // conv output (or the const at 4²)
    if (r > 2) add(c * s); // blur after the upsampling conv
    add(c * s); // epilogue output of the first layer
    add(c * s); // second conv
    add(c * s); // epilogue output of the second layer
    add(cfg.numChannels * s); // ToRGB
  }
  return { weights_bytes: weights, largest_activation_bytes: largest, all_activations_bytes: all };
}

/** Our side of one case: `generateImages` on `batch` new seeds per call, as the official Gs samples. */
function generateCase(res: number, batch: number, device: string, seed: number, memory: Map<string, CaseMemory['stylegan_ts']>): BenchCase {
  const baseline = E.memoryStats().rss;
  const cfg = styleganConfig({ resolution: res });
  const G = new StyleGANGenerator(cfg, seed, device);
  let next = 0;
  const o = { truncationPsi: cfg.truncationPsi, truncationCutoff: cfg.truncationCutoff, noiseMode: 'random', batch } as const;
  return {
    step: () => generateImages(G, { seeds: Array.from({ length: batch }, () => next++) }, o),
    config: {
      net: 'stylegan', resolution: res, batch, params: G.numParams(), grad: false, truncation_psi: o.truncationPsi,
      truncation_cutoff: o.truncationCutoff, randomize_noise: true, output: 'uint8 NHWC (generateImages)',
    },
    batch,
    dispose: () => {
      memory.set(caseName(res, batch), { baseline_rss_bytes: baseline, peak_rss_bytes: process.resourceUsage().maxRSS * 1024 });
      G.dispose();
    },
  };
}

/** The peer's arguments for one case (through the RSS wrapper). */
export function peerArgs(o: GenerateBenchOptions, res: number, batch: number): string[] {
  return [RSS_WRAPPER, NETS_PEER, ...flagArgs({
    threads: o.threads, device: o.device, iters: o.iters, warmup: o.warmup, seed: o.seed, nets: 'stylegan',
    'g-res': res, 'g-batch': batch, 'd-res': '', 'd-batch': '',
  })];
}

/** Runs the peer once per case and merges the reports; the first failure ends it. */
function runPeer(o: GenerateBenchOptions, cases: ReturnType<typeof caseList>): { outcome: PeerOutcome; memory: Map<string, CaseMemory['pytorch']> } {
  const memory = new Map<string, CaseMemory['pytorch']>();
  const results: Record<string, CaseTiming> = {};
  let env: Record<string, unknown> = {};
  for (const c of cases) {
    const r = runPeerScript(o, peerArgs(o, c.res, c.batch), [c.name]);
    if (r.status !== 'ok') return { outcome: r, memory };
    results[c.name] = r.report.results[c.name]!;
    const { baseline_rss_bytes: baseline, peak_rss_bytes: peak, ...rest } = r.report.env as Record<string, number>;
    memory.set(c.name, { baseline_rss_bytes: baseline!, peak_rss_bytes: peak! });
    env = rest;
  }
  return { outcome: { status: 'ok', report: { env, results } }, memory };
}

export function runGenerateBench(o: GenerateBenchOptions): GenerateBenchReport {
  const cases = caseList(o.config);
  const ours = new Map<string, CaseMemory['stylegan_ts']>();
  const byName = new Map(cases.map((c) => [c.name, c]));
  const timed = runOurSide(o, () => timeCases(cases.map((c) => c.name), (name) => {
    const c = byName.get(name)!;
    return generateCase(c.res, c.batch, o.device, o.seed, ours);
  }, o));
  const peer = runPeer(o, cases);
  const memory: Record<string, CaseMemory> = {};
  for (const c of cases) {
    memory[c.name] = { model: memoryModel(styleganConfig({ resolution: c.res }), c.batch), stylegan_ts: ours.get(c.name) ?? null, pytorch: peer.memory.get(c.name) ?? null };
  }
  const report = compareWithPeer('generate', timed, peer.outcome, o, peerArgs(o, cases[0]!.res, cases[0]!.batch));
  return { ...report, config: o.config, memory };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Peak RSS and its growth over the baseline, per case at the largest resolution, beside the memory model. */
export function formatMemory(r: GenerateBenchReport): string {
  const top = Math.max(...r.config.res);
  const rows = [['case', 'weights', 'largest act.', 'all act.', 'stylegan-ts peak (+growth)', 'PyTorch peak (+growth)']];
  for (const [name, m] of Object.entries(r.memory)) {
    if (!name.startsWith(`stylegan_g_fwd_${top}_`)) continue;
    const side = (s: CaseMemory['pytorch']) => (s ? `${mib(s.peak_rss_bytes)} (+${mib(s.peak_rss_bytes - s.baseline_rss_bytes)})` : '—');
    rows.push([name, mib(m.model.weights_bytes), mib(m.model.largest_activation_bytes), mib(m.model.all_activations_bytes), side(m.stylegan_ts), side(m.pytorch)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   '));
  return [`memory at ${top}² (resident set size; growth = peak − RSS before the network was built):`, ...lines].join('\n');
}

/** `node dist/bench/main.js generate`: runs, prints both tables (and the JSON report as one line with `json`). */
export function generateBench(o: GenerateBenchOptions & { json: boolean }): GenerateBenchReport {
  const report = runGenerateBench(o);
  printReport(report, false);
  console.log(`\n${formatMemory(report)}`);
  if (o.json) console.log(JSON.stringify(report));
  return report;
}
