/**
 * The fuzz and fault suite: hostile inputs for every reader, each run through the CLI in a child process. Every
 * case must end in exit code 1 with a `stylegan: <file>: <problem>` line naming the file, within the time and
 * peak-RSS budget of helpers/hostile-cli.ts. The damaged inputs are seeded (every run tries the same ones);
 * STYLEGAN_SOAK=1 tries many more.
 */
import { after, test } from 'node:test';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertRefused, runChild, worstRss } from './helpers/hostile-cli.js';
import { encodeWithSharp, noiseImage } from './helpers/images.js';
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
