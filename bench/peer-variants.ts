/**
 * The PyTorch peer run several ways on the same cases, so that a comparison is honest both ways:
 *
 *   as run        python3 as a user runs it: glibc malloc, NCHW, float32 (the peer of the main table);
 *   best nchw     jemalloc preloaded (LD_PRELOAD=libjemalloc.so.2, MALLOC_CONF retain:true, decay off) and OpenBLAS on
 *                 one thread (OPENBLAS_NUM_THREADS=1: its worker thread otherwise spins between the small matrix
 *                 products and takes a core from the convolutions, which stylegan-ts's runtime avoids the same way),
 *                 NCHW;
 *   best cl       the same with the networks and inputs in channels-last;
 *   bf16          the same environment, channels-last, torch.autocast(bfloat16).
 *
 * "PyTorch at its best" is the faster of best nchw and best cl per case. Each variant is one peer process.
 */
import { existsSync } from 'node:fs';
import * as E from '../src/engine/index.js';
import { runPeerScript, type CompareOptions, type PeerOutcome } from './compare.js';

export const JEMALLOC_PATHS = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2', '/usr/lib64/libjemalloc.so.2'];
export const JEMALLOC_CONF = 'retain:true,dirty_decay_ms:-1,muzzy_decay_ms:-1';
/** The rest of the "at its best" environment: OpenBLAS on the calling thread (see above). */
export const BEST_ENV = { OPENBLAS_NUM_THREADS: '1' };

export interface PeerVariant {
  name: 'best nchw' | 'best cl' | 'bf16';
  flags: string[];
  jemalloc: boolean;
}
export const VARIANTS: PeerVariant[] = [
  { name: 'best nchw', flags: ['--memory-format', 'nchw'], jemalloc: true },
  { name: 'best cl', flags: ['--memory-format', 'channels_last'], jemalloc: true },
  { name: 'bf16', flags: ['--memory-format', 'channels_last', '--autocast', 'bf16'], jemalloc: true },
];

/** Per variant: ms per call by case, and the peak RSS by case when the peer ran under bench/py/peak_rss.py. */
export type VariantResults = Record<string, { status: PeerOutcome['status']; reason?: string; ms: Record<string, number>; peakRss: Record<string, number> }>;

/** Runs every variant of the peer (or those given) on `cases` (`args` = the peer's script and flags); ms per call, by case. */
export function runPeerVariants(o: CompareOptions, args: readonly string[], cases: readonly string[], variants: readonly PeerVariant[] = VARIANTS): VariantResults {
  const jemalloc = JEMALLOC_PATHS.find((p) => existsSync(p));
  const out: VariantResults = {};
  for (const v of variants) {
    if (v.jemalloc && !jemalloc) {
      out[v.name] = { status: 'unavailable', reason: 'libjemalloc.so.2 not found (apt install libjemalloc2)', ms: {}, peakRss: {} };
      continue;
    }
    const env = v.jemalloc ? { LD_PRELOAD: jemalloc!, MALLOC_CONF: JEMALLOC_CONF, ...BEST_ENV } : undefined;
    const r = runPeerScript(o, [...args, ...v.flags], cases, env);
    const ms: Record<string, number> = {};
    const peakRss: Record<string, number> = {};
    if (r.status === 'ok') {
      const peak = (r.report.env as { peak_rss_bytes?: number }).peak_rss_bytes;
      for (const c of cases) {
        ms[c] = r.report.results[c]!.ms_per_iter;
        if (peak !== undefined) peakRss[c] = peak;
      }
    }
    out[v.name] = { status: r.status, reason: r.status === 'ok' ? undefined : r.reason, ms, peakRss };
  }
  return out;
}

/**
 * Sustained GFLOP/s of this machine through oneDNN: a 1×1 convolution 512 → 512 on 64² (a 2.1 GFLOP GEMM), best of
 * 3, float32 and bfloat16, with the current threads.
 */
export function measuredPeak(device: string): { fp32: number; bf16: number } {
  const rate = (dtype: E.DType) => E.tidy(() => {
    const x = E.randn([1, 512, 64, 64], { device }).to(dtype);
    const w = E.randn([512, 512, 1, 1], { device }).to(dtype);
    let best = Infinity;
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      E.tidy(() => void E.conv2d(x, w));
      E.synchronize();
      if (i > 0) best = Math.min(best, performance.now() - t0);
    }
    return (2 * 512 * 512 * 64 * 64) / (best * 1e6);
  });
  return { fp32: rate('float32'), bf16: rate('bfloat16') };
}

export interface VariantRow {
  case: string;
  images: number;
  gflopPerImage: number;
  oursMs: number | null;
  oursBf16Ms: number | null;
  asRunMs: number | null;
}

