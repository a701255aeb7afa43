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
import { runPeerVariants, mergeVariants, measuredPeak, formatVariants, type VariantResults, type VariantRow } from './peer-variants.js';
import { styleganGFlopPerImage, proganGFlopPerImage } from './flops.js';
import type { Precision } from '../src/nets/synthesis.js';

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
export function generatorForwardCase(cfg: NetworkConfig, batch: number, device: string, seed = 0, precision: Precision = 'fp32'): BenchCase {
  const config: Record<string, unknown> = { net: cfg.arch, resolution: cfg.resolution, batch };
  if (cfg.arch === 'stylegan') {
    const G = new StyleGANGenerator(cfg, seed, device);
    const o = { truncationPsi: cfg.truncationPsi, truncationCutoff: cfg.truncationCutoff, noise: 'random', precision } as const;
    Object.assign(config, { params: G.numParams(), grad: false, truncation_psi: o.truncationPsi, truncation_cutoff: o.truncationCutoff, randomize_noise: true, precision });
    return { step: () => E.noGrad(() => G.forward(E.randn([batch, cfg.latentSize], { device }), o)), config, batch, dispose: () => G.dispose() };
  }
  const G = new ProGANGenerator(cfg, seed, device);
  Object.assign(config, { params: G.numParams(), grad: false, precision });
  return { step: () => E.noGrad(() => G.forward(E.randn([batch, cfg.latentSize], { device }), { precision })), config, batch, dispose: () => G.dispose() };
}

/** D(x) and the gradients of its summed scores for all D parameters; x is fixed. */
export function discriminatorForwardBackwardCase(cfg: NetworkConfig, batch: number, device: string, seed = 0): BenchCase {
  const D = new Discriminator(cfg, seed, device);
  const params = D.parameters();
  const x = E.keep(E.randn([batch, cfg.numChannels, cfg.resolution, cfg.resolution], { device }));
  return {
    step: () => E.grad(D.forward(x).sum(), params, { allowUnused: true }),
    config: {
      net: cfg.arch, resolution: cfg.resolution, batch, params: D.numParams(), precision: 'fp32',
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

/** GFLOP of one image through the generator of `cfg` (bench/flops.ts). */
const gFlopPerImage = (cfg: NetworkConfig): number => (cfg.arch === 'stylegan' ? styleganGFlopPerImage(cfg) : proganGFlopPerImage(cfg));

/**
 * The G cases (StyleGAN and ProGAN) against the peer's other variants (bench/peer-variants.ts), with GFLOP/s beside
 * the measured peak; null when there are no such cases or no peer.
 */
export function variantSection(o: NetsBenchOptions, report: NetsBenchReport): { variants: VariantResults; text: string } | null {
  const c = o.config;
  const g = netCases(c).filter((x) => x.name.includes('_g_fwd_'));
  if (!o.peer || g.length === 0) return null;
  const sizes = new Map(g.map((x) => {
    const [net, , , res, b] = x.name.split('_');
    return [x.name, { net: net as NetName, res: Number(res), batch: Number(b!.slice(1)) }];
  }));
  const bf16 = runOurSide(o, () => timeCases(g.map((x) => x.name), (name) => {
    const s = sizes.get(name)!;
    return generatorForwardCase(officialConfig(s.net, s.res), s.batch, o.device, o.seed, 'bf16');
  }, o));
  const variants: VariantResults = {};
  for (const net of c.nets.filter((n) => g.some((x) => sizes.get(x.name)!.net === n))) {
    const args = peerArgs({ ...o, config: { ...c, nets: [net], dRes: [], dBatch: [] } });
    mergeVariants(variants, runPeerVariants(o, args, g.filter((x) => sizes.get(x.name)!.net === net).map((x) => x.name)));
  }
  const rows: VariantRow[] = g.map((x) => {
    const { net, res, batch } = sizes.get(x.name)!;
    const r = report.results[x.name];
    return {
      case: x.name, images: batch, gflopPerImage: gFlopPerImage(officialConfig(net, res)),
      oursMs: r?.stylegan_ts.ms_per_iter ?? null, oursBf16Ms: bf16.results[x.name]?.ms_per_iter ?? null,
      asRunMs: r?.pytorch?.ms_per_iter ?? null,
    };
  });
  const psnr = [...new Set([...sizes.values()].map((s) => `${s.net}/${s.res}`))].map((key) => {
    const [net, res] = key.split('/') as [NetName, string];
    return { key: `${net} ${res}²`, db: bf16Psnr(officialConfig(net, Number(res)), o.device, o.seed) };
  });
  const psnrLine = `bf16 vs fp32 images (${PSNR_SEEDS.length} fixed z; StyleGAN: constant noise, ψ 0.7): ${psnr.map((p) => `${p.key}: PSNR ${p.db.toFixed(1)} dB`).join(', ')}`;
  return { variants, text: `${formatVariants(rows, variants, measuredPeak(o.device))}\n${psnrLine}` };
}

/** Latent seeds of the bf16 image comparison. */
export const PSNR_SEEDS = [0, 1];

/** PSNR (peak-to-peak 2, images in [−1, 1]) of bf16 images against fp32 ones from the same z and constant noise. */
export function bf16Psnr(cfg: NetworkConfig, device: string, seed: number): number {
  const G = cfg.arch === 'stylegan' ? new StyleGANGenerator(cfg, seed, device) : new ProGANGenerator(cfg, seed, device);
  const forward = (z: E.Tensor, precision: Precision) => (G instanceof StyleGANGenerator
    ? G.forward(z, { truncationPsi: G.cfg.truncationPsi, truncationCutoff: G.cfg.truncationCutoff, noise: 'const', precision })
    : G.forward(z, { precision }));
  try {
    return E.tidy(() => {
      let sum = 0;
      let count = 0;
      for (const s of PSNR_SEEDS) {
        const z = E.randn([1, cfg.latentSize], { generator: new E.Generator(s), device });
        const [a, b] = (['fp32', 'bf16'] as const).map((precision) => E.noGrad(() => forward(z, precision)));
        sum += E.tidy(() => a!.sub(b!).square().sum().item());
        count += a!.numel;
      }
      return 10 * Math.log10(4 / (sum / count));
    });
  } finally {
    G.dispose();
  }
}

/** `node dist/bench/main.js nets`: runs, prints the tables (and the JSON report as one line with `json`). */
export function netsBench(o: NetsBenchOptions & { json: boolean }): NetsBenchReport {
  const report = runNetsBench(o);
  printReport(report, false);
  const section = variantSection(o, report);
  if (section) console.log(`\n${section.text}`);
  if (o.json) console.log(JSON.stringify({ ...report, peer_variants: section?.variants ?? null }));
  return report;
}
