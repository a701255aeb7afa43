import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import * as E from '../src/engine/index.js';
import { RandomState } from '../src/engine/numpy-random.js';
import { seedLatents } from '../src/gen/seeds.js';
import { defaultNetworkPath } from '../src/gen/network.js';
import { toUint8 } from '../src/io/images.js';
import { openGenerator } from '../src/io/open-network.js';
import { truncate, type StyleGANGenerator, type ProGANGenerator } from '../src/nets/index.js';
import { writeStaticStudio, ORT_FILES } from '../src/cli/studio-static.js';
import { cli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { FIXTURE_DIR } from './helpers/pickle-fixtures.js';

E.setNumThreads(1);
const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (scripts/setup.sh installs it)`;
const root = tempDir('sgts-studio');
/** Fused ProGAN (transposed convolutions) exported at lod 0: the StyleGAN default model upscales with Resize. */
const PROGAN = `${FIXTURE_DIR}progan-32.p4.pkl`;
const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm',
};
let server: Server;
let base = '';
let G: StyleGANGenerator;
let P: ProGANGenerator;

before(async () => {
  if (skip) return;
  await writeStaticStudio(join(root, 'stylegan'), { quiet: true });
  await writeStaticStudio(join(root, 'progan'), { network: PROGAN, lod: 0, quiet: true });
  G = (await openGenerator(defaultNetworkPath())).G as StyleGANGenerator;
  P = (await openGenerator(PROGAN)).G as ProGANGenerator;
  // The site as a static host serves it, on the loopback interface only.
  server = createServer((req, res) => {
    const asked = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '');
    const path = extname(asked) ? asked : join(asked, 'index.html');
    if (path.startsWith('..')) return void res.writeHead(404).end();
    readFile(join(root, path)).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(() => {
  server?.close();
  G?.dispose();
  P?.dispose();
});

interface StudioState {
  seed: number; cls: number; psi: number; cutoff: number; noise: string | string[]; noiseSeed?: number;
  mix?: boolean; mixFrom?: number; mixTo?: number; mixSeed?: number; interpSeed?: number; t?: number;
}

/** The libtorch render of a studio state (libtorch's mapping, truncation and synthesis), as bytes. */
function reference(s: StudioState): Uint8Array {
  return E.tidy(() => E.noGrad(() => {
    const labels = E.oneHot([s.cls, s.cls, s.cls], G.cfg.labelSize);
    const w = G.mapToDlatents(seedLatents([s.seed, s.interpSeed ?? 1, s.mixSeed ?? 1], G.cfg.latentSize), labels);
    const L = G.numLayers;
    let d = w.narrow(0, 0, 1).lerp(w.narrow(0, 1, 1), s.t ?? 0);
    if (s.mix) {
      const mask = Uint8Array.from({ length: L }, (_, l) => (l >= s.mixFrom! && l < s.mixTo! ? 1 : 0));
      d = E.where(E.fromTypedArray(mask, [1, L, 1], 'bool'), w.narrow(0, 2, 1), d);
    }
    d = truncate(d, G.dlatentAvg, { psi: s.psi, cutoff: s.cutoff });
    const rs = new RandomState(s.noiseSeed ?? 0);
    const noise = Array.from({ length: L }, (_, i) => {
      const r = 2 ** ((i >> 1) + 2);
      const random = E.fromTypedArray(Float32Array.from(rs.randn(r * r)), [1, 1, r, r]);
      const mode = typeof s.noise === 'string' ? s.noise : s.noise[i]!;
      return mode === 'random' ? random : mode === 'const' ? G.synthesis.vars.get(`noise${i}`) : E.zeros([1, 1, r, r]);
    });
    return toUint8(G.synthesis.forward(d, { noise })).data;
  }));
}

/** The libtorch render of the ProGAN page's state: z interpolated from seed towards interpSeed by t. */
function proganReference(s: { seed: number; interpSeed: number; t: number }): Uint8Array {
  return E.tidy(() => E.noGrad(() => {
    const z = seedLatents([s.seed, s.interpSeed], P.cfg.latentSize);
    return toUint8(P.forward(z.narrow(0, 0, 1).lerp(z.narrow(0, 1, 1), s.t), { lod: 0 })).data;
  }));
}

async function renderIn(browser: Browser, site: string, backend: string, states: unknown[]) {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}${site}/?backend=${backend}`);
  await page.waitForFunction(() => (window as unknown as { studio?: unknown }).studio !== undefined, null, { timeout: 120_000 });
  const got = await page.evaluate(async (list) => {
    const st = (window as unknown as { studio: { backend: string; ready: Promise<boolean>; times: number[]; render(s: unknown): Promise<{ pixels: number[]; ms: number }> } }).studio;
    await st.ready;
    const out = [];
    for (const s of list) out.push(await st.render(s));
    return { backend: st.backend, first: st.times[0]!, renders: out };
  }, states);
  await page.close();
  assert.deepEqual(errors, []);
  return got;
}

