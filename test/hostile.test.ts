/**
 * The fuzz and fault suite: hostile inputs for every reader, each run through the CLI in a child process. Every
 * case must end in exit code 1 with a `stylegan: <file>: <problem>` line naming the file, within the time and
 * peak-RSS budget of helpers/hostile-cli.ts. The damaged inputs are seeded (every run tries the same ones);
 * STYLEGAN_SOAK=1 tries many more.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { crc32, deflateRawSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertCleanEnd, assertRefused, runChild, worstRss } from './helpers/hostile-cli.js';
import { encodeWithSharp, noiseImage } from './helpers/images.js';
import { deflatedZeros, rawZip } from './helpers/raw-zip.js';
import { seededRandom } from './helpers/seeded.js';
import { tempDir } from './helpers/temp-dir.js';

const HOSTILE = fileURLToPath(new URL('../../test/fixtures/hostile/', import.meta.url));
const PICKLES = fileURLToPath(new URL('../../test/fixtures/pickles/', import.meta.url));
const dir = tempDir('stylegan-hostile');
const SOAK = process.env.STYLEGAN_SOAK === '1';

after(() => {
  const rows = [...worstRss].map(([reader, w]) => `  ${reader}: ${w.rssMiB.toFixed(0)} MiB, ${w.seconds.toFixed(1)} s (${w.label})`);
  process.stderr.write(`hostile inputs, worst peak RSS per reader:\n${rows.join('\n')}\n`);
});

/** A folder of `count` good 8×8 PNGs plus the given extra files. */
async function imageFolder(name: string, count: number, extra: Record<string, Uint8Array> = {}): Promise<string> {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < count; i++) writeFileSync(join(folder, `img${i}.png`), await encodeWithSharp(noiseImage(8, 8, 3, i + 1)));
  for (const [file, bytes] of Object.entries(extra)) writeFileSync(join(folder, file), bytes);
  return folder;
}

// --- Defect 1: errors after a progress bar started must end the process, and name the CLI's flags.

test('dataset create with a corrupt PNG ends with the error (no hang) and names --skip-bad', async () => {
  const good = await encodeWithSharp(noiseImage(8, 8, 3, 9));
  const src = await imageFolder('corrupt-png', 3, { 'bad.png': good.subarray(0, 40) });
  const r = runChild(['dataset', 'create', '--source', src, '--dest', join(dir, 'corrupt.zip')], { budget: { seconds: 30, rssMiB: 1024 } });
  assertRefused(r, src, /1 of 4 images cannot be used \(nothing was written; pass --skip-bad to leave them out\):\n {2}bad\.png: /, 'png', 'truncated PNG');
});

test('dataset create with a non-square photo names --transform', async () => {
  const src = await imageFolder('wide', 2, { 'wide.png': await encodeWithSharp(noiseImage(12, 8, 3, 3)) });
  const r = runChild(['dataset', 'create', '--source', src, '--dest', join(dir, 'wide.zip'), '--resolution', '8'], { budget: { seconds: 30, rssMiB: 1024 } });
  assertRefused(r, src, /wide\.png: is 12x8, not square \(use --transform center-crop or --transform center-crop-wide\)/, 'png', 'not square');
});

// --- Defect 2: pickle expansion and depth bombs.

for (const [file, problem] of [
  ['kwargs-shared.pkl', /static_kwargs expand to more than 100000 values/],
  ['kwargs-cycle.pkl', /static_kwargs nest more than 64 levels deep/],
  ['kwargs-deep.pkl', /static_kwargs nest more than 64 levels deep/],
] as const) {
  test(`a network pickle with ${file.replace('.pkl', '')} static kwargs is refused by import`, () => {
    const path = join(HOSTILE, file);
    const r = runChild(['import', path, '-o', join(dir, `${file}.safetensors`)]);
    assertRefused(r, path, problem, 'pickle', file);
  });
}

