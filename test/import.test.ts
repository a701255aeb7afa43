import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as E from '../src/engine/index.js';
import type { Tensor } from '../src/engine/index.js';
import {
  buildDiscriminator, buildGenerator, proganConfig, styleganConfig,
  type Discriminator, type Generator, type NetworkConfig, type ProGANGenerator, type StyleGANGenerator,
} from '../src/nets/index.js';
import { importOfficial, importOfficialFile, inferOfficialConfig, readOfficial, type ImportedNetworks } from '../src/io/import-official.js';
import { inferFeatureMaps } from '../src/io/import/feature-maps.js';
import { inspectNetworkFile, type NetworkFileInfo } from '../src/io/network-info.js';
import { openGenerator } from '../src/io/open-network.js';
import { importCommand } from '../src/cli/import.js';
import { loadGenerator, type NetworkRole } from '../src/io/checkpoint.js';
import { readSafetensorsFile } from '../src/io/safetensors.js';
import {
  contiguousBytes, readPickle, readPickleFile, toFloat32Array,
  type NdArray, type PickleDict, type PickleObject, type PickleValue,
} from '../src/io/pickle.js';
import { FIXTURE_DIR, MANIFEST, fixtureBytes, type ManifestFixture } from './helpers/pickle-fixtures.js';
import { ROOT } from './helpers/python.js';
import { tempDir } from './helpers/temp-dir.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const ROLES: NetworkRole[] = ['G', 'D', 'Gs'];

/** The architectures the fixture generator (tools/make-pickle-fixtures.py) used, written out independently. */
const EXPECTED: Record<string, NetworkConfig> = {
  'stylegan1-32': styleganConfig({ resolution: 32, fmapBase: 32, fmapMax: 8, latentSize: 8, dlatentSize: 8, mappingFmaps: 8 }),
  'stylegan1-cond-8': styleganConfig({
    resolution: 8, labelSize: 3, fmapBase: 16, fmapMax: 8, latentSize: 4, dlatentSize: 6, mappingFmaps: 5, mappingLayers: 3,
    fusedScale: true, mbstdGroupSize: 2, truncationPsi: 0.5, truncationCutoff: 4,
  }),
  'progan-32': proganConfig({ resolution: 32, fmapBase: 32, fmapMax: 8, latentSize: 8 }),
  'progan-theano-32': proganConfig({ resolution: 32, fmapBase: 32, fmapMax: 8, latentSize: 8, fusedScale: false, mbstdGroupSize: 16 }),
};

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const tensorBytes = (t: Tensor) => {
  const a = t.toTypedArray();
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
};

/**
 * Manifest array name ('G/synthesis/4x4/Conv/weight', 'Gs/lod') → role and our state-dict name
 * ('G_synthesis/4x4/Conv/weight', 'lod'), through the manifest's own table of network paths and names.
 */
function ourName(fx: ManifestFixture, arrayName: string): { role: NetworkRole; name: string } {
  const nets = (fx.networks ?? []).filter((n) => arrayName.startsWith(`${n.path}/`)).sort((a, b) => b.path.length - a.path.length);
  const net = nets[0];
  assert.ok(net, `network of ${arrayName}`);
  const role = net.path.split('/')[0] as NetworkRole;
  const local = arrayName.slice(net.path.length + 1);
  return { role, name: net.path.includes('/') ? `${net.name}/${local}` : local };
}

/** Our network of each role, with every variable assigned straight from the parsed pickle. */
function assignDirectly(value: PickleValue, fx: ManifestFixture, config: NetworkConfig): Map<NetworkRole, Generator | Discriminator> {
  const arrays = new Map<string, NdArray>();
  const walk = (v: PickleValue, path: string) => {
    const state = (v as PickleObject).state as PickleDict;
    for (const pair of state.get('variables') as PickleValue[][]) arrays.set(`${path}/${pair[0] as string}`, pair[1] as NdArray);
    for (const [k, c] of (state.get('components') as PickleDict | undefined) ?? []) walk(c, `${path}/${k as string}`);
  };
  (value as PickleValue[]).forEach((v, i) => walk(v, ROLES[i]));
  const nets = new Map<NetworkRole, Generator | Discriminator>();
  for (const role of ROLES) {
    const net = role === 'D' ? buildDiscriminator(config, 7) : buildGenerator(config, 7);
    E.tidy(() => {
      const values = new Map<string, Tensor>();
      for (const [full, a] of arrays) {
        const { role: r, name } = ourName(fx, full);
        if (r === role) values.set(name, E.fromTypedArray(Float32Array.from(toFloat32Array(a)), a.shape));
      }
      if (!values.has('lod')) values.set('lod', E.zeros([]));
      net.loadStateDict(values);
    });
    nets.set(role, net);
  }
  return nets;
}