/** RGBA pixels of the page against NHWC bytes with `channels` channels (a gray channel is written to R, G and B). */
function assertClose(pixels: number[], ref: Uint8Array, what: string, channels = 1): void {
  let worst = 0;
  for (let p = 0; p < ref.length / channels; p++) {
    for (let ch = 0; ch < 3; ch++) worst = Math.max(worst, Math.abs(pixels[p * 4 + ch]! - ref[p * channels + (channels === 1 ? 0 : ch)]!));
  }
  assert.ok(worst <= 2, `${what}: max pixel difference ${worst}/255`);
}

const PLAIN: StudioState = { seed: 3, cls: 4, psi: 0.7, cutoff: 8, noise: 'const' };
const FULL: StudioState = {
  seed: 11, cls: 7, psi: 0.6, cutoff: 4, mix: true, mixFrom: 2, mixTo: 5, mixSeed: 21, interpSeed: 5, t: 0.3,
  noise: ['const', 'random', 'none', 'random', 'const', 'none', 'random', 'const'], noiseSeed: 9,
};

test('static studio on the wasm backend renders within 2/255 of libtorch (StyleGAN: seed, class, ψ, mixing, interpolation, noise per layer; ProGAN)', { skip, timeout: 300_000 }, async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const got = await renderIn(browser, 'stylegan', 'wasm', [PLAIN, FULL]);
    assert.equal(got.backend, 'wasm');
    // The two states give clearly different images, so matching each reference says the controls took effect.
    const [a, b] = [reference(PLAIN), reference(FULL)];
    assert.ok(a.some((v, i) => Math.abs(v - b[i]!) > 64));
    assertClose(got.renders[0]!.pixels, reference(PLAIN), 'plain');
    assertClose(got.renders[1]!.pixels, reference(FULL), 'mixing + interpolation + noise');
    const pg = await renderIn(browser, 'progan', 'wasm', [{ seed: 4, interpSeed: 9, t: 0.4 }]);
    assertClose(pg.renders[0]!.pixels, proganReference({ seed: 4, interpSeed: 9, t: 0.4 }), 'ProGAN interpolation', 3);
    if (process.env.STYLEGAN_STUDIO_TIMES) process.stdout.write(`# wasm: first ${got.first.toFixed(0)} ms, steady ${got.renders.map((r) => r.ms.toFixed(0)).join(', ')} ms\n`);
  } finally {
    await browser.close();
  }
});

test('static studio on WebGPU (SwiftShader) renders within 2/255 of libtorch (StyleGAN controls; fused ProGAN)', { skip, timeout: 300_000 }, async () => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader'],
  });
  try {
    const got = await renderIn(browser, 'stylegan', 'webgpu', [PLAIN, FULL]);
    assert.equal(got.backend, 'webgpu');
    assertClose(got.renders[0]!.pixels, reference(PLAIN), 'plain');
    assertClose(got.renders[1]!.pixels, reference(FULL), 'mixing + interpolation + noise');
    const pg = await renderIn(browser, 'progan', 'webgpu', [{ seed: 4, interpSeed: 9, t: 0.4 }]);
    assert.equal(pg.backend, 'webgpu');
    assertClose(pg.renders[0]!.pixels, proganReference({ seed: 4, interpSeed: 9, t: 0.4 }), 'ProGAN interpolation (fused up-convolutions)', 3);
    if (process.env.STYLEGAN_STUDIO_TIMES) process.stdout.write(`# webgpu: first ${got.first.toFixed(0)} ms, steady ${got.renders.map((r) => r.ms.toFixed(0)).join(', ')} ms\n`);
  } finally {
    await browser.close();
  }
});

const THEANO = `${FIXTURE_DIR}progan-theano-32.p4.pkl`;

test('stylegan studio --static OUTDIR writes the page, the ONNX export, onnxruntime-web and RandomState', async () => {
  const out = join(root, 'cli-site');
  const r = await cli(['studio', '--static', out, '--network', THEANO, '--fp16']);
  assert.equal(r.code, 0, r.stderr);
  for (const f of ['index.html', 'studio.js', 'model/generator.onnx', 'model/network.json', 'js/numpy-random.js', 'js/correctly-rounded-log.js', ...ORT_FILES.map((f) => `ort/${f}`)]) {
    assert.ok(existsSync(join(out, f)), f);
  }
  const info = JSON.parse(await readFile(join(out, 'model', 'network.json'), 'utf8')) as { arch: string; weights: string; lod: number };
  assert.deepEqual([info.arch, info.weights, info.lod], ['progan', 'float16', 0]);
  assert.match(r.stdout, /static studio for official ProGAN TF pickle .*progan-theano-32\.p4\.pkl \(Gs\): [\d.]+ MiB in /);
  const missing = join(root, 'nope.pkl');
  const e = await cli(['studio', '--static', join(root, 'x'), '--network', missing]);
  assert.equal(e.code, 1);
  assert.equal(e.stderr, `stylegan: ${missing}: no such network file\n`);
});