test('pickle truncations are refused by info', () => {
  const base = readFileSync(join(PICKLES, 'stylegan1-32.p4.pkl'));
  const cuts = SOAK ? 40 : 4;
  for (let i = 0; i < cuts; i++) {
    const path = join(dir, `cut${i}.pkl`);
    writeFileSync(path, base.subarray(0, Math.floor((base.length * (i + 0.5)) / cuts)));
    assertRefused(runChild(['info', path]), path, /./, 'pickle', `truncated at ${i + 0.5}/${cuts}`);
  }
  copyFileSync(join(PICKLES, 'stylegan1-32.p4.pkl'), join(dir, 'whole.pkl'));
});

// --- Defect 3: zip entries that lie about their size, and zip bombs.

async function pngBytes(seed: number, size = 8): Promise<Uint8Array> {
  return encodeWithSharp(noiseImage(size, size, 3, seed));
}

test('a zip entry claiming 2**31 bytes (stored) is refused by dataset create, dataset info and train', async () => {
  const zip = join(dir, 'claims-2g.zip');
  writeFileSync(zip, rawZip([
    { name: 'a.png', stored: await pngBytes(1) },
    { name: 'b.png', stored: await pngBytes(2), size: 2 ** 31, compressedSize: 2 ** 31 },
  ]));
  const problem = /entry b\.png claims 2147483648 bytes at offset \d+, beyond the end of the archive/;
  assertRefused(runChild(['dataset', 'create', '--source', zip, '--dest', join(dir, 'claims-out.zip')]), zip, problem, 'zip', 'stored 2**31 (create)');
  assertRefused(runChild(['dataset', 'info', zip]), zip, problem, 'zip', 'stored 2**31 (info)');
  assertRefused(runChild(['train', '--data', zip, '--run-dir', join(dir, 'claims-run'), '--kimg', '0.01']), zip, problem, 'zip', 'stored 2**31 (train)');
  assert.equal(readdirSync(dir).filter((f) => f.includes('.partial-')).length, 0, 'no partial output is left');
});

test('a 1 MB zip inflating to 1 GiB is refused before it is inflated', async () => {
  const zip = join(dir, 'bomb.zip');
  const bomb = await deflatedZeros(2 ** 30);
  writeFileSync(zip, rawZip([{ name: 'a.png', stored: await pngBytes(1) }, { name: 'bomb.png', method: 8, size: 2 ** 30, ...bomb }]));
  assertRefused(runChild(['dataset', 'create', '--source', zip, '--dest', join(dir, 'bomb-out.zip')]), zip,
    /bomb\.png: .*entry bomb\.png claims 1073741824 bytes, more than the \d+ allowed for it/, 'zip', 'deflate bomb 1 GiB');
});

test('an image of a training dataset may not be larger than its declared size allows', async () => {
  const zip = join(dir, 'fat.zip');
  const fat = Buffer.concat([await pngBytes(3), Buffer.alloc(4 << 20)]);
  writeFileSync(zip, rawZip([
    { name: 'a.png', stored: await pngBytes(1) }, { name: 'b.png', stored: await pngBytes(2) },
    { name: 'c.png', stored: fat }, { name: 'dataset.json', stored: Buffer.from('{"labels": null}') },
    ...await Promise.all([4, 5, 6, 7, 8].map(async (seed) => ({ name: `d${seed}.png`, stored: await pngBytes(seed) }))),
  ]));
  // The headers are fine (8x8 RGB) and the 8 images together are within 8 images' budget: the 4 MiB after c.png's
  // end are refused when training reads that image.
  const r = runChild(['train', '--data', zip, '--run-dir', join(dir, 'fat-run'), '--kimg', '0.01']);
  assertRefused(r, zip, /c\.png claims \d+ bytes, more than the 1048968 allowed for it/, 'zip', '4 MiB entry in an 8x8 dataset (train)');
});