const secPerImage = (ms: number | null | undefined, images: number) => (ms == null ? '—' : `${(ms / 1e3 / images).toFixed(3)}`);
const ratio = (peer: number | null | undefined, ours: number | null) => (peer == null || ours == null ? '—' : `${(peer / ours).toFixed(2)}×`);
const gflops = (ms: number | null | undefined, row: VariantRow) => (ms == null ? '—' : `${((row.gflopPerImage * row.images) / (ms / 1e3)).toFixed(0)}`);

/** Adds the variant results of more cases (`more`) to `into`; a variant that failed anywhere is marked failed. */
export function mergeVariants(into: VariantResults, more: VariantResults): VariantResults {
  for (const [name, r] of Object.entries(more)) {
    const merged = (into[name] ??= { status: r.status, reason: r.reason, ms: {}, peakRss: {} });
    Object.assign(merged.ms, r.ms);
    Object.assign(merged.peakRss, r.peakRss);
    if (r.status !== 'ok') Object.assign(merged, { status: r.status, reason: r.reason });
  }
  return into;
}

/** Runs the variants once per case (so that a peak RSS belongs to its case) and merges them. */
export function runPeerVariantsPerCase(o: CompareOptions, argsFor: (name: string) => readonly string[], cases: readonly string[]): VariantResults {
  const out: VariantResults = {};
  for (const c of cases) mergeVariants(out, runPeerVariants(o, argsFor(c), [c]));
  return out;
}

/** Peak RSS of each peer variant per case (MiB). */
export function formatVariantMemory(v: VariantResults, cases: readonly string[]): string {
  const mib = (b: number | undefined) => (b === undefined ? '—' : `${(b / 2 ** 20).toFixed(0)} MiB`);
  return ['PyTorch peak RSS by variant:', ...cases.map((c) => `  ${c}: ${VARIANTS.map((x) => `${x.name} ${mib(v[x.name]?.peakRss[c])}`).join(', ')}`)].join('\n');
}

/** PyTorch at its best on a case: the faster of its jemalloc NCHW and channels-last runs, and which layout that was. */
export function peerBest(v: VariantResults, name: string): { ms: number; layout: 'nchw' | 'cl' } | null {
  const nchw = v['best nchw']?.ms[name];
  const cl = v['best cl']?.ms[name];
  if (nchw == null && cl == null) return null;
  return cl != null && (nchw == null || cl < nchw) ? { ms: cl, layout: 'cl' } : { ms: nchw!, layout: 'nchw' };
}

/**
 * The table: s/img of every side, our speed-up over PyTorch as run and at its best, GFLOP/s beside the measured peak;
 * the bfloat16 columns unless `bf16` is false.
 */
export function formatVariants(rows: VariantRow[], v: VariantResults, peak: { fp32: number; bf16: number }, { bf16 = true } = {}): string {
  const head = ['case', 'ours s/img', 'PyTorch as run', 'as run/ours', 'PyTorch best (layout)', 'best/ours', 'ours GFLOP/s', 'best GFLOP/s'];
  if (bf16) head.push('ours bf16', 'PyTorch bf16', 'bf16/ours', 'ours bf16 GFLOP/s');
  const table = [head];
  for (const r of rows) {
    const b = peerBest(v, r.case);
    const best = b?.ms;
    const row = [
      r.case, secPerImage(r.oursMs, r.images), secPerImage(r.asRunMs, r.images), ratio(r.asRunMs, r.oursMs),
      `${secPerImage(best, r.images)}${b ? ` (${b.layout})` : ''}`, ratio(best, r.oursMs), gflops(r.oursMs, r), gflops(best, r),
    ];
    if (bf16) row.push(secPerImage(r.oursBf16Ms, r.images), secPerImage(v.bf16?.ms[r.case], r.images), ratio(v.bf16?.ms[r.case], r.oursBf16Ms), gflops(r.oursBf16Ms, r));
    table.push(row);
  }
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const lines = table.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   '));
  const notes = Object.entries(v).filter(([, r]) => r.status !== 'ok').map(([name, r]) => `PyTorch ${name}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`);
  return [
    `PyTorch as run and at its best (jemalloc ${JEMALLOC_CONF} preloaded, OPENBLAS_NUM_THREADS=1; best of NCHW / channels-last${bf16 ? '; bf16 = channels-last + autocast' : ''}):`,
    ...lines,
    `machine peak (oneDNN 1×1 conv 512→512 at 64²): ${peak.fp32.toFixed(0)} GFLOP/s float32, ${peak.bf16.toFixed(0)} GFLOP/s bfloat16`,
    ...notes,
  ].join('\n');
}
