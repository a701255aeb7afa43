/**
 * Whole-network benchmarks: stylegan-ts against PyTorch (bench/py/nets_bench.py, whose header describes the cases)
 * on the networks in the official default configuration (fmap_base 8192, fmap_max 512, latent 512, mapping 8 × 512),
 * freshly initialized, with the same threads, in one run:
 *
 *   <net>_g_fwd_<res>_b<batch>      G(z) without grad, z ~ N(0, 1) drawn anew each call. StyleGAN: Gs at inference,
 *                                   truncation ψ 0.7 on the layers below 8 around dlatent_avg, fresh random noise.
 *   <net>_d_fwd_bwd_<res>_b<batch>  scores = D(x) for a fixed x ~ N(0, 1), then the gradients of scores.sum() with
 *                                   respect to every D parameter (returned, not accumulated), minibatch stddev group 4.
 *
 * Run: `node dist/bench/main.js nets [--quick] [--nets stylegan] [--g-res 256] [--g-batch 1] [--json]`, or `npm run bench:nets`.
 */
import * as E from '../src/engine/index.js';
import {
  Discriminator, ProGANGenerator, StyleGANGenerator, proganConfig, styleganConfig, type NetworkConfig,
} from '../src/nets/index.js';
import {
  compareWithPeer, flagArgs, peerScript, printReport, runOurSide, runPeerScript, timeCases,
  type BenchCase, type BenchReport, type CaseTiming, type CompareOptions, type PeerOutcome,
} from './compare.js';

export const NETS = ['stylegan', 'progan'] as const;
export type NetName = (typeof NETS)[number];

export interface NetsBenchConfig {
  nets: readonly string[];
  /** G resolutions and batch sizes (every combination). */
  gRes: readonly number[];
  gBatch: readonly number[];
  /** D resolutions and batch sizes (every combination). */
  dRes: readonly number[];
  dBatch: readonly number[];
  /** The peer's --quick (1 warm-up, 1 timed call per case); the flag is passed on, `iters` / `warmup` agree with it. */
  quick: boolean;
}

export const DEFAULT_CONFIG: NetsBenchConfig = { nets: NETS, gRes: [1024, 256], gBatch: [1, 8], dRes: [64], dBatch: [16], quick: false };
/** --quick: a 1024² forward takes seconds on 2 CPU cores. */
export const QUICK = { warmup: 1, iters: 1 };

export interface NetsBenchOptions extends CompareOptions {
  config: NetsBenchConfig;
}

export type NetsBenchReport = BenchReport<'nets'> & { config: NetsBenchConfig };

export const PEER_SCRIPT = peerScript('nets_bench.py');

/** The official default architecture of `net` at `resolution`. */
export function officialConfig(net: NetName, resolution: number): NetworkConfig {
  return net === 'stylegan' ? styleganConfig({ resolution }) : proganConfig({ resolution });
}

/**
 * G(z) without grad on a fresh z [batch, latent] per call; StyleGAN as the official Gs samples (ψ and cutoff of
 * the config, random noise). Builds G (seeded with `seed`); `dispose` frees it.
 */
export function generatorForwardCase(cfg: NetworkConfig, batch: number, device: string, seed = 0): BenchCase {
  const config: Record<string, unknown> = { net: cfg.arch, resolution: cfg.resolution, batch };
  if (cfg.arch === 'stylegan') {
    const G = new StyleGANGenerator(cfg, seed, device);
    const o = { truncationPsi: cfg.truncationPsi, truncationCutoff: cfg.truncationCutoff, noise: 'random' } as const;
    Object.assign(config, { params: G.numParams(), grad: false, truncation_psi: o.truncationPsi, truncation_cutoff: o.truncationCutoff, randomize_noise: true });
    return { step: () => E.noGrad(() => G.forward(E.randn([batch, cfg.latentSize], { device }), o)), config, batch, dispose: () => G.dispose() };
  }
  const G = new ProGANGenerator(cfg, seed, device);
  Object.assign(config, { params: G.numParams(), grad: false });
  return { step: () => E.noGrad(() => G.forward(E.randn([batch, cfg.latentSize], { device }))), config, batch, dispose: () => G.dispose() };
}