test('a zip dataset whose images claim more bytes together than their size allows is refused when opened', async () => {
  // c.png is a good 8x8 PNG followed by zeros up to 64 MiB, deflated to 64 KiB: its head (all that opening reads)
  // is a good header; the dataset is refused on its central directory, before anything else is inflated.
  const png = await pngBytes(3);
  const bomb = Buffer.concat([png, Buffer.alloc(2 ** 26 - png.length)]);
  const zip = join(dir, 'claims-dataset.zip');
  writeFileSync(zip, rawZip([
    { name: 'a.png', stored: await pngBytes(1) }, { name: 'b.png', stored: await pngBytes(2) },
    { name: 'c.png', method: 8, stored: deflateRawSync(bomb, { level: 9 }), crc: crc32(bomb), size: bomb.length },
  ]));
  const problem = /its 3 image entries claim to unpack to \d+ bytes, more than the 3146904 3 images of 8x8 with 3 channel\(s\) may take \(a zip bomb, or unpack it into a folder\)/;
  assertRefused(runChild(['dataset', 'info', zip]), zip, problem, 'zip', 'dataset claims 64 MiB (info)');
  assertRefused(runChild(['train', '--data', zip, '--run-dir', join(dir, 'claims-dataset-run'), '--kimg', '0.01']), zip, problem, 'zip', 'dataset claims 64 MiB (train)');
});

// --- Defect 4: huge label values.

for (const label of [2147483647, 1e8]) {
  test(`a dataset.json label of ${label} is refused`, async () => {
    const zip = join(dir, `label-${label}.zip`);
    const json = JSON.stringify({ labels: [['a.png', 0], ['b.png', label]] });
    writeFileSync(zip, rawZip([{ name: 'a.png', stored: await pngBytes(1) }, { name: 'b.png', stored: await pngBytes(2) }, { name: 'dataset.json', stored: Buffer.from(json) }]));
    const problem = new RegExp(`dataset\\.json: label of b\\.png is ${label}; class indices must be below 65536`);
    assertRefused(runChild(['dataset', 'info', zip]), zip, problem, 'dataset.json', `label ${label} (info)`);
    assertRefused(runChild(['train', '--data', zip, '--run-dir', join(dir, `label-run-${label}`), '--kimg', '0.01']), zip, problem, 'dataset.json', `label ${label} (train)`);
  });
}

// --- Defect 6: symlink loops in folder datasets.

test('folder datasets follow each real folder once: links to . add no images and do not overflow', async () => {
  const src = await imageFolder('loops', 4);
  symlinkSync('.', join(src, 'a'));
  symlinkSync('.', join(src, 'b'));
  mkdirSync(join(src, 'sub'));
  symlinkSync('..', join(src, 'sub', 'up'));
  const r = runChild(['dataset', 'info', src, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { count: number }).count, 4);
});

// --- Defect 7: declared image sizes.

/** A PNG whose IHDR declares `width`×`height` (CRC fixed up), with the original pixels after it. */
async function lyingPng(width: number, height: number): Promise<Uint8Array> {
  const png = Buffer.from(await pngBytes(5));
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

test('a PNG header declaring 65536x65536 is refused before decoding', async () => {
  const src = await imageFolder('huge-header', 2, { 'huge.png': await lyingPng(65536, 65536) });
  const r = runChild(['dataset', 'create', '--source', src, '--dest', join(dir, 'huge.zip'), '--resolution', '8']);
  assertRefused(r, src, /huge\.png: declares 65536x65536 pixels, more than the 67108864 an image may have/, 'png', 'IHDR 65536x65536');
});

// --- Seeded truncations of every reader's format, and checkpoint configs without bounds (defect 5).

/** Writes `count` seeded truncations of `bytes` (never empty, never whole) and returns their paths. */
function truncations(bytes: Uint8Array, stem: string, ext: string, count: number, seed: number): string[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const path = join(dir, `${stem}-cut${i}.${ext}`);
    writeFileSync(path, bytes.subarray(0, 1 + Math.floor(rand() * (bytes.length - 1))));
    return path;
  });
}

const MODEL = fileURLToPath(new URL('../../models/fmnist32-stylegan.safetensors', import.meta.url));
const CUTS = SOAK ? 30 : 3;

test('safetensors truncations are refused by info and generate', () => {
  for (const path of truncations(readFileSync(MODEL), 'model', 'safetensors', CUTS, 11)) {
    assertRefused(runChild(['info', path]), path, /./, 'safetensors', 'truncated (info)');
  }
  const [first] = truncations(readFileSync(MODEL), 'model-gen', 'safetensors', 1, 12);
  assertRefused(runChild(['generate', '--network', first!, '--seeds', '0', '--class', '0', '--outdir', join(dir, 'cut-gen')]), first!, /./, 'safetensors', 'truncated (generate)');
});

