import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import * as E from '../src/engine/index.js';
import type { Tensor } from '../src/engine/index.js';
import { latentsFromSeeds } from '../src/gen/seeds.js';
import { defaultNetworkPath } from '../src/gen/network.js';
import { openGenerator } from '../src/io/open-network.js';
import { buildOnnx, exportOnnx, type OnnxNetworkInfo } from '../src/io/onnx/index.js';
import type { ProGANGenerator, StyleGANGenerator, NetworkConfig } from '../src/nets/index.js';
import { ROOT } from './helpers/python.js';
import { FIXTURE_DIR } from './helpers/pickle-fixtures.js';
import { tempDir } from './helpers/temp-dir.js';
import { cli as runCli } from './helpers/cli.js';

E.setNumThreads(1);
const dir = tempDir('sgts-onnx');
const STYLEGAN_128 = `${ROOT}test/fixtures/stylegan1-128.p4.pkl`;

/** The ops onnxruntime-web runs on both its wasm and its WebGPU backend that the exporters may use. */
const PORTABLE_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Sqrt', 'MatMul', 'Conv', 'ConvTranspose', 'LeakyRelu', 'ReduceMean',
  'Reshape', 'Expand', 'Gather', 'Concat', 'Resize', 'Cast', 'Identity', 'Shape', 'Slice']);

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const f32 = (t: Tensor) => E.tidy(() => t.toFloat32Array());

async function run(bytes: Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>, output: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)]));
    return (await session.run(inputs))[output]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function oneHot(classes: number[], n: number): Float32Array {
  const out = new Float32Array(classes.length * n);
  classes.forEach((c, i) => (out[i * n + c] = 1));
  return out;
}

/** The truncation trick on dlatents [N, L, D], done the way a browser caller does it: avg + ψ·(w − avg) below cutoff. */
function truncateJs(d: Float32Array, info: OnnxNetworkInfo, psi: number, cutoff: number): Float32Array {
  const [L, D] = [info.numLayers!, info.dlatentSize!];
  const avg = info.dlatentAvg!;
  return d.map((v, k) => (Math.floor(k / D) % L < cutoff ? avg[k % D]! + psi * (v - avg[k % D]!) : v));
}

interface Case {
  seeds: number[];
  classes?: number[];
  psi?: number;
  cutoff?: number;
  lod?: number;
  fp16?: boolean;
}

/** libtorch images and ONNX images (onnxruntime-node) for the same z, labels, noise, ψ and lod. */
async function parity(G: StyleGANGenerator | ProGANGenerator, config: NetworkConfig, c: Case): Promise<{ torch: Float32Array; onnx: Float32Array; dlatents?: number }> {
  const n = c.seeds.length;
  const z = latentsFromSeeds(c.seeds, config.latentSize);
  const labels = config.labelSize > 0 ? oneHot(c.classes!, config.labelSize) : null;
  const { graphs, info } = buildOnnx(G.stateDict(), config, { fp16: c.fp16, lod: c.lod });
  const zFeed = { z: { data: z, dims: [n, config.latentSize] }, ...(labels ? { c: { data: labels, dims: [n, config.labelSize] } } : {}) };
  const zt = () => E.fromTypedArray(z, [n, config.latentSize]);
  const lt = () => (labels ? E.fromTypedArray(labels, [n, config.labelSize]) : null);
  if (config.arch === 'progan') {
    const torch = E.tidy(() => E.noGrad(() => f32((G as ProGANGenerator).forward(zt(), { labels: lt(), lod: c.lod }))));
    return { torch, onnx: await run(graphs.get('generator.onnx')!, zFeed, 'images') };
  }
  const S = G as StyleGANGenerator;
  const psi = c.psi ?? 1;
  const cutoff = c.cutoff ?? info.numLayers!;
  const gen = new E.Generator(7);
  const noise = info.layers!.map((l) => ({ data: f32(E.randn([n, 1, l.resolution, l.resolution], { generator: gen })), dims: [n, 1, l.resolution, l.resolution] }));
  const { torch, torchDlatents } = E.tidy(() => E.noGrad(() => {
    const nt = noise.map((x) => E.fromTypedArray(x.data, x.dims));
    return {
      torch: f32(S.forward(zt(), { labels: lt(), truncationPsi: psi, truncationCutoff: cutoff, noise: nt, lod: c.lod })),
      torchDlatents: f32(S.mapToDlatents(zt(), lt())),
    };
  }));
  const d = await run(graphs.get('mapping.onnx')!, zFeed, 'dlatents');
  const feeds = { dlatents: { data: truncateJs(d, info, psi, cutoff), dims: [n, info.numLayers!, info.dlatentSize!] }, ...Object.fromEntries(noise.map((x, i) => [`noise${i}`, x])) };
  return { torch, onnx: await run(graphs.get('synthesis.onnx')!, feeds, 'images'), dlatents: maxAbs(d, torchDlatents) };
}

async function opened(path: string) {
  const { G, config } = await openGenerator(path);
  return { G: G as StyleGANGenerator | ProGANGenerator, config };
}

test('default model (conditional StyleGAN 32²): ONNX mapping + synthesis match libtorch within 1e-4 (ψ 0.7, cutoff 8, explicit noise)', async () => {
  const { G, config } = await opened(defaultNetworkPath());
  const r = await parity(G, config, { seeds: [0, 1, 2], classes: [0, 5, 9], psi: 0.7, cutoff: 8 });
  assert.ok(r.dlatents! <= 1e-4, `dlatents max abs ${r.dlatents}`);
  const d = maxAbs(r.torch, r.onnx);
  assert.ok(d <= 1e-4, `images max abs ${d}`);
  G.dispose();
});