/** G and D outputs on fixed inputs, at full resolution (lod 0), with the stored noise. */
function outputs(config: NetworkConfig, G: Generator, D: Discriminator): Tensor[] {
  return E.tidy(() => {
    const gen = new E.Generator(11);
    const z = E.randn([4, config.latentSize], { generator: gen });
    const L = config.labelSize;
    // One-hot labels: sample i has class i mod L.
    const labels = L > 0 ? E.fromTypedArray(new Float32Array(4 * L).map((_, j) => (j % L === Math.floor(j / L) % L ? 1 : 0)), [4, L]) : null;
    const img = config.arch === 'stylegan'
      ? (G as StyleGANGenerator).forward(z, { labels, noise: 'const', lod: 0, truncationPsi: 0.7, truncationCutoff: 2 })
      : (G as ProGANGenerator).forward(z, { labels, lod: 0 });
    const reals = E.randn([4, config.numChannels, config.resolution, config.resolution], { generator: gen });
    const scores = D.forward(E.cat([img, reals], 0), { labels: labels && E.cat([labels, labels], 0), lod: 0 });
    return [E.keep(img), E.keep(scores)];
  });
}

for (const [fixture, expected] of Object.entries(EXPECTED)) {
  const fx = MANIFEST.fixtures[fixture];
  describe(`import ${fixture}`, () => {
    for (const [protocol, file] of Object.entries(fx.files)) {
      test(`protocol ${protocol}: inferred config, every array bit-exact, forward equals directly assigned weights`, async () => {
        const path = `${FIXTURE_DIR}${file}`;
        const imported = await importOfficialFile(path);
        const direct = assignDirectly(readPickle(fixtureBytes(path)), fx, expected);
        try {
          assert.deepEqual(imported.config, expected);
          assert.equal(imported.format, expected.arch === 'stylegan' ? 'stylegan1' : 'progan');
          assert.equal(imported.metadata.source, file);
          const seen = new Map<NetworkRole, Set<string>>(ROLES.map((r) => [r, new Set()]));
          for (const a of fx.arrays) {
            const { role, name } = ourName(fx, a.name);
            const t = imported[role]!.stateDict().get(name);
            assert.ok(t, `${role} ${name} exists`);
            assert.equal(t.dtype, 'float32');
            assert.deepEqual(t.shape, a.shape, `${a.name} shape`);
            assert.equal(sha256(tensorBytes(t)), a.sha256, `${a.name} bit-exact`);
            seen.get(role)!.add(name);
          }
          for (const role of ROLES) {
            // Every variable of ours came from the file; only the Theano-converted ProGAN has no lod (then 0).
            const missing = [...imported[role]!.stateDict().keys()].filter((n) => !seen.get(role)!.has(n));
            assert.deepEqual(missing, fixture === 'progan-theano-32' ? ['lod'] : [], `${role} variables not in the file`);
            if (missing.length) assert.equal(imported[role]!.stateDict().get('lod')!.item(), 0);
          }
          for (const [G, D] of [[imported.G!, imported.D!], [imported.Gs!, imported.D!]] as const) {
            const role = G === imported.G ? 'G' : 'Gs';
            const [a, b] = [outputs(expected, G, D), outputs(expected, direct.get(role) as Generator, direct.get('D') as Discriminator)];
            assert.ok(a[0].equal(b[0]), `${role} images equal`);
            assert.ok(a[1].equal(b[1]), 'D scores equal');
            assert.ok(Number.isFinite(a[1].abs().sum().item()));
            for (const t of [...a, ...b]) t.dispose();
          }
        } finally {
          imported.dispose();
          for (const n of direct.values()) n.dispose();
        }
      });
    }
  });
}

