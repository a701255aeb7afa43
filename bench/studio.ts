/**
 * Studio latency: for each network, the server's render time (its `Server-Timing`) and the browser's round trip
 * (request sent → PNG decoded and shown) of one full-resolution image when the seed changes in the page, in headless
 * Chromium. Beside them, in the same run: `generateImages` of one seed called directly (what the server's render
 * costs without HTTP and PNG) and PyTorch's Gs forward at batch 1 on the same architecture (bench/py/nets_bench.py,
 * case `stylegan_g_fwd_<res>_b1`). 32² is the packaged default network; the other sizes are the official StyleGAN
 * architecture with random weights.
 *
 * Run: `node dist/bench/studio.js [--res 32,256,1024] [--iters 5] [--threads N] [--no-peer] [--chromium PATH]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import * as E from '../src/engine/index.js';
import { StyleGANGenerator, styleganConfig } from '../src/nets/index.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { generateImages } from '../src/gen/index.js';
import { median } from '../src/cli/timing.js';
import { openNetworks } from '../src/studio/networks.js';
import { createStudioServer } from '../src/studio/server.js';
import { flagArgs, peerScript, runPeerScript } from './compare.js';

interface Options {
  res: number[];
  iters: number;
  threads: number;
  peer: boolean;
  chromium: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { res: [32, 256, 1024], iters: 5, threads: E.getNumThreads(), peer: true, chromium: '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--no-peer') {
      o.peer = false;
      continue;
    }
    const value = argv[++i] ?? '';
    if (flag === '--res') o.res = value.split(',').map(Number);
    else if (flag === '--iters') o.iters = Number(value);
    else if (flag === '--threads') o.threads = Number(value);
    else if (flag === '--chromium') o.chromium = value;
    else throw new Error(`bench studio: unknown argument '${flag}'`);
  }
  return o;
}

/** The network files: the default for 32², random official StyleGAN networks for the other sizes. */
async function networkFiles(res: number[], dir: string): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (const r of res) {
    if (r === 32) {
      out.push(undefined);
      continue;
    }
    const G = new StyleGANGenerator(styleganConfig({ resolution: r }), 1);
    const file = join(dir, `stylegan-${r}.safetensors`);
    await saveCheckpoint(file, { config: G.cfg, nets: { Gs: G } });
    G.dispose();
    out.push(file);
  }
  return out;
}

interface Row {
  res: number;
  server: number;
  roundTrip: number;
  library: number;
  pytorch: number | null;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  E.setNumThreads(o.threads);
  const dir = mkdtempSync(join(tmpdir(), 'stylegan-studio-bench-'));
  const files = await networkFiles(o.res, dir);
  const nets = [];
  for (const f of files) nets.push(...await openNetworks(f === undefined ? [] : [f], 'cpu'));
  nets.forEach((n, i) => (n.info.id = `n${i}`));
  const server = createStudioServer({ networks: nets });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const browser = await chromium.launch({ executablePath: o.chromium, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const rows: Row[] = [];
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    for (const [i, net] of nets.entries()) {
      const res = net.info.resolution;
      process.stderr.write(`studio ${res}²…\n`);
      await page.getByLabel('Network').selectOption(`n${i}`);
      const before = async () => page.evaluate(() => (window as unknown as { studio: { state: { timings: unknown[] } } }).studio.state.timings.length);
      const samples: { server: number; total: number }[] = [];
      for (let k = 0; k <= o.iters; k++) {
        const n = await before();
        await page.getByLabel('Next seed').click();
        await page.waitForFunction((m) => {
          const s = (window as unknown as { studio: { state: { timings: { preview: boolean }[] } } }).studio.state;
          return s.timings.length > m && document.getElementById('view')!.dataset.state === 'idle';
        }, n, { timeout: 600_000 });
        const t = await page.evaluate(() => (window as unknown as { studio: { state: { timings: { server: number; total: number }[] } } }).studio.state.timings.at(-1)!);
        if (k > 0) samples.push(t); // the first render of a network warms it up
      }
      const lib: number[] = [];
      for (let k = 0; k <= o.iters; k++) {
        const t0 = performance.now();
        generateImages(net.G, { seeds: [1000 + k] }, { classes: net.info.labelSize ? 0 : undefined });
        if (k > 0) lib.push(performance.now() - t0);
      }
      let pytorch: number | null = null;
      if (o.peer && res !== 32) {
        const name = `stylegan_g_fwd_${res}_b1`;
        const args = [peerScript('nets_bench.py'), ...flagArgs({ threads: o.threads, device: 'cpu', iters: o.iters, warmup: 1, seed: 1, nets: 'stylegan', 'g-res': res, 'g-batch': 1, 'd-res': '', 'd-batch': '' })];
        const r = runPeerScript({ device: 'cpu', threads: o.threads, iters: o.iters, warmup: 1, seed: 1, python: '/usr/bin/python3', peer: true }, args, [name]);
        pytorch = r.status === 'ok' ? r.report.results[name]!.ms_per_iter : null;
        if (r.status !== 'ok') process.stderr.write(`PyTorch peer ${r.status}: ${r.reason}\n`);
      }
      rows.push({ res, server: median(samples.map((s) => s.server)), roundTrip: median(samples.map((s) => s.total)), library: median(lib), pytorch });
    }
  } finally {
    await browser.close();
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (x: number | null) => (x === null ? '—' : x.toFixed(1));
  const r2 = (a: number | null, b: number) => (a === null ? '—' : (a / b).toFixed(2));
  console.log(`studio latency, median of ${o.iters} renders (ms), ${o.threads} thread(s), CPU:`);
  console.log('res     server  round trip  generateImages  PyTorch Gs b1   trip/server  server/generate  PyTorch/server');
  for (const r of rows) {
    console.log(`${`${r.res}²`.padEnd(6)} ${f(r.server).padStart(7)} ${f(r.roundTrip).padStart(11)} ${f(r.library).padStart(15)} ${f(r.pytorch).padStart(14)} ${r2(r.roundTrip, r.server).padStart(12)} ${r2(r.server, r.library).padStart(16)} ${r2(r.pytorch, r.server).padStart(15)}`);
  }
}

await main();