test('128² StyleGAN imported from a pickle (fused 128² upscaling): ONNX matches libtorch within 1e-4', { skip: !existsSync(STYLEGAN_128) && 'fixture missing' }, async () => {
  const { G, config } = await opened(STYLEGAN_128);
  assert.equal(config.resolution, 128);
  const r = await parity(G, config, { seeds: [3, 4], psi: 0.5, cutoff: 4 });
  assert.ok(r.dlatents! <= 1e-4, `dlatents max abs ${r.dlatents}`);
  const d = maxAbs(r.torch, r.onnx);
  assert.ok(d <= 1e-4, `images max abs ${d}`);
  G.dispose();
});

test('StyleGAN at the stored lod (3: 4² upscaled) and at a fractional lod (fade-in) matches libtorch', async () => {
  const { G, config } = await opened(`${FIXTURE_DIR}stylegan1-32.p4.pkl`);
  for (const lod of [undefined, 1.5]) {
    const r = await parity(G, config, { seeds: [5, 6], lod });
    const d = maxAbs(r.torch, r.onnx);
    assert.ok(d <= 1e-4, `lod ${lod}: images max abs ${d}`);
  }
  G.dispose();
});

test('ProGAN imported from pickles (fused and Theano-converted unfused), at lod 0 and the stored lod: within 1e-4', async () => {
  for (const [file, lods] of [['progan-32.p4.pkl', [0, undefined, 0.25]], ['progan-theano-32.p4.pkl', [undefined]]] as const) {
    const { G, config } = await opened(`${FIXTURE_DIR}${file}`);
    for (const lod of lods) {
      const r = await parity(G, config, { seeds: [8, 9, 10], lod });
      const d = maxAbs(r.torch, r.onnx);
      assert.ok(d <= 1e-4, `${file} lod ${lod}: images max abs ${d}`);
    }
    G.dispose();
  }
});

test('--fp16 weights: half-size graphs whose images stay within 2e-2 of the float32 ones', async () => {
  const { G, config } = await opened(defaultNetworkPath());
  const full = buildOnnx(G.stateDict(), config).graphs;
  const half = buildOnnx(G.stateDict(), config, { fp16: true }).graphs;
  for (const name of ['mapping.onnx', 'synthesis.onnx']) {
    const ratio = half.get(name)!.byteLength / full.get(name)!.byteLength;
    assert.ok(ratio > 0.45 && ratio < 0.56, `${name}: fp16/fp32 size ${ratio}`);
  }
  const a = await parity(G, config, { seeds: [0, 1], classes: [2, 3] });
  const b = await parity(G, config, { seeds: [0, 1], classes: [2, 3], fp16: true });
  const d = maxAbs(a.onnx, b.onnx);
  assert.ok(d > 0 && d <= 2e-2, `fp16 vs fp32 images max abs ${d}`);
  G.dispose();
});

test('graphs use only ops that onnxruntime-web runs on wasm and WebGPU, at opset 17, with the documented inputs', async () => {
  const { G, config } = await opened(defaultNetworkPath());
  const { graphs, info } = buildOnnx(G.stateDict(), config, { fp16: true });
  const { onnx } = onnxProto;
  for (const [name, bytes] of graphs) {
    const model = onnx.ModelProto.decode(bytes);
    assert.deepEqual(model.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', 17]]);
    const ops = new Set(model.graph!.node!.map((n) => n.opType!));
    assert.deepEqual([...ops].filter((op) => !PORTABLE_OPS.has(op)), [], name);
    const inputs = model.graph!.input!.map((i) => i.name);
    if (name === 'mapping.onnx') assert.deepEqual(inputs, ['z', 'c']);
    else assert.deepEqual(inputs, ['dlatents', ...info.layers!.map((_, i) => `noise${i}`)]);
  }
  assert.deepEqual(info.layers!.map((l) => l.resolution), [4, 4, 8, 8, 16, 16, 32, 32]);
  assert.equal(info.classes, 10);
  G.dispose();
});

test('stylegan export --onnx DIR writes the graphs and network.json; bad networks fail with the file name', async () => {
  const out = join(dir, 'default');
  const r = await runCli(['export', '--onnx', out]);
  assert.equal(r.code, 0, r.stderr);
  for (const f of ['mapping.onnx', 'synthesis.onnx', 'network.json']) assert.ok(existsSync(join(out, f)), f);
  const info = JSON.parse(readFileSync(join(out, 'network.json'), 'utf8')) as OnnxNetworkInfo;
  assert.equal(info.format, 'stylegan-ts-onnx');
  assert.equal(Buffer.from(info.layers![7]!.noise, 'base64').byteLength, 32 * 32 * 4);
  const pg = await runCli(['export', `${FIXTURE_DIR}progan-32.p4.pkl`, '--onnx', join(dir, 'progan'), '--fp16']);
  assert.equal(pg.code, 0, pg.stderr);
  assert.ok(existsSync(join(dir, 'progan', 'generator.onnx')));
  const bad = join(dir, 'bad.pkl');
  const fs = await import('node:fs/promises');
  await fs.writeFile(bad, 'not a network');
  const e = await runCli(['export', bad, '--onnx', join(dir, 'x')]);
  assert.equal(e.code, 1);
  assert.equal(e.stderr, `stylegan: ${bad}: neither a Python pickle (protocol 2-5) nor a safetensors checkpoint\n`);
  const { G, config } = await opened(defaultNetworkPath());
  await assert.rejects(exportOnnx(G, config, { dir: join(dir, 'lod'), lod: 7 }), /lod must be in \[0, 3\], got 7/);
  G.dispose();
});