/** The packaged model with its header rewritten by `edit` (tensor data untouched). */
function editedModel(name: string, edit: (header: Record<string, unknown>) => unknown): string {
  const bytes = readFileSync(MODEL);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const json = Buffer.from(JSON.stringify(edit(header)));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([length, json, bytes.subarray(8 + n)]));
  return path;
}

function withConfig(name: string, overrides: Record<string, unknown>): string {
  return editedModel(name, (h) => {
    const meta = h.__metadata__ as Record<string, string>;
    return { ...h, __metadata__: { ...meta, config: JSON.stringify({ ...JSON.parse(meta.config!), ...overrides }) } };
  });
}

for (const [name, overrides, problem] of [
  ['mapping-1e6', { mappingLayers: 1e6 }, /mappingLayers must be an integer in 1…64, got 1000000/],
  ['latent-1e9', { latentSize: 1e9 }, /latentSize must be an integer in 1…4096, got 1000000000/],
  ['channels-1e9', { numChannels: 1e9 }, /numChannels must be an integer in 1…4, got 1000000000/],
  ['unknown-key', { bogusKey: 5 }, /unknown stylegan config key 'bogusKey'/],
  ['inconsistent', { mappingLayers: 64, mappingFmaps: 4096, fmapMax: 4096, fmapBase: 65536 }, /\(Gs\): G_mapping: \d+ variable mismatch\(es\):\n {2}'Dense0\/weight': shape \[256, 128\] but the network has \[256, 4096\]/],
] as const) {
  test(`a checkpoint config with ${name} is refused before (or while) building, naming the file`, () => {
    const path = withConfig(`config-${name}.safetensors`, overrides);
    const r = runChild(['generate', '--network', path, '--seeds', '0', '--class', '0', '--outdir', join(dir, `config-${name}`)]);
    assertRefused(r, path, problem, 'safetensors', `config ${name}`);
  });
}

test('safetensors metadata nested 200,000 deep is refused without a stack overflow', () => {
  // Written as text: JSON.stringify itself would overflow the stack on such a value.
  const bytes = readFileSync(MODEL);
  const n = Number(bytes.readBigUInt64LE(0));
  const text = bytes.subarray(8, 8 + n).toString('utf8').trimEnd();
  const json = Buffer.from(`${text.slice(0, -1)}, "deep": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, 'deep-meta.safetensors');
  writeFileSync(path, Buffer.concat([length, json, bytes.subarray(8 + n)]));
  assertRefused(runChild(['info', path]), path, /safetensors: header nests more than 64 levels deep/, 'safetensors', 'metadata 200k deep');
});

test('import on a safetensors file says what the file is', () => {
  assertRefused(runChild(['import', MODEL, '-o', join(dir, 'again.safetensors')]), MODEL,
    /is a safetensors checkpoint, not an official network pickle/, 'safetensors', 'import of a checkpoint');
});

// --- Defect 9: NaN / Inf.

/** A float32 .npy of `rows` × `cols` values (0.1 each), with `poison` at index `at`. */
function npy(rows: number, cols: number, poison: number, at: number): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  header = header.padEnd(118, ' ') + '\n';
  const data = new Float32Array(rows * cols).fill(0.1);
  data[at] = poison;
  return Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, header.length, 0]), Buffer.from(header), Buffer.from(data.buffer)]);
}

test('NaN or infinite latents are refused, naming the file and the row', () => {
  for (const [label, poison] of [['nan', NaN], ['inf', Infinity]] as const) {
    const path = join(dir, `z-${label}.npy`);
    writeFileSync(path, npy(3, 128, poison, 128 + 5));
    const r = runChild(['generate', '--z', path, '--class', '0', '--outdir', join(dir, `z-${label}`)]);
    assertRefused(r, path, new RegExp(`z value 133 \\(row 1\\) is ${String(poison)}; NaN or infinite latents render black images`), 'npy', `z with ${label}`);
  }
});

test('npy truncations are refused by generate --z', () => {
  for (const path of truncations(npy(2, 128, 0.5, 0), 'z', 'npy', CUTS, 13)) {
    assertRefused(runChild(['generate', '--z', path, '--class', '0', '--outdir', join(dir, 'z-cut')]), path, /./, 'npy', 'truncated z');
  }
});

test('a checkpoint with a NaN weight renders with a warning naming the file and the variable', () => {
  const bytes = Buffer.from(readFileSync(MODEL));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype?: string; data_offsets?: [number, number] }>;
  const entry = header['Gs/G_mapping/Dense0/weight']!;
  assert.equal(entry.dtype, 'F16'); // the packaged model is stored in float16: 0x7e00 is a NaN
  bytes.writeUInt16LE(0x7e00, 8 + n + entry.data_offsets![0]);
  const path = join(dir, 'nan-weight.safetensors');
  writeFileSync(path, bytes);
  const r = runChild(['generate', '--network', path, '--seeds', '0', '--class', '0', '--outdir', join(dir, 'nan-weight')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^stylegan: warning: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: Gs: 1 weight value\\(s\\) are NaN or infinite \\(first in '[^']*Dense0/weight'\\)`, 'm'));
});

