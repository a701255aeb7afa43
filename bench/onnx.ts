/**
 * ONNX export benchmark: export time and file sizes (float32 / float16 weights), then sampling speed of the exported
 * graphs against libtorch and PyTorch, and (with --browser) the static studio's first and steady render per backend.
 *
 * - Export: the default network and the official StyleGAN architecture (random weights) at each --res and
 *   --export-res (export only: a 1024² forward takes tens of seconds on a loaded 2-core machine).
 * - Sampling, batch 1, as the official Gs samples: mapping, truncation ψ 0.7 on the layers below 8 (done in
 *   JavaScript on the ONNX side, as the studio does), fresh N(0, 1) noise for every layer, synthesis. onnxruntime-node
 *   (CPU execution provider) and stylegan-ts on libtorch run in this process with the same number of threads; the
 *   PyTorch peer is bench/py/nets_bench.py's `stylegan_g_fwd_<res>_b1` (official architecture only) in its own
 *   process. Medians of --iters calls after --warmup; ratios are against onnxruntime-node (> 1: ONNX is faster).
 * - Browser (--browser): `stylegan studio --static` of the default network served on 127.0.0.1, headless Chromium,
 *   wasm (single thread, as on a static host without cross-origin isolation) and WebGPU through SwiftShader (a CPU
 *   implementation of Vulkan: it says the path works, not how fast a GPU is). First = page load to first image.
 *
 * Run: `npm run build:ts && node dist/bench/onnx.js [--res 256] [--export-res 1024] [--iters 5] [--threads 1] [--browser] [--json]`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import * as E from '../src/engine/index.js';
import { openNetwork } from '../src/gen/network.js';
import { buildOnnx, type OnnxNetworkInfo } from '../src/io/onnx/index.js';
import { StyleGANGenerator, styleganConfig, type StyleGANConfig } from '../src/nets/index.js';
import { writeStaticStudio } from '../src/cli/studio-static.js';
import { median } from '../src/cli/timing.js';
import { peerScript, flagArgs } from './compare.js';

const { values: args } = parseArgs({
  options: {
    res: { type: 'string', default: '256' }, 'export-res': { type: 'string', default: '' }, iters: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' }, threads: { type: 'string', default: '1' }, browser: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false }, python: { type: 'string', default: '/usr/bin/python3' }, 'no-peer': { type: 'boolean', default: false },
  },
});
const ints = (s: string) => s.split(',').filter(Boolean).map(Number);
const iters = Number(args.iters);
const warmup = Number(args.warmup);
const threads = Number(args.threads);
E.setNumThreads(threads);
const report: Record<string, unknown> = { threads, iters, warmup };
const log = (line: string) => (args.json ? undefined : console.log(line));

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

function exportSizes(name: string, G: StyleGANGenerator, cfg: StyleGANConfig): { graphs: Map<string, Uint8Array>; info: OnnxNetworkInfo } {
  const row: Record<string, unknown> = {};
  let fp32!: ReturnType<typeof buildOnnx>;
  for (const fp16 of [false, true]) {
    const t0 = performance.now();
    const built = buildOnnx(G.stateDict(), cfg, { fp16 });
    const ms = performance.now() - t0;
    const sizes = Object.fromEntries([...built.graphs].map(([f, b]) => [f, b.byteLength]));
    const json = JSON.stringify(built.info).length;
    row[fp16 ? 'fp16' : 'fp32'] = { build_ms: ms, ...sizes, 'network.json': json };
    log(`${name} export ${fp16 ? 'fp16' : 'fp32'}: ${ms.toFixed(0)} ms; ${Object.entries(sizes).map(([f, b]) => `${f} ${(b / 2 ** 20).toFixed(2)} MiB`).join(', ')}, network.json ${(json / 1024).toFixed(0)} KiB`);
    if (!fp16) fp32 = built;
  }
  (report.export ??= {} as Record<string, unknown>);
  (report.export as Record<string, unknown>)[name] = row;
  return fp32;
}

/** ONNX (onnxruntime-node) vs libtorch sampling of one image with fresh noise and ψ 0.7 below layer 8. */
async function sampling(name: string, G: StyleGANGenerator, cfg: StyleGANConfig, built: ReturnType<typeof buildOnnx>): Promise<Record<string, number>> {
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: ['cpu'] };
  const mapping = await ort.InferenceSession.create(built.graphs.get('mapping.onnx')!, opts);
  const synthesis = await ort.InferenceSession.create(built.graphs.get('synthesis.onnx')!, opts);
  const info = built.info;
  const [L, D] = [info.numLayers!, info.dlatentSize!];
  const avg = info.dlatentAvg!;
  const randn = (n: number) => E.tidy(() => E.randn([n]).toFloat32Array());
  const onnxMs = await timeAsync(async () => {
    const feeds: Record<string, ort.Tensor> = { z: new ort.Tensor('float32', randn(cfg.latentSize), [1, cfg.latentSize]) };
    if (cfg.labelSize) feeds.c = new ort.Tensor('float32', new Float32Array(cfg.labelSize).fill(0).map((_, i) => (i === 0 ? 1 : 0)), [1, cfg.labelSize]);
    const d = (await mapping.run(feeds)).dlatents!.data as Float32Array;
    const t = d.map((v, k) => (Math.floor(k / D) < 8 ? avg[k % D]! + 0.7 * (v - avg[k % D]!) : v));
    const sf: Record<string, ort.Tensor> = { dlatents: new ort.Tensor('float32', t, [1, L, D]) };
    info.layers!.forEach((l, i) => (sf[`noise${i}`] = new ort.Tensor('float32', randn(l.resolution ** 2), [1, 1, l.resolution, l.resolution])));
    return (await synthesis.run(sf)).images!.data;
  });
  await mapping.release();
  await synthesis.release();
  const torchMs = await timeAsync(async () => E.tidy(() => E.noGrad(() => {
    const labels = cfg.labelSize ? E.oneHot([0], cfg.labelSize) : null;
    return G.forward(E.randn([1, cfg.latentSize]), { labels, truncationPsi: 0.7, truncationCutoff: 8, noise: 'random' }).toFloat32Array();
  })));
  return { onnxruntime_node_ms: onnxMs, libtorch_ms: torchMs };
}