test('only the requested networks are built', async () => {
  const path = `${FIXTURE_DIR}${MANIFEST.fixtures['stylegan1-32'].files['4']}`;
  const gs = await importOfficialFile(path, { only: 'generator' });
  assert.deepEqual(ROLES.filter((r) => gs[r]), ['Gs']);
  gs.dispose();
  const d = await importOfficialFile(path, { only: ['D'] });
  assert.deepEqual(ROLES.filter((r) => d[r]), ['D']);
  assert.deepEqual(d.config, EXPECTED['stylegan1-32'], 'the config still comes from every network in the file');
  d.dispose();
});

describe('the feature-map schedule', () => {
  const schedule = (base: number, decay: number, max: number, stages: number[]) =>
    new Map(stages.map((s) => [s, Math.min(Math.floor(base / 2 ** (s * decay)), max)]));

  test('reproduces the official schedule and others, preferring the static kwargs', () => {
    assert.deepEqual(inferFeatureMaps(schedule(8192, 1, 512, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), {}, 'x'), { fmapBase: 8192, fmapDecay: 1, fmapMax: 512 });
    assert.deepEqual(inferFeatureMaps(schedule(16384, 1, 256, [1, 2, 3, 4, 5, 6]), {}, 'x'), { fmapBase: 16384, fmapDecay: 1, fmapMax: 256 });
    assert.deepEqual(inferFeatureMaps(schedule(4096, 0.5, 2048, [1, 2, 3, 4, 5, 6]), {}, 'x'), { fmapBase: 4096, fmapDecay: 0.5, fmapMax: 2048 });
    // All stages capped: any large enough base fits; the kwargs' base wins when it does.
    const capped = schedule(8192, 1, 512, [1, 2, 3]);
    assert.deepEqual(inferFeatureMaps(capped, {}, 'x'), { fmapBase: 4096, fmapDecay: 1, fmapMax: 512 });
    assert.deepEqual(inferFeatureMaps(capped, { fmapBase: 8192 }, 'x'), { fmapBase: 8192, fmapDecay: 1, fmapMax: 512 });
  });

  test('fails, listing the widths, when no schedule fits', () => {
    assert.throws(() => inferFeatureMaps(new Map([[1, 8], [2, 6], [3, 8]]), {}, 'net.pkl'),
      { message: 'net.pkl: no fmap_base / fmap_decay / fmap_max reproduces the feature maps per resolution (4: 8, 8: 6, 16: 8)' });
  });
});