// --- Zip and dataset.json damage.

test('truncated dataset zips and a truncated dataset.json are refused by dataset info', async () => {
  const src = await imageFolder('for-zip', 4);
  const zip = join(dir, 'good.zip');
  assert.equal(runChild(['dataset', 'create', '--source', src, '--dest', zip]).code, 0);
  for (const path of truncations(readFileSync(zip), 'dataset', 'zip', CUTS, 17)) {
    assertRefused(runChild(['dataset', 'info', path]), path, /./, 'zip', 'truncated zip');
  }
  const broken = join(dir, 'broken-json.zip');
  writeFileSync(broken, rawZip([{ name: 'a.png', stored: await pngBytes(1) }, { name: 'dataset.json', stored: Buffer.from('{"labels": [["a.png", 0]') }]));
  assertRefused(runChild(['dataset', 'info', broken]), broken, /dataset\.json: invalid JSON/, 'dataset.json', 'truncated JSON');
});

// --- Defect 8: threads, environment and --net keys; output errors.

test('--threads beyond the cores, STYLEGAN_THREADS=abc and unknown --net keys are refused', () => {
  const threads = runChild(['--threads', '100000', 'selfcheck']);
  assert.equal(threads.code, 1);
  assert.match(threads.stderr, /^stylegan: option '--threads <n>' argument '100000' is invalid\. --threads: expected an integer from 1 to \d+ \(the cores of this machine\), got '100000'/);
  const env = runChild(['selfcheck'], { env: { STYLEGAN_THREADS: 'abc' } });
  assert.equal(env.code, 1);
  assert.match(env.stderr, /^stylegan: STYLEGAN_THREADS: expected an integer from 1 to \d+ \(the cores of this machine\), got 'abc'/);
  const net = runChild(['train', '--data', join(dir, 'none.zip'), '--net', 'bogusKey=5']);
  assert.equal(net.code, 1);
  assert.match(net.stderr, /^stylegan: --net: unknown stylegan config key 'bogusKey'/);
});

test('an output folder that cannot be created reports the true reason', { skip: process.getuid?.() === 0 ? 'root ignores permissions' : false }, () => {
  const locked = join(dir, 'locked');
  mkdirSync(locked, { mode: 0o555 });
  const r = runChild(['generate', '--seeds', '0', '--class', '0', '--outdir', join(locked, 'a', 'b')]);
  assertRefused(r, join(locked, 'a', 'b'), /cannot create the folder \(EACCES: permission denied\)/, 'output', 'EACCES');
});

// --- Defect 10: --grid and --npy hold every image at once; they are bounded before any work.

