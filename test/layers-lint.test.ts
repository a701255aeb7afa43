import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });
const ORDER = 'engine → nn → nets → io → data, gen → train, metrics, project → studio → cli';

/** The layer rule's messages for `code` placed at `file` (relative to the repository). */
async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === 'layers/imports-point-down').map((m) => m.message);
}

test('lint: an upward import in src/ fails, naming both layers and the order', async () => {
  assert.deepEqual(await layerErrors('src/nn/probe.ts', "import { main } from '../cli/main.js';\nexport const m = main;\n"), [
    `src/nn/ may not import src/cli/ ('../cli/main.js'): imports point down the layers ${ORDER}. Move the shared code down, or pass it in from above.`,
  ]);
  assert.deepEqual(await layerErrors('src/io/import/probe.ts', "export { Trainer } from '../../train/trainer.js';\n"), [
    `src/io/ may not import src/train/ ('../../train/trainer.js'): imports point down the layers ${ORDER}. Move the shared code down, or pass it in from above.`,
  ]);
  // Siblings on one level do not import each other; dynamic imports and import types count.
  assert.equal((await layerErrors('src/metrics/probe.ts', "export const t = import('../train/index.js');\n")).length, 1);
  assert.equal((await layerErrors('src/nets/probe.ts', "export type D = typeof import('../gen/index.js');\n")).length, 1);
});

test('lint: src/ never imports the benchmarks or tests; bench/ may import src/', async () => {
  assert.deepEqual(await layerErrors('src/cli/probe.ts', "export const b = import('../../bench/engine.js');\n"), [
    "src/ may not import '../../bench/engine.js' (bench/ is outside the library): bench/, test/ and tools/ consume src/, never the reverse.",
  ]);
  assert.deepEqual(await layerErrors('bench/probe.ts', "export { main } from '../src/cli/main.js';\n"), []);
});

test('lint: downward and same-folder imports pass', async () => {
  const code = "import * as E from '../engine/index.js';\nimport { Dense } from '../nn/layers.js';\nimport { nf } from './config.js';\nexport const x = [E, Dense, nf];\n";
  assert.deepEqual(await layerErrors('src/nets/probe.ts', code), []);
  assert.deepEqual(await layerErrors('src/cli/probe.ts', "export * from '../train/index.js';\nexport * from '../metrics/index.js';\n"), []);
});

/** The max-params rule's messages for `code` placed at `file` (relative to the repository). */
async function paramErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === 'max-params').map((m) => m.message);
}

test('lint: a src/ function or constructor with more than three parameters fails; the libtorch mirror is exempt', async () => {
  assert.deepEqual(await paramErrors('src/train/probe.ts', 'export function f(a: number, b: number, c: number, d: number): number {\n  return a + b + c + d;\n}\n'), [
    "Function 'f' has too many parameters (4). Maximum allowed is 3.",
  ]);
  const ctor = 'export class P {\n  constructor(readonly a: number, readonly b: number, readonly c: number, readonly d: number) {}\n}\n';
  assert.deepEqual(await paramErrors('src/data/probe.ts', ctor), ['Constructor has too many parameters (4). Maximum allowed is 3.']);
  assert.deepEqual(await paramErrors('src/gen/probe.ts', 'export const f = (a: number, b: number, { c, d }: { c: number; d: number }): number => a + b + c + d;\n'), []);
  assert.deepEqual(await paramErrors('src/engine/functional.ts', 'export function conv(x: number, w: number, b: number, o: number): number {\n  return x + w + b + o;\n}\n'), []);
});