function pytorchMs(res: number): number | string {
  if (args['no-peer']) return 'skipped';
  const caseName = `stylegan_g_fwd_${res}_b1`;
  const r = spawnSync(args.python, [peerScript('nets_bench.py'), ...flagArgs({
    threads, device: 'cpu', iters, warmup, seed: 0, nets: 'stylegan', 'g-res': res, 'g-batch': 1, 'd-res': '', 'd-batch': '',
  })], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) return `unavailable: ${(r.stderr || String(r.error)).trim().split('\n').at(-1)}`;
  return (JSON.parse(r.stdout) as { results: Record<string, { ms_per_iter: number }> }).results[caseName]!.ms_per_iter;
}

async function browserTimes(): Promise<Record<string, unknown>> {
  const { chromium } = await import('playwright-core');
  const site = mkdtempSync(join(tmpdir(), 'sgts-bench-studio-'));
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/+/, '').replace(/\.\./g, '') || 'index.html';
    readFile(join(site, path)).then((b) => res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(b), () => res.writeHead(404).end());
  });
  const out: Record<string, unknown> = {};
  try {
    await writeStaticStudio(site, { quiet: true });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const gpuFlags = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader'];
    for (const backend of ['wasm', 'webgpu']) {
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', ...(backend === 'webgpu' ? gpuFlags : [])] });
      try {
        const page = await browser.newPage();
        const t0 = Date.now();
        await page.goto(`${url}?backend=${backend}`);
        await page.waitForFunction(() => (window as unknown as { studio?: { ready: Promise<boolean> } }).studio);
        const r = await page.evaluate(async (n) => {
          const st = (window as unknown as { studio: { backend: string; ready: Promise<boolean>; times: number[]; render(s: unknown): Promise<{ ms: number }> } }).studio;
          await st.ready;
          const ms = [];
          for (let i = 0; i < n; i++) ms.push((await st.render({ seed: i })).ms);
          return { backend: st.backend, firstRender: st.times[0]!, steady: ms };
        }, iters);
        const steady = median(r.steady);
        out[backend] = { backend: r.backend, load_to_first_image_ms: Date.now() - t0, first_render_ms: r.firstRender, steady_ms: steady, samples: r.steady };
        log(`browser ${backend} (${r.backend}): page load → first image ${Date.now() - t0} ms (first render ${r.firstRender.toFixed(0)} ms), steady ${steady.toFixed(0)} ms`);
      } finally {
        await browser.close();
      }
    }
  } finally {
    server.close();
    rmSync(site, { recursive: true, force: true });
  }
  return out;
}

const sampleRows: Record<string, unknown> = {};
{
  const { G, config } = await openNetwork(undefined);
  const built = exportSizes('default_32', G as StyleGANGenerator, config as StyleGANConfig);
  const s = await sampling('default_32', G as StyleGANGenerator, config as StyleGANConfig, built);
  sampleRows.default_32 = s;
  log(`default_32 sampling: onnxruntime-node ${s.onnxruntime_node_ms!.toFixed(1)} ms, libtorch ${s.libtorch_ms!.toFixed(1)} ms (libtorch/ONNX ${(s.libtorch_ms! / s.onnxruntime_node_ms!).toFixed(2)})`);
  G.dispose();
}
for (const res of ints(args.res)) {
  const cfg = styleganConfig({ resolution: res });
  const G = new StyleGANGenerator(cfg, 1);
  const built = exportSizes(`official_${res}`, G, cfg);
  const s: Record<string, unknown> = await sampling(`official_${res}`, G, cfg, built);
  G.dispose();
  s.pytorch_ms = pytorchMs(res);
  sampleRows[`official_${res}`] = s;
  const pt = typeof s.pytorch_ms === 'number' ? `, PyTorch ${s.pytorch_ms.toFixed(0)} ms (PyTorch/ONNX ${(s.pytorch_ms / (s.onnxruntime_node_ms as number)).toFixed(2)})` : `, PyTorch ${s.pytorch_ms}`;
  log(`official_${res} sampling: onnxruntime-node ${(s.onnxruntime_node_ms as number).toFixed(0)} ms, libtorch ${(s.libtorch_ms as number).toFixed(0)} ms (libtorch/ONNX ${((s.libtorch_ms as number) / (s.onnxruntime_node_ms as number)).toFixed(2)})${pt}`);
}
for (const res of ints(args['export-res'])) {
  const cfg = styleganConfig({ resolution: res });
  const G = new StyleGANGenerator(cfg, 1);
  exportSizes(`official_${res}`, G, cfg);
  G.dispose();
}
report.sampling = sampleRows;
if (args.browser) report.browser = await browserTimes();
if (args.json) console.log(JSON.stringify(report));