test('a --grid too large to hold is refused before rendering', () => {
  const r = runChild(['generate', '--seeds', '0-299999', '--class', '0', '--grid', join(dir, 'huge-grid.png')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^stylegan: --grid: 300000 images of 32x32 take 293 MiB at once, more than 256 MiB; write them one by one with --outdir, or render fewer/);
  assert.ok(r.seconds < 30 && r.rssMiB < 1024, `${r.seconds} s, ${r.rssMiB} MiB`);
});

// --- Seeded byte flips of every reader's format: each ends cleanly (no harm done, or refused naming the file).

const FLIPS = SOAK ? 40 : 3;

/**
 * Writes `count` seeded copies of `bytes` with 1 to 3 bytes changed at offsets below `span` (the part of the format
 * that says how to read the rest: headers, opcodes, JSON), and returns their paths. An ASCII digit becomes another
 * digit (a text header stays parseable with a size, offset, shape or label changed); any other byte is XORed with
 * a non-zero value.
 */
function flips(bytes: Uint8Array, stem: string, ext: string, count: number, seed: number, span = bytes.length): string[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const copy = Buffer.from(bytes);
    for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
      const at = Math.floor(rand() * Math.min(span, copy.length));
      const digit = copy[at]! - 0x30;
      copy[at] = digit >= 0 && digit <= 9 ? 0x30 + ((digit + 1 + Math.floor(rand() * 9)) % 10) : copy[at]! ^ (1 + Math.floor(rand() * 255));
    }
    const path = join(dir, `${stem}-flip${i}.${ext}`);
    writeFileSync(path, copy);
    return path;
  });
}

test('safetensors byte flips end cleanly in info', () => {
  const bytes = readFileSync(MODEL);
  for (const path of flips(bytes, 'model', 'safetensors', FLIPS, 21, 8 + Number(bytes.readBigUInt64LE(0)))) {
    assertCleanEnd(runChild(['info', path]), path, 'safetensors', 'flipped header (info)');
  }
});

test('pickle byte flips end cleanly in info', () => {
  // The first KiB holds the class names and static kwargs (the weights' bytes after them are tried by the soak).
  const bytes = readFileSync(join(PICKLES, 'stylegan1-cond-8.p4.pkl'));
  for (const path of flips(bytes, 'net', 'pkl', FLIPS, 22, SOAK ? bytes.length : 1024)) {
    assertCleanEnd(runChild(['info', path]), path, 'pickle', 'flipped pickle (info)');
  }
});

test('npy byte flips end cleanly in generate --z', () => {
  for (const path of flips(npy(2, 128, 0.5, 0), 'z', 'npy', SOAK ? FLIPS : 3, 23, 128)) {
    assertCleanEnd(runChild(['generate', '--z', path, '--class', '0', '--outdir', join(dir, 'z-flip')]), path, 'npy', 'flipped npy header');
  }
});

test('dataset zip, PNG and dataset.json byte flips end cleanly in dataset info and dataset create', async () => {
  const zip = join(dir, 'flip-base.zip');
  const json = Buffer.from(JSON.stringify({ labels: [['a.png', 0], ['b.png', 1], ['c.png', 2]] }));
  const images = [await pngBytes(1), await pngBytes(2), await pngBytes(3)];
  writeFileSync(zip, rawZip([...images.map((stored, i) => ({ name: `${'abc'[i]}.png`, stored })), { name: 'dataset.json', stored: json }]));
  for (const path of flips(readFileSync(zip), 'dataset', 'zip', FLIPS, 24)) {
    assertCleanEnd(runChild(['dataset', 'info', path]), path, 'zip', 'flipped zip (info)');
  }
  flips(images[0]!, 'photo', 'png', FLIPS, 25).forEach((png, i) => {
    const src = join(dir, `flip-png${i}`);
    mkdirSync(src);
    images.slice(1).forEach((bytes, k) => writeFileSync(join(src, `good${k}.png`), bytes));
    copyFileSync(png, join(src, 'flipped.png'));
    assertCleanEnd(runChild(['dataset', 'create', '--source', src, '--dest', join(dir, `flip-png${i}.zip`)]), src, 'png', 'flipped PNG (create)');
  });
  flips(json, 'labels', 'json', FLIPS, 26).forEach((flipped, i) => {
    const path = join(dir, `flip-json${i}.zip`);
    writeFileSync(path, rawZip([...images.map((stored, k) => ({ name: `${'abc'[k]}.png`, stored })), { name: 'dataset.json', stored: readFileSync(flipped) }]));
    assertCleanEnd(runChild(['dataset', 'info', path]), path, 'dataset.json', 'flipped dataset.json (info)');
  });
});