describe('bad and unsupported input', () => {
  const sg1 = `${FIXTURE_DIR}${MANIFEST.fixtures['stylegan1-32'].files['4']}`;
  const state = (top: PickleValue, i: number) => (top as PickleObject[])[i].state as PickleDict;
  const variables = (s: PickleDict) => s.get('variables') as PickleValue[][];

  test('a wrong shape and a missing variable are both reported, naming the file and the network', () => {
    const top = readPickle(fixtureBytes(sg1));
    const d = variables(state(top, 1));
    const i = d.findIndex((p) => p[0] === '4x4/Dense0/bias');
    d.splice(i, 1);
    const j = d.findIndex((p) => p[0] === '8x8/Conv0/bias');
    d[j] = Object.freeze(['8x8/Conv0/bias', { ...(d[j][1] as NdArray), shape: [2, 4] }]) as PickleValue[];
    assert.throws(() => importOfficial(top, 'bad.pkl', { only: ['D'] }), {
      message: "bad.pkl: D (D_basic): 2 variable mismatch(es):\n  '8x8/Conv0/bias': shape [2, 4] but the network has [8]\n  missing variable '4x4/Dense0/bias'",
    });
  });

  test('kwargs our networks cannot express are refused by name', () => {
    const top = readPickle(fixtureBytes(sg1));
    (state(top, 1).get('static_kwargs') as PickleDict).set('use_wscale', false);
    assert.throws(() => importOfficial(top, 'k.pkl'), {
      message: 'k.pkl: D was built with use_wscale=false; stylegan-ts supports only true (equalized learning rate)',
    });
  });

  test('networks that disagree on the architecture are refused', () => {
    const top = readPickle(fixtureBytes(sg1));
    (state(top, 1).get('static_kwargs') as PickleDict).set('resolution', 64);
    assert.throws(() => importOfficial(top, 'm.pkl'), { message: 'm.pkl: D/D_basic static kwargs gives resolution 64 but Gs/G_style static kwargs gives 32' });
    const g = readPickle(fixtureBytes(sg1));
    const dv = variables(state(g, 1));
    const k = dv.findIndex((p) => p[0] === '4x4/Dense0/weight');
    dv[k] = Object.freeze(['4x4/Dense0/weight', { ...(dv[k][1] as NdArray), shape: [8 * 16, 16] }]) as PickleValue[];
    assert.throws(() => importOfficial(g, 'w.pkl'), { message: 'w.pkl: no fmap_base / fmap_decay / fmap_max reproduces the feature maps per resolution (2: 16, 4: 8, 8: 8, 16: 4, 32: 2)' });
  });

  test('a discriminator without the minibatch-stddev channel gets the layer turned off', () => {
    for (const fixture of ['stylegan1-32', 'progan-32']) {
      const top = readPickle(fixtureBytes(`${FIXTURE_DIR}${MANIFEST.fixtures[fixture].files['4']}`));
      const dv = variables(state(top, 1));
      const k = dv.findIndex((p) => p[0] === '4x4/Conv/weight');
      dv[k] = Object.freeze(['4x4/Conv/weight', { ...(dv[k][1] as NdArray), shape: [3, 3, 8, 8] }]) as PickleValue[];
      const config = inferOfficialConfig(readOfficial(top, 'x'), 'x');
      assert.deepEqual([config.mbstdGroupSize, config.mbstdNumFeatures], [0, 1], fixture);
      assert.deepEqual({ ...config, mbstdGroupSize: 4 }, EXPECTED[fixture], `${fixture}: nothing else changes`);
    }
  });

  test('other pickles are not mistaken for networks', async () => {
    await assert.rejects(importOfficialFile(`${FIXTURE_DIR}misc.p4.pkl`), /misc\.p4\.pkl: not an official network pickle: expected tuple\(G, D, Gs\) of TF networks or a stylegan2-ada dict of G, D, G_ema; found a dict with keys none, true, false/);
    assert.throws(() => readOfficial(readPickle(fixtureBytes(`${FIXTURE_DIR}misc.p4.pkl`)), 'x'), /not an official network pickle/);
  });
});