/** D(x) and the gradients of its summed scores for all D parameters; x is fixed. */
export function discriminatorForwardBackwardCase(cfg: NetworkConfig, batch: number, device: string, seed = 0): BenchCase {
  const D = new Discriminator(cfg, seed, device);
  const params = D.parameters();
  const x = E.keep(E.randn([batch, cfg.numChannels, cfg.resolution, cfg.resolution], { device }));
  return {
    step: () => E.grad(D.forward(x).sum(), params, { allowUnused: true }),
    config: {
      net: cfg.arch, resolution: cfg.resolution, batch, params: D.numParams(),
      grads: 'all D parameters used at lod 0 (FromRGB_lod1+ are unused)', mbstd_group_size: cfg.mbstdGroupSize,
    },
    batch,
    dispose: () => {
      D.dispose();
      x.dispose();
    },
  };
}

interface NamedCase {
  name: string;
  build: (device: string, seed: number) => BenchCase;
}

/** The selected cases in the peer's order: per net its G cases (resolution × batch), then its D cases. */
export function netCases(c: NetsBenchConfig): NamedCase[] {
  const unknown = c.nets.filter((n) => !(NETS as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`bench nets: unknown net(s) ${unknown.join(', ')}; known: ${NETS.join(', ')}`);
  const sizes = { 'G resolution': c.gRes, 'G batch': c.gBatch, 'D resolution': c.dRes, 'D batch': c.dBatch };
  for (const [what, list] of Object.entries(sizes)) {
    const bad = list.filter((v) => !Number.isInteger(v) || v < 1);
    if (bad.length) throw new Error(`bench nets: ${what} must be integers >= 1, got ${bad.join(', ')}`);
  }
  const cases: NamedCase[] = [];
  for (const net of c.nets as NetName[]) {
    for (const r of c.gRes) {
      for (const b of c.gBatch) cases.push({ name: `${net}_g_fwd_${r}_b${b}`, build: (d, s) => generatorForwardCase(officialConfig(net, r), b, d, s) });
    }
    for (const r of c.dRes) {
      for (const b of c.dBatch) cases.push({ name: `${net}_d_fwd_bwd_${r}_b${b}`, build: (d, s) => discriminatorForwardBackwardCase(officialConfig(net, r), b, d, s) });
    }
  }
  return cases;
}

/** Times the stylegan-ts side; every network and tensor it creates is freed again. */
export function runOurs(o: NetsBenchOptions): { results: Record<string, CaseTiming>; leaked: number } {
  const cases = netCases(o.config);
  const builders = new Map(cases.map((c) => [c.name, c.build]));
  return runOurSide(o, () => timeCases(cases.map((c) => c.name), (name) => builders.get(name)!(o.device, o.seed), o));
}

/** The peer's arguments (after the interpreter) for the same work as `o`. */
export function peerArgs(o: NetsBenchOptions): string[] {
  const c = o.config;
  return [PEER_SCRIPT, ...flagArgs({
    threads: o.threads, device: o.device, iters: o.iters, warmup: o.warmup, seed: o.seed, nets: c.nets.join(','),
    'g-res': c.gRes.join(','), 'g-batch': c.gBatch.join(','), 'd-res': c.dRes.join(','), 'd-batch': c.dBatch.join(','),
    quick: c.quick,
  })];
}

export const runPeer = (o: NetsBenchOptions): PeerOutcome => runPeerScript(o, peerArgs(o), netCases(o.config).map((c) => c.name));

/** Runs both sides (ours first, then the peer, never at the same time) and pairs the results. */
export function runNetsBench(o: NetsBenchOptions): NetsBenchReport {
  const ours = runOurs(o);
  return { ...compareWithPeer('nets', ours, runPeer(o), o, peerArgs(o)), config: o.config };
}

/** `node dist/bench/main.js nets`: runs, prints the table (and the JSON report as one line with `json`). */
export function netsBench(o: NetsBenchOptions & { json: boolean }): NetsBenchReport {
  const report = runNetsBench(o);
  printReport(report, o.json);
  return report;
}