describe('stylegan2-ada pickles', () => {
  const fx = MANIFEST.fixtures['stylegan2ada-8'];
  const tensors = fx.arrays.filter((a) => a.parameter !== undefined);

  for (const [protocol, file] of Object.entries(fx.files)) {
    test(`protocol ${protocol}: every tensor read bit-exact under its module path; building refused`, async () => {
      const path = `${FIXTURE_DIR}${file}`;
      const p = readOfficial(await readPickleFile(path), path);
      assert.equal(p.format, 'stylegan2-ada');
      const read = p.torch.flatMap((n) => [...n.tensors]);
      assert.deepEqual(read.map(([name]) => name), tensors.map((a) => a.name.replace('/', '.')));
      for (const [i, [, t]] of read.entries()) {
        assert.deepEqual(t.shape, tensors[i].shape);
        assert.equal(sha256(contiguousBytes(t)), tensors[i].sha256, tensors[i].name);
      }
      assert.deepEqual(p.torch.flatMap((n) => [...n.parameters]), tensors.filter((a) => a.parameter).map((a) => a.name.replace('/', '.')));
      await assert.rejects(importOfficialFile(path), {
        message: `${path}: a StyleGAN2/3 (stylegan2-ada-pytorch) network: 93 tensors read (G: 37, D: 19, G_ema: 37); `
          + 'stylegan-ts implements ProGAN and StyleGAN1 only (`stylegan info --tensors` lists them)',
      });
    });
  }

  test('info lists every tensor and counts the parameters', async () => {
    const info = await inspectNetworkFile(`${FIXTURE_DIR}${fx.files['4']}`);
    assert.equal(info.format, 'stylegan2-ada-pytorch / stylegan3 pickle');
    assert.deepEqual([info.resolution, info.channels, info.labels], [8, 3, 0]);
    assert.deepEqual(info.networks.map((n) => n.role), ['G', 'D', 'G_ema']);
    assert.deepEqual(info.networks.flatMap((n) => n.tensors.map((t) => `${t.name} ${t.dtype} [${t.shape.join(',')}]`)),
      tensors.map((a) => `${a.name.replace('/', '.')} ${a.dtype} [${a.shape.join(',')}]`));
    const count = (role: string) => tensors.filter((a) => a.parameter && a.name.startsWith(`${role}/`)).reduce((n, a) => n + a.shape.reduce((x, y) => x * y, 1), 0);
    assert.deepEqual(info.networks.map((n) => n.parameters), [count('G'), count('D'), count('G_ema')]);
    assert.match(info.problem ?? '', /stylegan-ts implements ProGAN and StyleGAN1 only/);
  });
});

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('CLI: import → info → loadGenerator / openGenerator round trip, and the stylegan2-ada refusal', async () => {
  const dir = tempDir('sgts-import');
  const pkl = `${FIXTURE_DIR}${MANIFEST.fixtures['stylegan1-cond-8'].files['4']}`;
  const out = join(dir, 'cond.safetensors');
  const imp = cli(['import', pkl, '-o', out, '--only', 'Gs,D']);
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, /cond\.safetensors: D [\d,]+, Gs [\d,]+ parameters \(stylegan 8x8, 3 channel\(s\), 3 label\(s\); [\d.]+ MiB\) from official StyleGAN1 TF pickle /);

  const info = cli(['info', out, '--json']);
  assert.equal(info.code, 0, info.stderr);
  const report = JSON.parse(info.stdout) as NetworkFileInfo;
  const reference: ImportedNetworks = await importOfficialFile(pkl);
  try {
    assert.equal(report.kind, 'checkpoint');
    assert.deepEqual(report.config, EXPECTED['stylegan1-cond-8']);
    assert.deepEqual(report.networks.map((n) => [n.role, n.parameters]), [['D', reference.D!.numParams()], ['Gs', reference.Gs!.numParams()]]);
    assert.equal(report.metadata.source, 'stylegan1-cond-8.p4.pkl');
    assert.equal(report.metadata.source_format, 'official StyleGAN1 TF pickle');
    assert.equal((JSON.parse(report.metadata.static_kwargs as string) as Record<string, { build_func_name: string }>).D.build_func_name, 'D_basic');

    const { G } = await loadGenerator(out);
    const opened = await openGenerator(pkl);
    assert.equal(opened.source, `official StyleGAN1 TF pickle ${pkl} (Gs)`);
    assert.deepEqual(opened.config, EXPECTED['stylegan1-cond-8']);
    for (const [name, t] of reference.Gs!.stateDict()) {
      assert.ok(G.stateDict().get(name)!.equal(t), `checkpoint ${name}`);
      assert.ok(opened.G.stateDict().get(name)!.equal(t), `opened pickle ${name}`);
    }
    const fromCheckpoint = await openGenerator(out);
    assert.equal(fromCheckpoint.source, `stylegan-ts checkpoint ${out} (Gs)`);
    for (const n of [G, opened.G, fromCheckpoint.G]) n.dispose();
  } finally {
    reference.dispose();
  }

  const half = join(dir, 'half.safetensors');
  assert.match(await importCommand(`${FIXTURE_DIR}${MANIFEST.fixtures['progan-theano-32'].files['4']}`, { output: half, fp16: true }),
    /half\.safetensors: G 3,414, D 3,511, Gs 3,414 parameters \(progan 32x32, 3 channel\(s\), 0 label\(s\), float16; [\d.]+ MiB\) from official ProGAN TF pickle /);
  const st = await readSafetensorsFile(half);
  assert.equal(st.tensors.get('Gs/8x8/Conv0/weight')!.dtype, 'float16');
  assert.deepEqual([...new Set([...st.tensors.keys()].map((k) => k.split('/')[0]))], ['G', 'D', 'Gs']);

  const sg2 = `${FIXTURE_DIR}${MANIFEST.fixtures['stylegan2ada-8'].files['4']}`;
  const refused = cli(['import', sg2, '-o', join(dir, 'no.safetensors')]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, `stylegan: ${sg2}: a StyleGAN2/3 (stylegan2-ada-pytorch) network: 93 tensors read (G: 37, D: 19, G_ema: 37); `
    + 'stylegan-ts implements ProGAN and StyleGAN1 only (`stylegan info --tensors` lists them)\n');
});
